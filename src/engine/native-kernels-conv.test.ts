import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadNativeAddon, nativeBlasAvailable, nativeKernelStats, registerNativeKernels, restoreOriginalKernels } from './native.js';

const built = nativeBlasAvailable();
if (!built) console.warn('native addon not built (run `npm run build:native`): skipping native convolution tests');

function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

const rand = (shape: number[], seed: number) => tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed), shape);

/** |actual - expected| <= tolerance * (1 + max |expected|): sums of products in another order. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 2e-6): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / scale);
  expect(worst).toBeLessThanOrEqual(tolerance);
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

describe.skipIf(!built)('native convolution cpu kernels', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  });
  afterAll(() => restoreOriginalKernels('cpu'));

  function both(f: () => tf.Tensor | tf.Tensor[], path: 'native' | 'fallback' = 'native'): Array<[Float32Array, Float32Array]> {
    const run = () => {
      const out = tf.tidy(f);
      const list = Array.isArray(out) ? out : [out];
      const values = list.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
      tf.dispose(list);
      return values;
    };
    restoreOriginalKernels('cpu');
    const reference = run();
    expect(registerNativeKernels('cpu', ['conv'])).toBe(true);
    const before = nativeKernelStats()[path];
    const native = run();
    expect(nativeKernelStats()[path]).toBeGreaterThan(before);
    return reference.map((r, i) => {
      expect(native[i].shape).toEqual(r.shape);
      return [r.values, native[i].values];
    });
  }

  const cases: Array<[string, number[], number[], number | [number, number], Pad]> = [
    ['3x4 kernel, stride 1, same', [2, 9, 7, 3], [3, 4, 3, 5], 1, 'same'],
    ['3x3 kernel, stride 2, valid', [3, 10, 9, 4], [3, 3, 4, 6], 2, 'valid'],
    ['4x4 kernel, stride 2, same (DCGAN)', [2, 16, 16, 8], [4, 4, 8, 16], 2, 'same'],
    ['strides [2, 3], numeric pad 1', [2, 11, 13, 3], [3, 2, 3, 4], [2, 3], 1],
    ['explicit asymmetric pads', [1, 8, 9, 2], [3, 3, 2, 5], [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]],
    ['1x1 kernel (no im2col)', [2, 5, 6, 7], [1, 1, 7, 3], 1, 'valid'],
    ['kernel covering the image (no im2col)', [3, 4, 4, 16], [4, 4, 16, 1], 1, 'valid'],
  ];

  it.each(cases)('conv2d and both gradients equal the JS kernels: %s', (_, xShape, fShape, strides, pad) => {
    const x = rand(xShape, 1);
    const filter = rand(fShape, 2);
    const forward = () => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad);
    const [[reference, native]] = both(forward);
    expectClose(native, reference);
    const dy = tf.tidy(() => rand(forward().shape, 3));
    const grads = () => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)));
      return g([x, filter]);
    };
    for (const [r, n] of both(grads)) expectClose(n, r);
  });

  it.each([
    ['stride 2, same (DCGAN)', [2, 4, 4, 16], [4, 4, 8, 16], [2, 8, 8, 8], 2, 'same'],
    ['stride 2, valid, odd output', [2, 3, 4, 5], [3, 3, 4, 5], [2, 7, 9, 4], 2, 'valid'],
    ['stride 1, same', [1, 6, 5, 3], [3, 2, 2, 3], [1, 6, 5, 2], 1, 'same'],
  ] as Array<[string, number[], number[], number[], number, Pad]>)('conv2dTranspose and its gradients equal the JS kernels: %s', (_, xShape, fShape, outShape, strides, pad) => {
    const x = rand(xShape, 4);
    const filter = rand(fShape, 5);
    const forward = () => tf.conv2dTranspose(x as tf.Tensor4D, filter as tf.Tensor4D, outShape as [number, number, number, number], strides, pad as 'same');
    const [[reference, native]] = both(forward);
    expectClose(native, reference);
    const dy = rand(outShape, 6);
    const grads = () =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape as [number, number, number, number], strides, pad as 'same'), dy)))([x, filter]);
    for (const [r, n] of both(grads)) expectClose(n, r);
  });

  it.each(['linear', 'relu', 'leakyrelu', 'sigmoid', 'elu', 'relu6'] as const)('fused conv2d + bias + %s equals the JS kernel', (activation) => {
    const x = rand([2, 7, 6, 3], 7);
    const filter = rand([3, 3, 3, 4], 8);
    const bias = rand([4], 9);
    const [[reference, native]] = both(() => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 2, pad: 'same', bias, activation, leakyreluAlpha: 0.1 }));
    expectClose(native, reference);
  });

  it('falls back for NCHW, dilations and a bias that is not per channel', () => {
    const x = rand([2, 3, 8, 7], 10);
    const filter = rand([3, 3, 3, 4], 11);
    const [[r1, n1]] = both(() => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same', 'NCHW'), 'fallback');
    expectClose(n1, r1);
    const xh = rand([2, 8, 7, 3], 12);
    const [[r2, n2]] = both(() => tf.conv2d(xh as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same', 'NHWC', 2), 'fallback');
    expectClose(n2, r2);
    const fullBias = rand([2, 8, 7, 4], 13);
    const [[r3, n3]] = both(() => tf.fused.conv2d({ x: xh as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', bias: fullBias, activation: 'relu' }), 'fallback');
    expectClose(n3, r3);
  });

  it('gives a small DCGAN-style generator and discriminator the same gradients', () => {
    const g = tfl.sequential({
      layers: [
        tfl.layers.conv2dTranspose({ filters: 6, kernelSize: 4, strides: 2, padding: 'same', inputShape: [4, 4, 8], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
        tfl.layers.batchNormalization(),
        tfl.layers.reLU(),
        tfl.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        tfl.layers.conv2d({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.conv2d({ filters: 1, kernelSize: 8, padding: 'valid', activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
      ],
    });
    const z = rand([3, 4, 4, 8], 14);
    const weights = g.trainableWeights.map((w) => w.read() as tf.Variable);
    const gradients = (): tf.Tensor => {
      const { value, grads } = tf.variableGrads(() => tf.mean(g.apply(z, { training: true }) as tf.Tensor) as tf.Scalar, weights);
      value.dispose();
      return tf.concat(weights.map((w) => tf.reshape(grads[w.name], [-1])));
    };
    const [[reference, native]] = both(gradients);
    expect(reference.some((v) => v !== 0)).toBe(true);
    expectClose(native, reference, 1e-5);
    const count = tf.memory().numTensors;
    tf.dispose(tf.tidy(gradients));
    expect(tf.memory().numTensors).toBe(count);
    g.dispose();
  });

  it('gives the same results when im2col runs in chunks of images', () => {
    const addon = loadNativeAddon()!;
    const [B, H, W, Cin, KH, KW, Cout, S, P] = [5, 9, 8, 3, 3, 3, 4, 2, 1];
    const OH = Math.floor((H + 2 * P - KH) / S) + 1;
    const OW = Math.floor((W + 2 * P - KW) / S) + 1;
    const geometry = Float64Array.from([B, H, W, Cin, OH, OW, Cout, KH, KW, S, S, P, P]);
    const x = randomArray(B * H * W * Cin, 15);
    const f = randomArray(KH * KW * Cin * Cout, 16);
    const dy = randomArray(B * OH * OW * Cout, 17);
    const oneImage = OH * OW * KH * KW * Cin;
    for (const [mode, a, b, n] of [[0, x, f, dy.length], [1, dy, f, x.length], [2, x, dy, f.length]] as const) {
      const whole = new Float32Array(n);
      const chunked = new Float32Array(n);
      addon.conv2d(mode, a, b, whole, geometry);
      addon.conv2d(mode, a, b, chunked, geometry, 2 * oneImage);
      expectClose(chunked, whole, 1e-6);
    }
    expect(() => addon.conv2d(0, x, f, new Float32Array(dy.length - 1), geometry)).toThrow(/shorter/);
    expect(() => addon.conv2d(0, x, f, x, geometry)).toThrow(/overlap/);
    addon.releaseScratch();
  });
});
