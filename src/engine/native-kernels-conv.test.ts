import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { nativeAddonBuilt, originalThenNative, useCpuBackend } from '../../test/helpers/native.js';
import { randomArray, randomTensor } from '../../test/helpers/random.js';
import { relativeError } from '../../test/helpers/relative-error.js';
import { buildTinyDcgan, meanOutputGradients, TINY_DCGAN_INPUT } from '../../test/helpers/tiny-dcgan.js';
import { loadNativeAddon } from './native.js';

const built = nativeAddonBuilt('native convolution tests');

/** Sums of products in another order: within tolerance of the JS kernel, relative to its largest value. */
const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 2e-6): void => {
  expect(relativeError(actual, expected)).toBeLessThanOrEqual(tolerance);
};

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

describe.skipIf(!built)('native convolution cpu kernels', () => {
  useCpuBackend();

  const both = (f: () => tf.Tensor | tf.Tensor[], path: 'native' | 'fallback' = 'native') => originalThenNative(f, { groups: ['conv'], path });

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
    const x = randomTensor(xShape, 1);
    const filter = randomTensor(fShape, 2);
    const forward = () => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad);
    const [[reference, native]] = both(forward);
    expectClose(native, reference);
    const dy = tf.tidy(() => randomTensor(forward().shape, 3));
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
    const x = randomTensor(xShape, 4);
    const filter = randomTensor(fShape, 5);
    const forward = () => tf.conv2dTranspose(x as tf.Tensor4D, filter as tf.Tensor4D, outShape as [number, number, number, number], strides, pad as 'same');
    const [[reference, native]] = both(forward);
    expectClose(native, reference);
    const dy = randomTensor(outShape, 6);
    const grads = () =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape as [number, number, number, number], strides, pad as 'same'), dy)))([x, filter]);
    for (const [r, n] of both(grads)) expectClose(n, r);
  });

  it.each(['linear', 'relu', 'leakyrelu', 'sigmoid', 'elu', 'relu6'] as const)('fused conv2d + bias + %s equals the JS kernel', (activation) => {
    const x = randomTensor([2, 7, 6, 3], 7);
    const filter = randomTensor([3, 3, 3, 4], 8);
    const bias = randomTensor([4], 9);
    const [[reference, native]] = both(() => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 2, pad: 'same', bias, activation, leakyreluAlpha: 0.1 }));
    expectClose(native, reference);
  });

  it('falls back for NCHW, dilations and a bias that is not per channel', () => {
    const x = randomTensor([2, 3, 8, 7], 10);
    const filter = randomTensor([3, 3, 3, 4], 11);
    const [[r1, n1]] = both(() => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same', 'NCHW'), 'fallback');
    expectClose(n1, r1);
    const xh = randomTensor([2, 8, 7, 3], 12);
    const [[r2, n2]] = both(() => tf.conv2d(xh as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same', 'NHWC', 2), 'fallback');
    expectClose(n2, r2);
    const fullBias = randomTensor([2, 8, 7, 4], 13);
    const [[r3, n3]] = both(() => tf.fused.conv2d({ x: xh as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', bias: fullBias, activation: 'relu' }), 'fallback');
    expectClose(n3, r3);
  });

  it('gives a small DCGAN-style generator and discriminator the same gradients', () => {
    const g = buildTinyDcgan();
    const z = randomTensor(TINY_DCGAN_INPUT, 14);
    const gradients = () => meanOutputGradients(g, z);
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
