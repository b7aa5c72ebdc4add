import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { nativeAddonBuilt, originalThenNative, useCpuBackend } from '../../test/helpers/native.js';
import { randomArray, randomTensor } from '../../test/helpers/random.js';
import { relativeError } from '../../test/helpers/relative-error.js';
import { registerNativeKernels } from './native.js';
import { padValues } from './native-kernels-mobile.js';

const built = nativeAddonBuilt('the native depthwise / clip / resize / pad tests');

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

describe('padValues', () => {
  it('equals tf.pad on the cpu backend for every axis padded or not', async () => {
    await tf.setBackend('cpu');
    const shape = [2, 3, 4, 2];
    const src = randomArray(48, 5);
    for (const paddings of [
      [[0, 0], [0, 0], [0, 0], [0, 0]],
      [[0, 0], [1, 2], [0, 0], [0, 0]],
      [[1, 0], [0, 0], [2, 1], [0, 0]],
      [[0, 0], [0, 0], [0, 0], [1, 1]],
      [[1, 1], [2, 0], [0, 3], [1, 0]],
    ] as Array<[number, number]>[]) {
      const expected = tf.tidy(() => tf.pad(tf.tensor(src, shape), paddings, 0).dataSync() as Float32Array);
      const out = new Float32Array(expected.length);
      padValues(src, shape, paddings, out);
      expect(Array.from(out)).toEqual(Array.from(expected));
    }
  });
});

