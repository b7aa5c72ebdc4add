import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initEngine } from './index.js';
import {
  installWasmMatMulFix,
  planMatMul,
  uninstallWasmMatMulFix,
  wasmMatMulFixInstalled,
  wasmMatMulRoutes,
  type MatMulDims,
} from './wasm-matmul.js';

const dims = (d: Partial<MatMulDims>): MatMulDims => ({
  batchA: 1,
  batchB: 1,
  m: 64,
  k: 64,
  n: 64,
  transposeA: false,
  transposeB: false,
  ...d,
});

describe('planMatMul', () => {
  it('leaves the case XNNPACK already takes alone', () => {
    expect(planMatMul(dims({}), false).kind).toBe('original');
    expect(planMatMul(dims({}), true).kind).toBe('original');
  });

  it('leaves empty matmuls and doubly batched ones to tfjs', () => {
    expect(planMatMul(dims({ k: 0, transposeA: true }), false).kind).toBe('original');
    expect(planMatMul(dims({ batchA: 2, batchB: 3, transposeB: true }), false).kind).toBe('original');
  });

  it('dW = x^T dy of a wide Dense layer: transposes x, the smaller move', () => {
    // x [256, 43200], dy [256, 1024]: M = 43200, K = 256, N = 1024
    expect(planMatMul(dims({ m: 43200, k: 256, n: 1024, transposeA: true }), false).kind).toBe('direct');
  });

  it('dx = dy W^T of a wide Dense layer: swaps rather than transposing the 44 M-float weights', () => {
    // dy [256, 1024], W [43200, 1024]: M = 256, K = 1024, N = 43200
    const plan = planMatMul(dims({ m: 256, k: 1024, n: 43200, transposeB: true }), false);
    expect(plan.kind).toBe('swapped');
  });

  it('dx for a narrow output: transposing the small weights is cheaper', () => {
    // dy [256, 1], W [1024, 1] (a discriminator's last layer): N = 1024, K = 1
    const plan = planMatMul(dims({ m: 256, k: 1, n: 1024, transposeB: true }), false);
    expect(plan.kind).toBe('direct');
    if (plan.kind === 'direct') expect(plan.cost).toBe(1024); // a vector's transpose is free; packing is not
  });

  it('folds a batched left operand into rows when the right one is shared', () => {
    expect(planMatMul(dims({ batchA: 8 }), false).kind).toBe('direct');
    expect(planMatMul(dims({ batchB: 8, transposeA: true }), false).kind).toBe('swapped');
  });

  it('never swaps a fused matmul (its bias runs along the last dimension)', () => {
    expect(planMatMul(dims({ m: 256, k: 1024, n: 43200, transposeB: true }), true).kind).toBe('direct');
    expect(planMatMul(dims({ batchB: 8, transposeA: true }), true).kind).toBe('original');
  });
});

function randomData(size: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: size }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Shapes of op(A) = [..., m, k] and op(B) = [..., k, n], stored as transposeA/B say. */
function stored(shape: number[], transposed: boolean): number[] {
  if (!transposed) return shape;
  const s = [...shape];
  [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1], s[s.length - 2]];
  return s;
}

const m = 37;
const k = 53;
const n = 29;
const SHAPES: Array<[string, number[], number[]]> = [
  ['2-D', [m, k], [k, n]],
  ['batched A', [3, m, k], [k, n]],
  ['batched B', [m, k], [4, k, n]],
  ['both batched', [2, m, k], [2, k, n]],
  ['broadcast rank 4', [2, 3, m, k], [1, 1, k, n]],
  ['row vector A', [1, k], [k, n]],
  ['column vector B', [m, k], [k, 1]],
  ['k = 1', [m, 1], [1, n]],
];
const CASES = SHAPES.flatMap(([name, a, b]) =>
  [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ].map(([tA, tB]) => ({ name, a: stored(a, tA), b: stored(b, tB), tA, tB })),
);
const ACTIVATIONS = ['linear', 'relu', 'elu', 'sigmoid', 'leakyrelu', 'relu6'] as const;

interface Reference {
  plain: Float32Array;
  fused: Float32Array;
  shape: number[];
}

