/**
 * Native element-wise, reduction and batch-norm kernels for the tfjs cpu backend
 * (native/fakeface_kernels.c): the ops a Dense / BatchNorm / activation layer and
 * their gradients run on every element of the big activations. Each handles
 * float32 (bool where the op makes bools) and falls back to the original JS kernel
 * for anything else. Results equal the JS kernels' (bit for bit, except tanh and
 * sigmoid: last-bit differences in rare ties). Registered by native.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './native.js';
import {
  asCpuBackend,
  boolValues,
  float32Inputs,
  float32Values,
  size,
  stats,
  type KernelFunc,
  type NativeKernelSpec,
} from './native-kernels-common.js';

const MAX_RANK = 8;

/** A broadcast binary op, reduced to the fewest dims: strides 0 where an operand broadcasts. */
export interface BroadcastPlan {
  outShape: number[];
  dims: Float64Array;
  aStrides: Float64Array;
  bStrides: Float64Array;
}

/** numpy-style broadcast of a and b, with contiguous runs of dims merged. Null when incompatible or too deep. */
export function planBroadcast(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan | null {
  const rank = Math.max(aShape.length, bShape.length);
  const outShape: number[] = [];
  const dimsOf = (shape: readonly number[]) => Array.from({ length: rank }, (_, i) => shape[shape.length - rank + i] ?? 1);
  const aDims = dimsOf(aShape);
  const bDims = dimsOf(bShape);
  for (let i = 0; i < rank; i++) {
    if (aDims[i] !== bDims[i] && aDims[i] !== 1 && bDims[i] !== 1) return null;
    outShape.push(aDims[i] === 1 ? bDims[i] : aDims[i]);
  }
  const stridesOf = (dims: number[]) => {
    const strides = new Array<number>(rank);
    for (let i = rank - 1, s = 1; i >= 0; i--) {
      strides[i] = dims[i] === 1 ? 0 : s;
      s *= dims[i];
    }
    return strides;
  };
  const aFull = stridesOf(aDims);
  const bFull = stridesOf(bDims);
  // Merge axis i into the run before it when both operands step through them as one.
  const dims: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rank; i++) {
    const n = outShape[i];
    if (n === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && as[last] === aFull[i] * n && bs[last] === bFull[i] * n) {
      dims[last] *= n;
      as[last] = aFull[i];
      bs[last] = bFull[i];
    } else {
      dims.push(n);
      as.push(aFull[i]);
      bs.push(bFull[i]);
    }
  }
  if (dims.length === 0) dims.push(1), as.push(0), bs.push(0);
  if (dims.length > MAX_RANK) return null;
  return { outShape, dims: Float64Array.from(dims), aStrides: Float64Array.from(as), bStrides: Float64Array.from(bs) };
}

/** Op codes of binaryOp in native/fakeface_kernels.c. */
const BINARY_OPS: Record<string, { code: number; dtype: 'float32' | 'bool' }> = {
  [tf.Add]: { code: 0, dtype: 'float32' },
  [tf.Sub]: { code: 1, dtype: 'float32' },
  [tf.Multiply]: { code: 2, dtype: 'float32' },
  [tf.RealDiv]: { code: 3, dtype: 'float32' },
  [tf.Greater]: { code: 10, dtype: 'bool' },
  [tf.GreaterEqual]: { code: 11, dtype: 'bool' },
  [tf.Less]: { code: 12, dtype: 'bool' },
  [tf.LessEqual]: { code: 13, dtype: 'bool' },
};

function makeBinary(kernelName: string, native: NativeAddon, fallback: KernelFunc): KernelFunc {
  const { code, dtype } = BINARY_OPS[kernelName];
  return (args) => {
    const inputs = float32Inputs(args, 'a', 'b');
    const plan = inputs && planBroadcast(inputs.tensors.a.shape, inputs.tensors.b.shape);
    if (!inputs || !plan) return fallback(args);
    const { backend, tensors: { a, b }, values: { a: aValues, b: bValues } } = inputs;
    const n = size(plan.outShape);
    const out = dtype === 'bool' ? new Uint8Array(n) : new Float32Array(n);
    if (n > 0 && size(a.shape) > 0 && size(b.shape) > 0) native.binaryOp(code, out, aValues, bValues, plan.dims, plan.aStrides, plan.bStrides);
    stats.native++;
    return backend.makeTensorInfo(plan.outShape, dtype, out);
  };
}