describe.skipIf(!built)('native MobileNet kernels (depthwise conv, clip, relu6, resize, pad)', () => {
  useCpuBackend();

  /** f's output with tfjs' JS kernels, then with the native ones (which must have run). */
  const both = (f: () => tf.Tensor, path: 'native' | 'fallback' = 'native') => originalThenNative(f, { path })[0]!;

  const cases: Array<[string, number[], number[], number | [number, number], Pad]> = [
    ['3x3, stride 1, same (MobileNet)', [2, 9, 7, 8], [3, 3, 8, 1], 1, 'same'],
    ['3x3, stride 2, same (MobileNet downsampling)', [1, 16, 16, 32], [3, 3, 32, 1], 2, 'same'],
    ['3x3, stride 2, valid, 13 channels', [3, 10, 9, 13], [3, 3, 13, 1], 2, 'valid'],
    ['5x3, strides [2, 3], numeric pad 1', [2, 11, 13, 5], [5, 3, 5, 1], [2, 3], 1],
    ['explicit asymmetric pads (ZeroPadding2D + valid)', [1, 8, 9, 6], [3, 3, 6, 1], [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]],
    ['channel multiplier 3', [2, 7, 6, 4], [3, 3, 4, 3], 1, 'same'],
    ['1x1, multiplier 2', [1, 5, 5, 3], [1, 1, 3, 2], 1, 'valid'],
    ['one channel, large', [1, 40, 33, 1], [3, 3, 1, 1], 1, 'same'],
    ['72 channels (two register blocks and a rest), stride 2', [2, 9, 10, 72], [3, 3, 72, 1], 2, 'same'],
  ];

  it.each(cases)('depthwiseConv2d equals the JS kernel within 1e-5: %s', (_, xShape, fShape, strides, pad) => {
    const x = randomTensor(xShape, 1, 3);
    const filter = randomTensor(fShape, 2);
    const [reference, native] = both(() => tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad));
    expect(relativeError(native, reference)).toBeLessThanOrEqual(1e-5);
    tf.dispose([x, filter]);
  });

  it('fused depthwise conv with bias and relu6 / prelu equals the JS kernel', () => {
    const x = randomTensor([2, 8, 8, 6], 3, 4);
    const filter = randomTensor([3, 3, 6, 1], 4);
    const bias = randomTensor([6], 5);
    const alpha = randomTensor([6], 6);
    for (const activation of ['relu6', 'relu', 'prelu', 'linear'] as const) {
      const [reference, native] = both(() =>
        tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', bias, activation, preluActivationWeights: activation === 'prelu' ? alpha : undefined }),
      );
      expect(relativeError(native, reference)).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose([x, filter, bias, alpha]);
  });

  it('dilations fall back to the JS kernel', () => {
    const x = randomTensor([1, 9, 9, 4], 7);
    const filter = randomTensor([3, 3, 4, 1], 8);
    const [reference, native] = both(() => tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same', 'NHWC', 2), 'fallback');
    expect(Array.from(native)).toEqual(Array.from(reference));
    tf.dispose([x, filter]);
  });

  it('clipByValue and relu6 equal the JS kernels bit for bit, NaN and -0 included', () => {
    const values = randomArray(70_001, 9, 10);
    values.set([NaN, -0, 0, 6, -1, 6.000001, 0.3, -0.3, Infinity, -Infinity], 0);
    const x = tf.tensor(values);
    for (const [lo, hi] of [[0, 6], [-0.3, 0.3], [-1e-3, 2.5], [0.1, 0.1000001]] as const) {
      const [reference, native] = both(() => tf.clipByValue(x, lo, hi));
      expect(Object.is(native[1], reference[1])).toBe(true);
      expect(Array.from(native)).toEqual(Array.from(reference));
    }
    const [reference, native] = both(() => tf.relu6(x));
    expect(Object.is(native[1], reference[1])).toBe(true); // -0 -> 0, as Math.max(0, -0)
    expect(Array.from(native)).toEqual(Array.from(reference));
    x.dispose();
  });

  it.each([
    ['upscale, half-pixel centres (the face finder)', [1, 20, 17, 3], [51, 43], false, true],
    ['downscale', [2, 30, 24, 5], [11, 7], false, false],
    ['align corners', [1, 9, 8, 2], [17, 15], true, false],
    ['to one pixel', [1, 5, 6, 3], [1, 1], false, true],
  ] as Array<[string, number[], [number, number], boolean, boolean]>)('resizeBilinear equals the JS kernel bit for bit: %s', (_, shape, size, alignCorners, halfPixel) => {
    const x = randomTensor(shape, 10, 255);
    const [reference, native] = both(() => tf.image.resizeBilinear(x as tf.Tensor4D, size, alignCorners, halfPixel));
    expect(Array.from(native)).toEqual(Array.from(reference));
    x.dispose();
  });

  it('pad equals the JS kernel for float32 and int32, any constant', () => {
    const x = randomTensor([3, 5, 4, 3], 11);
    const xi = tf.tensor(Int32Array.from({ length: 60 }, (_, i) => i - 30), [3, 4, 5]);
    const [r1, n1] = both(() => tf.pad(x, [[0, 0], [2, 3], [1, 0], [0, 0]], 128));
    expect(Array.from(n1)).toEqual(Array.from(r1));
    const [r2, n2] = both(() => tf.pad(x, [[1, 1], [0, 0], [0, 0], [0, 2]]));
    expect(Array.from(n2)).toEqual(Array.from(r2));
    const [r3, n3] = both(() => tf.cast(tf.pad(xi, [[0, 1], [2, 0], [1, 1]], -7), 'float32'));
    expect(Array.from(n3)).toEqual(Array.from(r3));
    tf.dispose([x, xi]);
  });

  it('strided slices and transposes equal the JS kernels bit for bit (float32 and int32)', () => {
    const x = randomTensor([2, 5, 4, 3], 15);
    const xi = tf.tensor(Int32Array.from({ length: 5118 * 3 }, (_, i) => i * 7 - 99), [1, 5118, 3]);
    const slices: Array<[tf.Tensor, number[], number[]]> = [
      [x, [0, 1, 0, 1], [2, 3, 4, 2]],
      [x, [1, 0, 2, 0], [1, 5, 2, 3]],
      [x, [0, 2, 1, 2], [-1, 2, -1, 1]],
      [xi, [0, 0, 1], [1, 5118, 2]], // the SSD's box and score columns
      [xi, [0, 0, 0], [1, 5118, 1]],
    ];
    for (const [t, begin, sizes] of slices) {
      const [reference, native] = both(() => tf.cast(tf.slice(t, begin, sizes), 'float32'));
      expect(Array.from(native)).toEqual(Array.from(reference));
    }
    for (const [t, perm] of [[x, [0, 3, 1, 2]], [x, [3, 2, 1, 0]], [x, [1, 0, 2, 3]], [tf.reshape(xi, [5118, 3]), [1, 0]]] as Array<[tf.Tensor, number[]]>) {
      const [reference, native] = both(() => tf.cast(tf.transpose(t, perm), 'float32'));
      expect(Array.from(native)).toEqual(Array.from(reference));
    }
    tf.dispose([x, xi]);
  });

  it('leaks no tensors', () => {
    expect(registerNativeKernels('cpu')).toBe(true);
    const x = randomTensor([1, 12, 12, 8], 12);
    const filter = randomTensor([3, 3, 8, 1], 13);
    const bias = randomTensor([8], 14);
    const step = () =>
      tf.tidy(() => {
        const y = tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 2, pad: 'same', bias, activation: 'relu6' });
        const z = tf.clipByValue(tf.depthwiseConv2d(y as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid'), 0, 6);
        const padded = tf.pad(tf.image.resizeBilinear(tf.relu6(z), [9, 9]), [[0, 0], [1, 1], [1, 1], [0, 0]], 1);
        return tf.sum(tf.transpose(tf.slice(padded, [0, 1, 0, 2], [1, 5, 6, 3]), [0, 3, 2, 1]));
      });
    step().dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step().dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, filter, bias]);
  });
});
