import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  loadNativeAddon,
  nativeKernelsRegistered,
  nativeKernelStats,
  registerNativeKernels,
  restoreOriginalKernels,
  setNativeThreads,
} from './native.js';
import { nativeAddonBuilt } from '../../test/helpers/native.js';
import { randomArray, randomTensor } from '../../test/helpers/random.js';

const built = nativeAddonBuilt('native kernel tests');

/** Row-major C = alpha op(A) op(B) + beta C, in double. */
function naiveGemm(
  ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      out[i * N + j] = alpha * sum + beta * C[i * ldc + j];
    }
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(err <= tolerance)) worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  expect(worst).toBe(0);
}

describe.skipIf(!built)('native sgemm', () => {
  const addon = loadNativeAddon()!;
  const combos = [[false, false], [false, true], [true, false], [true, true]] as const;

  it.each(combos)('matches a naive matmul (transA=%s, transB=%s), odd sizes, padded rows, byteOffsets', (ta, tb) => {
    const [M, N, K] = [7, 5, 9];
    const [lda, ldb, ldc] = [(ta ? M : K) + 2, (tb ? K : N) + 3, N + 1];
    const rowsA = ta ? K : M;
    const rowsB = tb ? N : K;
    // Views that start 3, 5 and 1 floats into their buffers.
    const A = new Float32Array(randomArray(rowsA * lda + 3, 1).buffer, 12, rowsA * lda);
    const B = new Float32Array(randomArray(rowsB * ldb + 5, 2).buffer, 20, rowsB * ldb);
    const C = new Float32Array(randomArray(M * ldc + 1, 3).buffer, 4, M * ldc);
    const before = C.slice();
    const expected = naiveGemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, 2, before, ldc);
    addon.sgemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, 2, C, ldc);
    const got = Array.from({ length: M * N }, (_, i) => C[Math.floor(i / N) * ldc + (i % N)]);
    expectClose(got, expected);
    // The padding columns of C are untouched, and so is memory before the view.
    for (let i = 0; i < M; i++) expect(C[i * ldc + N]).toBe(before[i * ldc + N]);
    expect(new Float32Array(C.buffer, 0, 1)[0]).toBe(randomArray(1, 3)[0]);
  });

  it('runs batched products at given offsets', () => {
    const [M, N, K] = [3, 4, 5];
    const A = randomArray(2 * M * K, 4);
    const B = randomArray(K * N, 5);
    const C = new Float32Array(2 * M * N);
    addon.sgemmBatched(false, false, M, N, K, 1, A, K, B, N, 0, C, N, new Float64Array([0, 0, 0, M * K, 0, M * N]));
    for (let b = 0; b < 2; b++) {
      const expected = naiveGemm(false, false, M, N, K, 1, A.subarray(b * M * K), K, B, N, 0, new Float32Array(M * N), N);
      expectClose(C.subarray(b * M * N, (b + 1) * M * N), expected);
    }
  });

  it('refuses arrays too short for the shapes, and overlapping output', () => {
    const A = new Float32Array(6);
    const B = new Float32Array(6);
    const C = new Float32Array(4);
    expect(() => addon.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2)).not.toThrow();
    expect(() => addon.sgemm(false, false, 2, 2, 4, 1, A, 4, B, 2, 0, C, 2)).toThrow(RangeError);
    expect(() => addon.sgemm(false, false, 2, 2, 3, 1, A, 2, B, 2, 0, C, 2)).toThrow(/lda/);
    expect(() => addon.sgemm(false, false, 2, 3, 3, 1, A, 3, new Float32Array(9), 3, 0, C, 3)).toThrow(/C is too short/);
    expect(() => addon.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, A, 2)).toThrow(/overlap/);
    expect(() => addon.sgemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, new Float64Array(4) as never, 2)).toThrow(TypeError);
    expect(() =>
      addon.sgemmBatched(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2, new Float64Array([0, 0, 1])),
    ).toThrow(/C is too short/);
  });

  it('sets the thread count', () => {
    const before = addon.getThreads();
    expect(setNativeThreads(1)).toBe(true);
    expect(addon.getThreads()).toBe(1);
    setNativeThreads(before);
    expect(addon.getThreads()).toBe(before);
  });
});

