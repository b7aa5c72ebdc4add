import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { nativeAddonBuilt, originalThenNative, useCpuBackend } from '../../test/helpers/native.js';
import { randomArray, randomTensor } from '../../test/helpers/random.js';
import { loadNativeAddon } from './native.js';
import { planBroadcast, planReduction, tileValues } from './native-kernels-elementwise.js';

const built = nativeAddonBuilt('native element-wise kernel tests');

/** Same values, bit for bit (NaN equals NaN; -0 equals -0). */
function expectSame(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  let mismatches = 0;
  let first = '';
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      if (mismatches++ === 0) first = `at ${i}: ${actual[i]} vs ${expected[i]}`;
    }
  }
  expect(first).toBe('');
}

/** Within tolerance * max(1, |expected|); NaN must meet NaN. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i]) || Number.isNaN(actual[i])) {
      if (!(Number.isNaN(expected[i]) && Number.isNaN(actual[i]))) worst = Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  }
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe('planBroadcast / planReduction', () => {
  it('merges contiguous axes and zeroes broadcast strides', () => {
    const plan = planBroadcast([4, 5, 6, 7], [7])!;
    expect(plan.outShape).toEqual([4, 5, 6, 7]);
    expect(Array.from(plan.dims)).toEqual([120, 7]);
    expect(Array.from(plan.aStrides)).toEqual([7, 1]);
    expect(Array.from(plan.bStrides)).toEqual([0, 1]);
    expect(Array.from(planBroadcast([3, 4], [3, 4])!.dims)).toEqual([12]);
    expect(Array.from(planBroadcast([], [3, 4])!.aStrides)).toEqual([0]);
    expect(planBroadcast([3, 4], [5, 4])).toBeNull();
  });

  it('views a reduction as [outer, reduce, inner]', () => {
    expect(planReduction([8, 4, 4, 3], [0, 1, 2])).toEqual({ outer: 1, reduce: 128, inner: 3 });
    expect(planReduction([8, 5, 3], [1])).toEqual({ outer: 8, reduce: 5, inner: 3 });
    expect(planReduction([8, 1, 3], [0, 2])).toEqual({ outer: 1, reduce: 24, inner: 1 });
    expect(planReduction([8, 5, 3], [0, 2])).toBeNull();
  });

  it('tiles by block copies like tf.tile', () => {
    const src = Float32Array.from({ length: 6 }, (_, i) => i);
    const out = new Float32Array(6 * 6);
    tileValues(src, [2, 1, 3], [1, 3, 2], out);
    const expected = tf.tidy(() => tf.tile(tf.tensor3d(src, [2, 1, 3]), [1, 3, 2]).dataSync());
    expectSame(out, expected);
  });
});

describe.skipIf(!built)('native element-wise cpu kernels', () => {
  useCpuBackend();

  /** f with the original kernels, then with the native ones: [reference, native] values. */
  const both = (f: () => tf.Tensor, path: 'native' | 'fallback' = 'native') => originalThenNative(f, { groups: ['elementwise'], path })[0]!;

  const shapePairs: Array<[number[], number[]]> = [
    [[7, 13], [7, 13]],
    [[7, 13], [13]],
    [[13], [7, 13]],
    [[], [7, 13]],
    [[7, 13], []],
    [[7, 1], [7, 13]],
    [[3, 5, 4, 6], [1, 1, 1, 6]],
    [[3, 1, 4, 1], [1, 5, 1, 6]],
    [[5], [3, 2, 5]],
    [[2, 1, 5, 1, 3, 2], [3, 5, 4, 1, 2]],
  ];
  const binaryOps: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['greater', tf.greater],
    ['greaterEqual', tf.greaterEqual],
    ['less', tf.less],
    ['lessEqual', tf.lessEqual],
  ];
  it.each(binaryOps)('%s equals the JS kernel bit for bit, with every broadcast pattern', (_, op) => {
    shapePairs.forEach(([aShape, bShape], i) => {
      const a = randomTensor(aShape, 10 + i, 3);
      const b = randomTensor(bShape, 50 + i, 3);
      const [reference, native] = both(() => op(a, b));
      expectSame(native, reference);
      tf.dispose([a, b]);
    });
  });

  it('handles division by zero, NaN and infinities like JS', () => {
    const a = tf.tensor1d([1, -1, 0, NaN, Infinity, -Infinity, 3, -0]);
    const b = tf.tensor1d([0, 0, 0, 1, Infinity, 2, -0, 5]);
    for (const op of [tf.div, tf.mul, tf.sub, tf.add, tf.greater, tf.lessEqual]) {
      const [reference, native] = both(() => op(a, b));
      expectSame(native, reference);
    }
  });

  it('falls back for int32 and for empty tensors gives empty results', () => {
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const [reference, native] = both(() => tf.add(a, tf.scalar(3, 'int32')), 'fallback');
    expect(Array.from(native)).toEqual(Array.from(reference));
    const [r2, n2] = both(() => tf.add(tf.zeros([0, 3]), tf.ones([3])));
    expect(n2.length).toBe(0);
    expect(r2.length).toBe(0);
  });

  it('tanh and sigmoid match Math.tanh / Math.exp within a float ulp, across the range', () => {
    const special = [0, -0, 1e-30, -1e-30, 1e-6, -3e-5, 1e-4, 0.5, -0.5, 0.625, 1, -1, 5, -5, 9.01, -9.01, 15, 20, 30, -40, 88, -90, 120, -120, 1e30, -1e30, Infinity, -Infinity, NaN];
    const values = Float32Array.from([...special, ...randomArray(20000, 3, 12), ...randomArray(2000, 4, 1e-3)]);
    const x = tf.tensor1d(values);
    for (const op of [tf.tanh, tf.sigmoid]) {
      const [reference, native] = both(() => op(x));
      expectClose(native, reference, 1.2e-7);
      for (let i = 0; i < special.length; i++) if (Object.is(reference[i], -0)) expect(Object.is(native[i], -0)).toBe(true);
    }
  });

  it('relu, leakyRelu, step and square equal the JS kernels bit for bit', () => {
    const values = Float32Array.from([0, -0, NaN, Infinity, -Infinity, 1e-40, -1e-40, ...randomArray(4998, 5, 4)]);
    const x = tf.tensor2d(values, [values.length / 7, 7]);
    for (const op of [tf.relu, (t: tf.Tensor) => tf.leakyRelu(t, 0.2), (t: tf.Tensor) => tf.leakyRelu(t, 0.13), (t: tf.Tensor) => tf.step(t, 0.3), tf.step, tf.square]) {
      const [reference, native] = both(() => op(x));
      expectSame(native, reference);
    }
  });

  it('select (where) equals the JS kernel; int32 values fall back', () => {
    const x = randomTensor([9, 11], 6);
    const t = randomTensor([9, 11], 7);
    const e = randomTensor([9, 11], 8);
    const [reference, native] = both(() => tf.where(tf.greater(x, 0), t, e));
    expectSame(native, reference);
    const [ri, ni] = both(() => tf.where(tf.greater(x, 0), tf.cast(t, 'int32'), tf.cast(e, 'int32')), 'fallback');
    expectSame(ni, ri);
  });

  const reductions: Array<[number[], number | number[] | undefined, boolean]> = [
    [[37, 53], 0, false],
    [[37, 53], 1, false],
    [[37, 53], undefined, false],
    [[5, 6, 7, 3], [0, 1, 2], false],
    [[5, 6, 7, 3], [0, 1, 2], true],
    [[4, 9, 5], 1, true],
    [[4, 9, 5], -1, false],
    [[3, 1, 2000], [0, 1], false],
    [[7, 1, 3], [0, 2], false],
  ];
  it.each(reductions)('sum and mean of %j over %j (keepDims %s) equal the JS kernels bit for bit', (shape, axis, keepDims) => {
    const x = randomTensor(shape, 9, 5);
    for (const op of [tf.sum, tf.mean]) {
      const [reference, native] = both(() => op(x, axis, keepDims));
      expectSame(native, reference);
    }
  });

  it('reductions over axes that are not one run, and of int32, fall back', () => {
    const x = randomTensor([3, 4, 5], 10);
    const [reference, native] = both(() => tf.sum(x, [0, 2]), 'fallback');
    expectSame(native, reference);
    const [r2, n2] = both(() => tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0), 'fallback');
    expect(Array.from(n2)).toEqual(Array.from(r2));
  });

  it('batchNorm equals the JS kernel bit for bit (2-D, 4-D, optional and scalar parameters)', () => {
    const cases: Array<[number[], number[] | null, number[] | null]> = [
      [[33, 17], [17], [17]],
      [[3, 5, 6, 8], [8], [8]],
      [[3, 5, 6, 8], null, [8]],
      [[3, 5, 6, 8], [1], null],
      [[4, 8], null, null],
    ];
    cases.forEach(([shape, scaleShape, offsetShape], i) => {
      const channels = shape[shape.length - 1];
      const x = randomTensor(shape, 20 + i, 3);
      const mean = randomTensor([channels], 30 + i);
      const variance = tf.abs(randomTensor([channels], 40 + i, 2));
      const scale = scaleShape ? randomTensor(scaleShape, 50 + i) : undefined;
      const offset = offsetShape ? randomTensor(offsetShape, 60 + i) : undefined;
      const [reference, native] = both(() => tf.batchNorm(x, mean, variance, offset, scale, 1e-3));
      expectSame(native, reference);
    });
  });

  it('tile equals the JS kernel for float32 and int32', () => {
    const cases: Array<[number[], number[]]> = [[[1, 1, 1, 5], [3, 4, 2, 1]], [[3, 1], [2, 7]], [[2, 3, 4], [2, 1, 3]], [[6], [3]]];
    for (const [shape, reps] of cases) {
      const x = randomTensor(shape, 70, 9);
      const [reference, native] = both(() => tf.tile(x, reps));
      expectSame(native, reference);
      const [ri, ni] = both(() => tf.tile(tf.cast(x, 'int32'), reps));
      expectSame(ni, ri);
    }
  });

  it('gives a Dense + LeakyReLU + BatchNorm + tanh model the same gradients, without leaking', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 24, inputShape: [10], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.batchNormalization({ momentum: 0.8 }),
        tfl.layers.dense({ units: 15, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        tfl.layers.reLU(),
        tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
      ],
    });
    const x = randomTensor([13, 10], 80, 2);
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const gradients = (): tf.Tensor => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.log(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, weights);
      value.dispose();
      return tf.concat(weights.map((w) => tf.reshape(grads[w.name], [-1])));
    };
    const [reference, native] = both(gradients);
    expect(Array.from(reference).some((g) => g !== 0)).toBe(true);
    expectClose(native, reference, 1e-6);
    const count = tf.memory().numTensors;
    tf.dispose(tf.tidy(gradients));
    expect(tf.memory().numTensors).toBe(count);
    model.dispose();
  });

  it('refuses bad arguments in the addon', () => {
    const addon = loadNativeAddon()!;
    const dims = Float64Array.from([4]);
    expect(() => addon.binaryOp(0, new Float32Array(4), new Float32Array(3), new Float32Array(4), dims, Float64Array.from([1]), Float64Array.from([1]))).toThrow(RangeError);
    expect(() => addon.binaryOp(10, new Float32Array(4), new Float32Array(4), new Float32Array(4), dims, Float64Array.from([1]), Float64Array.from([1]))).toThrow(TypeError);
    const shared = new Float32Array(8);
    expect(() => addon.unaryOp(0, shared.subarray(2), shared.subarray(0, 4))).toThrow(/overlap/);
    expect(() => addon.reduceSum(new Float32Array(2), new Float32Array(5), 1, 3, 2, 0)).toThrow(/too short/);
    expect(() => addon.batchNorm(new Float32Array(6), new Float32Array(6), new Float32Array(2), new Float32Array(3), null, null, 1e-3, 3)).toThrow(/length 1 or channels/);
  });
});