/** Op codes of unaryOp, and the attribute each reads. */
const UNARY_OPS: Record<string, { code: number; alpha?: (attrs: Record<string, unknown>) => number }> = {
  [tf.Tanh]: { code: 0 },
  [tf.Sigmoid]: { code: 1 },
  [tf.Relu]: { code: 2 },
  [tf.LeakyRelu]: { code: 3, alpha: (attrs) => Number(attrs.alpha ?? 0.2) },
  [tf.Step]: { code: 4, alpha: (attrs) => Number(attrs.alpha ?? 0) },
  [tf.Square]: { code: 5 },
};

function makeUnary(kernelName: string, native: NativeAddon, fallback: KernelFunc): KernelFunc {
  const { code, alpha } = UNARY_OPS[kernelName];
  return (args) => {
    const inputs = float32Inputs(args, 'x');
    if (!inputs) return fallback(args);
    const { backend, tensors: { x }, values: { x: values } } = inputs;
    const n = size(x.shape);
    const out = new Float32Array(n);
    if (n > 0) native.unaryOp(code, out, values.length === n ? values : values.subarray(0, n), alpha ? alpha(args.attrs ?? {}) : 0);
    stats.native++;
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

function makeSelect(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { condition, t, e } = args.inputs;
    if (!backend || !condition || !t || !e) return fallback(args);
    const n = size(t.shape);
    const c = boolValues(backend, condition);
    const tv = float32Values(backend, t);
    const ev = float32Values(backend, e);
    // Equal sizes only: a rank-1 condition over a higher-rank t selects whole rows.
    if (!c || !tv || !ev || size(condition.shape) !== n || size(e.shape) !== n || condition.shape.length !== t.shape.length) {
      return fallback(args);
    }
    const out = new Float32Array(n);
    if (n > 0) native.select(out, c.subarray(0, n), tv.subarray(0, n), ev.subarray(0, n));
    stats.native++;
    return backend.makeTensorInfo(t.shape, 'float32', out);
  };
}

/**
 * x viewed as [outer, reduce, inner] for a reduction over `axes`, or null when the
 * reduced axes (ignoring size-1 axes) are not one contiguous run.
 */
export function planReduction(shape: readonly number[], axes: readonly number[]): { outer: number; reduce: number; inner: number } | null {
  const reduced = new Set(axes);
  const runs: Array<{ reduced: boolean; n: number }> = [];
  shape.forEach((n, axis) => {
    if (n === 1) return;
    const isReduced = reduced.has(axis);
    const last = runs[runs.length - 1];
    if (last && last.reduced === isReduced) last.n *= n;
    else runs.push({ reduced: isReduced, n });
  });
  const reducedRuns = runs.filter((run) => run.reduced).length;
  if (reducedRuns > 1) return null;
  const at = runs.findIndex((run) => run.reduced);
  if (at < 0) return { outer: size(shape), reduce: 1, inner: 1 };
  return {
    outer: size(runs.slice(0, at).map((run) => run.n)),
    reduce: runs[at].n,
    inner: size(runs.slice(at + 1).map((run) => run.n)),
  };
}

/** Sum (mean: false) or Mean (mean: true) over axes, keepDims as tfjs. */
function makeReduction(mean: boolean, native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = float32Inputs(args, 'x');
    if (!inputs) return fallback(args);
    const { backend, tensors: { x }, values: { x: values } } = inputs;
    const attrs = args.attrs ?? {};
    let axes: number[];
    try {
      axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    } catch {
      return fallback(args); // let the original raise tfjs' error
    }
    const plan = planReduction(x.shape, axes);
    if (!plan) return fallback(args);
    const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const out = new Float32Array(size(outShape));
    const divisor = mean ? Math.fround(size(reduceShape)) : 0;
    native.reduceSum(out, values, plan.outer, plan.reduce, plan.inner, divisor);
    stats.native++;
    const shape = attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    return backend.makeTensorInfo(shape, 'float32', out);
  };
}