describe.skipIf(!built)('native cpu kernels', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => restoreOriginalKernels('cpu'));

  /** Runs f with the original kernels, then with the native ones; returns both results. */
  function both(f: () => tf.Tensor, path: 'native' | 'fallback' = 'native'): [Float32Array, Float32Array, number[]] {
    restoreOriginalKernels('cpu');
    const originalKernel = tf.getKernel(tf.BatchMatMul, 'cpu');
    const reference = tf.tidy(f);
    expect(registerNativeKernels('cpu')).toBe(true);
    expect(nativeKernelsRegistered('cpu')).toBe(true);
    expect(tf.getKernel(tf.BatchMatMul, 'cpu')).not.toBe(originalKernel);
    const before = nativeKernelStats()[path];
    const native = tf.tidy(f);
    expect(nativeKernelStats()[path]).toBeGreaterThan(before);
    expect(native.shape).toEqual(reference.shape);
    const result: [Float32Array, Float32Array, number[]] = [reference.dataSync() as Float32Array, native.dataSync() as Float32Array, native.shape];
    tf.dispose([reference, native]);
    return result;
  }

  it.each([[false, false], [false, true], [true, false], [true, true]])('matMul equals the JS kernel (transposeA=%s, transposeB=%s)', (ta, tb) => {
    const a = randomTensor(ta ? [13, 6] : [6, 13], 10);
    const b = randomTensor(tb ? [9, 13] : [13, 9], 11);
    const [reference, native] = both(() => tf.matMul(a, b, ta, tb));
    expectClose(native, reference);
  });

  it.each([
    [[2, 3, 4, 5], [5, 6], false, false],
    [[3, 4, 5], [1, 5, 6], false, false],
    [[1, 5, 4], [3, 5, 6], true, false],
    [[2, 3, 4, 5], [2, 3, 6, 5], false, true],
    [[3, 5, 4], [3, 6, 5], true, true],
    [[3, 5, 4], [5, 6], true, false],
  ])('batched matMul %j x %j (transposeA=%s, transposeB=%s) equals the JS kernel', (aShape, bShape, ta, tb) => {
    const a = randomTensor(aShape, 12);
    const b = randomTensor(bShape, 13);
    const [reference, native] = both(() => tf.matMul(a, b, ta, tb));
    expectClose(native, reference);
  });

  it('broadcasts batch dims both ways ([2,1] x [1,3]) like numpy', () => {
    registerNativeKernels('cpu');
    const a = randomArray(2 * 4 * 5, 14);
    const b = randomArray(3 * 5 * 6, 15);
    const out = tf.tidy(() => tf.matMul(tf.tensor(a, [2, 1, 4, 5]), tf.tensor(b, [1, 3, 5, 6])));
    expect(out.shape).toEqual([2, 3, 4, 6]);
    const values = out.dataSync();
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const expected = naiveGemm(false, false, 4, 6, 5, 1, a.subarray(i * 20), 5, b.subarray(j * 30), 6, 0, new Float32Array(24), 6);
        expectClose(values.subarray((i * 3 + j) * 24, (i * 3 + j + 1) * 24), expected);
      }
    }
    out.dispose();
  });

  it('multiplies tensors that are views into a larger buffer', () => {
    const buffer = randomArray(100, 16);
    const a = tf.tensor2d(buffer.subarray(7, 7 + 12), [3, 4]);
    const b = tf.tensor2d(buffer.subarray(33, 33 + 20), [4, 5]);
    const [reference, native] = both(() => tf.matMul(a, b));
    expectClose(native, reference);
  });

  it('falls back to the JS kernel for int32', () => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const b = tf.tensor2d([1, 0, 2, 1, 0, 3], [3, 2], 'int32');
    const [reference, native] = both(() => tf.matMul(a, b), 'fallback');
    expect(Array.from(native)).toEqual(Array.from(reference));
    expect(Array.from(native)).toEqual([5, 11, 14, 23]);
  });

  const activations = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const;
  it.each(activations)('fused matMul + bias + %s equals the JS kernel', (activation) => {
    const a = tf.mul(randomTensor([2, 6, 11], 17), 4); // large enough for relu6 to clip
    const b = randomTensor([11, 7], 18);
    const bias = randomTensor([7], 19);
    const prelu = randomTensor([7], 20);
    for (const [ta, tb] of [[false, false], [true, true]]) {
      const [reference, native] = both(() =>
        tf.fused.matMul({
          a: ta ? tf.transpose(a, [0, 2, 1]) : a,
          b: tb ? tf.transpose(b) : b,
          transposeA: ta,
          transposeB: tb,
          bias,
          activation,
          preluActivationWeights: prelu,
          leakyreluAlpha: 0.13,
        }),
      );
      expectClose(native, reference);
    }
  });

  it.each([
    ['scalar bias, no activation', [1], 'linear', undefined],
    ['per-row bias [M,1] + relu', [6, 1], 'relu', undefined],
    ['full bias [M,N] + prelu with [M,N] weights', [6, 7], 'prelu', [6, 7]],
    ['no bias + sigmoid', null, 'sigmoid', undefined],
  ] as const)('fused matMul with %s equals the JS kernel without leaking', (_, biasShape, activation, preluShape) => {
    const a = randomTensor([6, 11], 21);
    const b = randomTensor([11, 7], 22);
    const bias = biasShape ? randomTensor([...biasShape], 23) : undefined;
    const prelu = preluShape ? randomTensor([...preluShape], 24) : undefined;
    const run = () => tf.fused.matMul({ a, b, bias, activation, preluActivationWeights: prelu });
    const [reference, native] = both(run);
    expectClose(native, reference);
    const dataIds = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    tf.dispose(tf.tidy(run));
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(dataIds);
  });

  it('gives a Dense model the same gradients', () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 16, inputShape: [24], activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
        tfl.layers.leakyReLU({ alpha: 0.2 }),
        tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const x = randomTensor([10, 24], 25);
    const y = tf.tensor2d(Array.from({ length: 10 }, (_, i) => i % 2), [10, 1]);
    const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const gradients = (): tf.Tensor => {
      const { value, grads } = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, weights);
      value.dispose();
      return tf.concat(weights.map((w) => tf.reshape(grads[w.name], [-1])));
    };
    const [reference, native] = both(gradients);
    expect(native.length).toBe(24 * 16 + 16 + 16 + 1);
    expect(reference.some((g) => g !== 0)).toBe(true);
    expectClose(native, reference, 1e-5);
    model.dispose();
  });

  it('leaves the tensor count flat', () => {
    registerNativeKernels('cpu');
    const a = randomTensor([8, 9], 26);
    const b = randomTensor([9, 10], 27);
    const bias = tf.zeros([10]);
    tf.dispose(tf.matMul(a, b));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose([tf.matMul(a, b, false, false), tf.fused.matMul({ a, b, bias, activation: 'relu' })]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses backends other than cpu', () => {
    expect(registerNativeKernels('wasm')).toBe(false);
  });
});
