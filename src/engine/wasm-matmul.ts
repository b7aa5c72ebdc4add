/**
 * Fast transposed matmuls on the wasm backend.
 *
 * tfjs-backend-wasm sends a matmul to XNNPACK only when neither operand is transposed
 * and both have batch size 1; every other case (transposeA, transposeB, batched) runs
 * a scalar single-threaded loop at 1-3 GFLOP/s. Every Dense gradient is one of those
 * (dW = x^T dy, dx = dy W^T). `BatchMatMul` and `_FusedMatMul` share that C++ code.
 *
 * We re-register both kernels for `wasm`: a case the fast path cannot take is
 * rewritten with explicit transposes (the wasm Transpose kernel) and batch folding into
 * one the fast path can take, then handed to the original kernel:
 *
 *   direct:  C = A' B'          A' = op(A) as [batchA*M, K], B' = op(B) as [K, N]
 *   swapped: C = (B'' A'')^T    B'' = op(B)^T as [batchB*N, K], A'' = op(A)^T as [K, M]
 *
 * and picks the one that moves fewer floats (transposes, plus XNNPACK packing the right
 * operand). Cases neither form covers (both operands batched) go to the original kernel.
 *
 * `_FusedMatMul` also had a correctness bug on that slow path: its bias index is
 * min(row * N + col, N - 1), so every row after the first got bias[N - 1]. Fused cases
 * the direct form cannot take are therefore run as BatchMatMul + Add + activation.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

/** The sizes of one matmul, after flattening batch dimensions. */
export interface MatMulDims {
  batchA: number;
  batchB: number;
  /** Rows of op(A) and of C. */
  m: number;
  /** The shared dimension. */
  k: number;
  /** Columns of op(B) and of C. */
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

export type MatMulPlan = { kind: 'original' } | { kind: 'direct'; cost: number } | { kind: 'swapped'; cost: number };

/** Floats a transpose of a rows x cols matrix moves; a vector's transpose is a reshape. */
function transposeCost(count: number, rows: number, cols: number): number {
  return rows === 1 || cols === 1 ? 0 : count * rows * cols;
}

/**
 * Chooses how to run a matmul on wasm (pure, so it is unit tested). `fused`: a
 * `_FusedMatMul`, whose bias and activation apply along C's last dimension, so only
 * the direct form (which keeps that dimension last) serves it.
 */
export function planMatMul(d: MatMulDims, fused: boolean): MatMulPlan {
  const { batchA, batchB, m, k, n, transposeA, transposeB } = d;
  if (batchA * batchB * m * k * n === 0) return { kind: 'original' };
  if (!transposeA && !transposeB && batchA === 1 && batchB === 1) return { kind: 'original' }; // already XNNPACK

  const candidates: MatMulPlan[] = [];
  if (batchB === 1) {
    const cost =
      (transposeA ? transposeCost(batchA, k, m) : 0) + (transposeB ? transposeCost(1, n, k) : 0) + k * n; // + packing B'
    candidates.push({ kind: 'direct', cost });
  }
  if (batchA === 1 && !fused) {
    const cost =
      (transposeB ? 0 : transposeCost(batchB, k, n)) +
      (transposeA ? 0 : transposeCost(1, m, k)) +
      k * m + // packing A''
      transposeCost(batchB, n, m); // C^T back to C
    candidates.push({ kind: 'swapped', cost });
  }
  if (candidates.length === 0) return { kind: 'original' };
  return candidates.reduce((best, c) => ((c as { cost: number }).cost < (best as { cost: number }).cost ? c : best));
}

interface WasmBackendLike {
  disposeData(dataId: tf.DataId): boolean;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

const PATCHED = Symbol.for('fakeface.wasmMatMulFix');

/**
 * A view of the same data with another shape (what the wasm Reshape kernel does,
 * without a new reference). The kernels get rank-3 views: the C++ of `_FusedMatMul`
 * reads three dimensions whatever rank it is given.
 */
function view(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

function batchSize(shape: number[]): number {
  return shape.slice(0, -2).reduce((a, b) => a * b, 1);
}

/**
 * Rewrites one BatchMatMul/_FusedMatMul call as planned. `original` is the kernel tfjs
 * registered; `transpose` is the wasm Transpose kernel.
 */
function runPlanned(args: KernelArgs, original: tf.KernelFunc, transpose: tf.KernelFunc, fused: boolean): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  const transposeA = Boolean(attrs?.transposeA);
  const transposeB = Boolean(attrs?.transposeB);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return original(args) as tf.TensorInfo;
  }
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const kA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  const batchA = batchSize(a.shape);
  const batchB = batchSize(b.shape);
  if (kA !== kB) return original(args) as tf.TensorInfo; // let tfjs raise its own error
  const k = kA;