function makeBatchNorm(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { x, mean, variance, scale, offset } = args.inputs;
    if (!backend || !x || !mean || !variance || x.shape.length === 0) return fallback(args);
    const channels = x.shape[x.shape.length - 1];
    const param = (info: tf.TensorInfo | undefined): Float32Array | null | undefined => {
      if (!info) return undefined;
      const values = float32Values(backend, info);
      const n = size(info.shape);
      return values && (n === 1 || n === channels) ? values.subarray(0, n) : null;
    };
    const xv = float32Values(backend, x);
    const [m, v, s, o] = [param(mean), param(variance), param(scale), param(offset)];
    // Ranks must agree as tfjs asserts; let the original raise its errors.
    const ranksAgree = mean.shape.length === variance.shape.length && [scale, offset].every((p) => !p || p.shape.length === mean.shape.length);
    if (!xv || !m || !v || s === null || o === null || channels === 0 || !ranksAgree) return fallback(args);
    const epsilon = (args.attrs?.varianceEpsilon as number | undefined) ?? 0.001;
    const n = size(x.shape);
    const out = new Float32Array(n);
    if (n > 0) native.batchNorm(out, xv.subarray(0, n), m, v, s ?? null, o ?? null, epsilon, channels);
    stats.native++;
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

/** tile() by block copies: each axis' block is written once, then copied reps - 1 times. */
export function tileValues<T extends Float32Array | Int32Array>(src: T, shape: readonly number[], reps: readonly number[], out: T): void {
  const rank = shape.length;
  const outShape = shape.map((n, i) => n * reps[i]);
  const outInner = new Array<number>(rank + 1).fill(1);
  const srcInner = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) {
    outInner[d] = outInner[d + 1] * outShape[d];
    srcInner[d] = srcInner[d + 1] * shape[d];
  }
  const fill = (d: number, srcOffset: number, outOffset: number): void => {
    if (d === rank - 1) {
      const n = shape[d];
      if (n === 1) {
        out.fill(src[srcOffset], outOffset, outOffset + reps[d]);
        return;
      }
      const row = src.subarray(srcOffset, srcOffset + n);
      for (let k = 0; k < reps[d]; k++) out.set(row, outOffset + k * n);
      return;
    }
    for (let i = 0; i < shape[d]; i++) fill(d + 1, srcOffset + i * srcInner[d + 1], outOffset + i * outInner[d + 1]);
    const block = shape[d] * outInner[d + 1];
    for (let k = 1; k < reps[d]; k++) out.copyWithin(outOffset + k * block, outOffset, outOffset + block);
  };
  if (rank === 0) out[0] = src[0];
  else if (size(outShape) > 0) fill(0, 0, 0);
}

function makeTile(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { x } = args.inputs;
    const reps = args.attrs?.reps as number[] | undefined;
    if (!backend || !x || !reps || reps.length !== x.shape.length || reps.some((r) => !Number.isInteger(r) || r < 0)) return fallback(args);
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args);
    const values = backend.data.get(x.dataId)?.values;
    const expected = x.dtype === 'float32' ? Float32Array : Int32Array;
    if (!(values instanceof expected) || values.length < size(x.shape)) return fallback(args);
    const outShape = x.shape.map((n, i) => n * reps[i]);
    const out = new expected(size(outShape));
    tileValues(values, x.shape, reps, out);
    stats.native++;
    return backend.makeTensorInfo(outShape, x.dtype, out);
  };
}

export const ELEMENTWISE_KERNELS: NativeKernelSpec[] = [
  ...Object.keys(BINARY_OPS).map((kernelName): NativeKernelSpec => ({
    kernelName,
    group: 'elementwise',
    needs: ['binaryOp'],
    make: (native, fallback) => makeBinary(kernelName, native, fallback),
  })),
  ...Object.keys(UNARY_OPS).map((kernelName): NativeKernelSpec => ({
    kernelName,
    group: 'elementwise',
    needs: ['unaryOp'],
    make: (native, fallback) => makeUnary(kernelName, native, fallback),
  })),
  { kernelName: tf.Select, group: 'elementwise', needs: ['select'], make: makeSelect },
  { kernelName: tf.Sum, group: 'elementwise', needs: ['reduceSum'], make: (native, fallback) => makeReduction(false, native, fallback) },
  { kernelName: tf.Mean, group: 'elementwise', needs: ['reduceSum'], make: (native, fallback) => makeReduction(true, native, fallback) },
  { kernelName: tf.FusedBatchNorm, group: 'elementwise', needs: ['batchNorm'], make: makeBatchNorm },
  { kernelName: tf.Tile, group: 'elementwise', needs: [], make: (_native, fallback) => makeTile(fallback) },
];