/** Results of the cpu backend, the reference. */
async function cpuReference(): Promise<Reference[]> {
  await tf.setBackend('cpu');
  return CASES.map((c, i) =>
    tf.tidy(() => {
      const a = tf.tensor(randomData(product(c.a), 2 * i + 1), c.a);
      const b = tf.tensor(randomData(product(c.b), 2 * i + 2), c.b);
      const out = tf.matMul(a, b, c.tA, c.tB);
      const bias = tf.tensor(randomData(out.shape[out.shape.length - 1], 1000 + i));
      const activation = ACTIVATIONS[i % ACTIVATIONS.length];
      const fused = tf.fused.matMul({ a, b, transposeA: c.tA, transposeB: c.tB, bias, activation, leakyreluAlpha: 0.1 });
      return { plain: out.dataSync() as Float32Array, fused: fused.dataSync() as Float32Array, shape: out.shape };
    }),
  );
}

function maxDifference(x: Float32Array, y: Float32Array): number {
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  return max;
}

describe('wasm BatchMatMul / _FusedMatMul with the transpose fix', () => {
  let reference: Reference[];

  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 2 }); // first: it also quiets the cpu backend's banner
    reference = await cpuReference();
    await tf.setBackend('wasm');
  });

  it('is installed by initEngine', () => {
    expect(wasmMatMulFixInstalled()).toBe(true);
  });

  it.each(CASES.map((c, i) => [c.name, c.tA, c.tB, i] as const))(
    '%s, transposeA %s, transposeB %s: equals the cpu backend',
    (_name, tA, tB, i) => {
      const c = CASES[i];
      const ref = reference[i];
      tf.tidy(() => {
        const a = tf.tensor(randomData(product(c.a), 2 * i + 1), c.a);
        const b = tf.tensor(randomData(product(c.b), 2 * i + 2), c.b);
        const out = tf.matMul(a, b, tA, tB);
        expect(out.shape).toEqual(ref.shape);
        expect(maxDifference(out.dataSync() as Float32Array, ref.plain)).toBeLessThan(1e-4);

        const bias = tf.tensor(randomData(ref.shape[ref.shape.length - 1], 1000 + i));
        const activation = ACTIVATIONS[i % ACTIVATIONS.length];
        const fused = tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias, activation, leakyreluAlpha: 0.1 });
        expect(fused.shape).toEqual(ref.shape);
        expect(maxDifference(fused.dataSync() as Float32Array, ref.fused)).toBeLessThan(1e-4);
      });
    },
  );

  it('routes Dense-gradient shapes through XNNPACK and frees its temporaries', () => {
    const before = { ...wasmMatMulRoutes };
    const x = tf.tensor(randomData(64 * 300, 7), [64, 300]);
    const dy = tf.tensor(randomData(64 * 200, 8), [64, 200]);
    const w = tf.tensor(randomData(300 * 200, 9), [300, 200]);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    const dW = tf.matMul(x, dy, true, false); // [300, 200]
    const dx = tf.matMul(dy, w, false, true); // [64, 300]
    expect(dW.shape).toEqual([300, 200]);
    expect(dx.shape).toEqual([64, 300]);
    expect(wasmMatMulRoutes.direct + wasmMatMulRoutes.swapped).toBe(before.direct + before.swapped + 2);
    expect(wasmMatMulRoutes.original).toBe(before.original);
    expect(tf.memory().numTensors).toBe(tensors + 2);
    expect(backend.numDataIds()).toBe(dataIds + 2); // no transposed copy left behind
    tf.dispose([x, dy, w, dW, dx]);
  });

  it('is several times faster than the stock kernel on a transposed product', () => {
    const a = tf.tensor(randomData(128 * 1024, 11), [128, 1024]);
    const b = tf.tensor(randomData(128 * 512, 12), [128, 512]);
    const time = (): number => {
      tf.matMul(a, b, true, false).dispose(); // warm up (and XNNPACK's packing cache)
      const start = performance.now();
      const out = tf.matMul(a, b, true, false);
      out.dataSync();
      out.dispose();
      return performance.now() - start;
    };
    const fixed = time();
    uninstallWasmMatMulFix();
    try {
      expect(wasmMatMulFixInstalled()).toBe(false);
      const stock = time();
      expect(stock / fixed).toBeGreaterThan(3);
    } finally {
      installWasmMatMulFix();
      tf.dispose([a, b]);
    }
    expect(wasmMatMulFixInstalled()).toBe(true);
  });
});