  const dims: MatMulDims = { batchA, batchB, m, k, n, transposeA, transposeB };
  const plan = planMatMul(dims, fused);
  if (fused) {
    const bias = inputs.bias as tf.TensorInfo | undefined;
    // XNNPACK reads a rank-1 bias of N floats; other shapes only work unfused.
    const biasFits = !bias || (bias.shape.length === 1 && bias.shape[0] === n);
    const alreadyFast = !transposeA && !transposeB && batchA === 1 && batchB === 1;
    const empty = batchA * batchB * m * k * n === 0;
    if (!empty && !(biasFits && (plan.kind === 'direct' || alreadyFast))) {
      wasmMatMulRoutes.unfused++;
      return unfused(args, transposeA, transposeB);
    }
  }
  if (plan.kind === 'original') {
    wasmMatMulRoutes.original++;
    return original(args) as tf.TensorInfo;
  }
  wasmMatMulRoutes[plan.kind]++;

  const wasm = backend as WasmBackendLike;
  const outShape = [
    ...tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)),
    m,
    n,
  ];
  const temporaries: tf.TensorInfo[] = [];
  /** op(x) of a [batch, rows, cols] view, transposed in its last two dimensions. */
  const transposed = (x: tf.TensorInfo, batch: number, rows: number, cols: number): tf.TensorInfo => {
    const t =
      batch === 1
        ? (transpose({ inputs: { x: view(x, [rows, cols]) }, backend, attrs: { perm: [1, 0] } }) as tf.TensorInfo)
        : (transpose({ inputs: { x: view(x, [batch, rows, cols]) }, backend, attrs: { perm: [0, 2, 1] } }) as tf.TensorInfo);
    temporaries.push(t);
    return t;
  };
  const fastAttrs = { ...attrs, transposeA: false, transposeB: false };

  try {
    if (plan.kind === 'direct') {
      const left = transposeA ? transposed(a, batchA, k, m) : a; // [batchA, m, k]
      const right = transposeB ? transposed(b, 1, n, k) : b; // [k, n]
      const out = original({
        inputs: { ...inputs, a: view(left, [1, batchA * m, k]), b: view(right, [1, k, n]) },
        backend,
        attrs: fastAttrs,
      }) as tf.TensorInfo;
      return view(out, outShape);
    }
    // swapped: C^T = op(B)^T op(A)^T, with op(B)^T as [batchB * n, k] and op(A)^T as [k, m]
    const left = transposeB ? b : transposed(b, batchB, k, n); // [batchB, n, k]
    const right = transposeA ? a : transposed(a, 1, m, k); // [k, m]
    const outT = original({
      inputs: { a: view(left, [1, batchB * n, k]), b: view(right, [1, k, m]) },
      backend,
      attrs: fastAttrs,
    }) as tf.TensorInfo;
    temporaries.push(outT);
    const out = transposed(outT, batchB, n, m);
    temporaries.pop(); // the result is not a temporary
    return view(out, outShape);
  } finally {
    for (const t of temporaries) wasm.disposeData(t.dataId);
  }
}

function wasmKernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no ${name} kernel`);
  return config.kernelFunc;
}

/** A `_FusedMatMul` as BatchMatMul (the fixed one) + Add + its activation. */
function unfused(args: KernelArgs, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const wasm = backend as WasmBackendLike;
  const call = (name: string, kernelInputs: tf.NamedTensorInfoMap, kernelAttrs?: tf.NamedAttrMap): tf.TensorInfo =>
    wasmKernel(name)({ inputs: kernelInputs, backend, attrs: kernelAttrs }) as tf.TensorInfo;
  let out = call(tf.BatchMatMul, { a: inputs.a, b: inputs.b }, { transposeA, transposeB });
  const then = (next: tf.TensorInfo): void => {
    wasm.disposeData(out.dataId);
    out = next;
  };
  if (inputs.bias) then(call(tf.Add, { a: out, b: inputs.bias }));
  const activation = (attrs?.activation as string | undefined) ?? 'linear';
  switch (activation) {
    case 'linear':
      break;
    case 'relu':
      then(call(tf.Relu, { x: out }));
      break;
    case 'relu6':
      then(call(tf.Relu6, { x: out }));
      break;
    case 'elu':
      then(call(tf.Elu, { x: out }));
      break;
    case 'sigmoid':
      then(call(tf.Sigmoid, { x: out }));
      break;
    case 'leakyrelu':
      then(call(tf.LeakyRelu, { x: out }, { alpha: (attrs?.leakyreluAlpha as number | undefined) ?? 0.2 }));
      break;
    case 'prelu':
      then(call(tf.Prelu, { x: out, alpha: inputs.preluActivationWeights }));
      break;
    default:
      wasm.disposeData(out.dataId);
      throw new Error(`${activation} activation not yet supported for _FusedMatMul in the wasm backend`);
  }
  return out;
}

/** How many calls took each route since the fix was installed (for tests and benchmarks). */
export const wasmMatMulRoutes = { original: 0, direct: 0, swapped: 0, unfused: 0 };

function patch(kernelName: string, fused: boolean): boolean {
  const config = tf.getKernel(kernelName, 'wasm');
  const transposeKernel = tf.getKernel(tf.Transpose, 'wasm');
  if (!config || !transposeKernel) return false;
  if ((config as unknown as Record<symbol, unknown>)[PATCHED]) return true;
  const original = config.kernelFunc;
  const transpose = transposeKernel.kernelFunc;
  const patched: tf.KernelConfig = {
    ...config,
    kernelFunc: (args) => runPlanned(args, original, transpose, fused),
  };
  (patched as unknown as Record<symbol, unknown>)[PATCHED] = original;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel(patched);
  return true;
}

/**
 * Re-registers the wasm `BatchMatMul` and `_FusedMatMul` kernels with the transposed
 * cases rewritten for XNNPACK. Idempotent. Call before the wasm backend initializes
 * (the kernels' setup runs then); calling later works too, as setup already ran.
 */
export function installWasmMatMulFix(): boolean {
  const batch = patch(tf.BatchMatMul, false);
  const fused = patch(tf._FusedMatMul, true);
  return batch && fused;
}

/** Puts tfjs's own kernels back (for before/after measurements and tests). */
export function uninstallWasmMatMulFix(): void {
  for (const kernelName of [tf.BatchMatMul, tf._FusedMatMul]) {
    const config = tf.getKernel(kernelName, 'wasm');
    const original = config && (config as unknown as Record<symbol, unknown>)[PATCHED];
    if (typeof original !== 'function') continue;
    const { backendName, setupFunc, disposeFunc } = config;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName, setupFunc, disposeFunc, kernelFunc: original as tf.KernelFunc });
  }
}

/** True when the fix is installed for both kernels. */
export function wasmMatMulFixInstalled(): boolean {
  return [tf.BatchMatMul, tf._FusedMatMul].every((name) =>
    Boolean((tf.getKernel(name, 'wasm') as unknown as Record<symbol, unknown> | undefined)?.[PATCHED]),
  );
}
