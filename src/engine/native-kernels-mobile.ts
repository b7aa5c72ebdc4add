/**
 * Native kernels for the MobileNet-style inference graphs of detection (face-api's
 * SSD MobileNetV1 face finder, the probe detector's MobileNetV2 backbone) on the
 * tfjs cpu backend, where tfjs runs them as JS loops that took 3/4 of the time
 * (profiled with tf.profile, bench/detect-stages.ts):
 *
 * - DepthwiseConv2dNative and FusedDepthwiseConv2D (native/fakeface_mobile.c): NHWC,
 *   float32, any channel multiplier, strides, 'same' / 'valid' / explicit / numeric
 *   padding; dilation 1 only. Sums in float in tfjs' order (last-bit differences).
 * - ClipByValue and Relu6 (MobileNet's relu6): exact.
 * - ResizeBilinear: computed in double like the JS kernel, bit-equal.
 * - PadV2, Slice (the strided ones) and Transpose: block and strided copies in JS
 *   (tfjs computes every element's coordinates as arrays), exact; they read the SSD's
 *   5,118 anchor boxes.
 *
 * Everything else (NCHW, dilations, other dtypes) falls back to the JS kernel.
 * Registered by native.ts, in the `conv` (depthwise) and `elementwise` groups.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './native.js';
import {
  asCpuBackend,
  convInfo,
  float32Inputs,
  makeConvKernel,
  makeFusedConvKernel,
  size,
  stats,
  type KernelFunc,
  type NativeConv,
  type NativeKernelSpec,
} from './native-kernels-common.js';

type Shape4 = [number, number, number, number];

/** [B, H, W, C, M, OH, OW, KH, KW, SH, SW, PT, PL] for native.depthwiseConv2d, or null when it does not handle the attrs. */
export function depthwiseGeometry(xShape: readonly number[], filterShape: readonly number[], attrs: Record<string, unknown>): { geometry: Float64Array; outShape: number[]; channels: number } | null {
  const info = convInfo(xShape, filterShape, attrs, { depthwise: true, dilations: attrs.dilations });
  if (!info) return null;
  const multiplier = filterShape[3]!;
  const geometry = Float64Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, multiplier,
    info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
  ]);
  return { geometry, outShape: info.outShape, channels: info.outChannels };
}

/** y = depthwiseConv2d(x, filter) into a new Float32Array, or null to fall back. */
const nativeDepthwise: NativeConv = (native, args) => {
  const inputs = float32Inputs(args, 'x', 'filter');
  const plan = inputs && depthwiseGeometry(inputs.tensors.x.shape, inputs.tensors.filter.shape, args.attrs ?? {});
  if (!inputs || !plan) return null;
  const values = new Float32Array(size(plan.outShape));
  native.depthwiseConv2d(inputs.values.x, inputs.values.filter, values, plan.geometry);
  return { shape: plan.outShape, values, channels: plan.channels };
};

/** The depthwise filter is [KH, KW, C, multiplier]: C * multiplier output channels. */
const depthwiseChannels = (filterShape: readonly number[]): number => (filterShape[2] ?? 0) * (filterShape[3] ?? 0);

/** ClipByValue (attrs clipValueMin / clipValueMax) or Relu6 (0..6, -0 becomes 0 as Math.max(0, x) does). */
function makeClip(relu6: boolean, native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = float32Inputs(args, 'x');
    const lo = relu6 ? 0 : Number(args.attrs?.clipValueMin);
    const hi = relu6 ? 6 : Number(args.attrs?.clipValueMax);
    if (!inputs || Number.isNaN(lo) || Number.isNaN(hi)) return fallback(args);
    const { backend, tensors: { x }, values: { x: values } } = inputs;
    const n = size(x.shape);
    const out = new Float32Array(n);
    if (n > 0) native.clip(out, values.length === n ? values : values.subarray(0, n), lo, hi, relu6);
    stats.native++;
    return backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

function makeResizeBilinear(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const inputs = float32Inputs(args, 'images');
    const attrs = args.attrs ?? {};
    const [height, width] = (attrs.size as [number, number] | undefined) ?? [];
    const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
    if (!inputs || !ok(height) || !ok(width)) return fallback(args);
    const { backend, tensors: { images }, values: { images: values } } = inputs;
    if (images.shape.length !== 4 || size(images.shape) === 0) return fallback(args);
    const [batch, , , channels] = images.shape as Shape4;
    const outShape = [batch, height, width, channels];
    const out = new Float32Array(size(outShape));
    const geometry = Float64Array.from([...images.shape, height, width, attrs.alignCorners ? 1 : 0, attrs.halfPixelCenters ? 1 : 0]);
    native.resizeBilinear(out, values, geometry);
    stats.native++;
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

/**
 * pad(src) into out (already filled with the constant): the trailing axes without
 * padding are merged into one contiguous run, copied with set().
 */
export function padValues<T extends Float32Array | Int32Array>(src: T, shape: readonly number[], paddings: ReadonlyArray<readonly [number, number]>, out: T): void {
  // Merge the unpadded tail into the last padded axis (or everything, if none is padded).
  let tail = shape.length;
  while (tail > 0 && paddings[tail - 1]![0] === 0 && paddings[tail - 1]![1] === 0) tail--;
  const run = size(shape.slice(tail));
  if (tail === 0) {
    out.set(src.subarray(0, run));
    return;
  }
  const dims = shape.slice(0, tail);
  const outDims = dims.map((n, i) => n + paddings[i]![0] + paddings[i]![1]);
  // Elements per step of each axis, in the source and the output (in runs of `run`).
  const srcStride = new Array<number>(tail).fill(run);
  const outStride = new Array<number>(tail).fill(run);
  for (let d = tail - 2; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1]! * dims[d + 1]!;
    outStride[d] = outStride[d + 1]! * outDims[d + 1]!;
  }
  const last = tail - 1;
  const rowLength = dims[last]! * run;
  const copy = (d: number, srcOffset: number, outOffset: number): void => {
    const start = outOffset + paddings[d]![0] * outStride[d]!;
    if (d === last) {
      out.set(src.subarray(srcOffset, srcOffset + rowLength), start);
      return;
    }
    for (let i = 0; i < dims[d]!; i++) copy(d + 1, srcOffset + i * srcStride[d]!, start + i * outStride[d]!);
  };
  if (size(shape) > 0) copy(0, 0, 0);
}

function makePad(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { x } = args.inputs;
    const paddings = args.attrs?.paddings as Array<[number, number]> | undefined;
    const constant = Number(args.attrs?.constantValue ?? 0);
    if (!backend || !x || !paddings || paddings.length !== x.shape.length) return fallback(args);
    if (paddings.some((p) => !Number.isInteger(p[0]) || !Number.isInteger(p[1]) || p[0] < 0 || p[1] < 0)) return fallback(args);
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args);
    const values = backend.data.get(x.dataId)?.values;
    const Kind = x.dtype === 'float32' ? Float32Array : Int32Array;
    if (!(values instanceof Kind) || values.length < size(x.shape)) return fallback(args);
    const outShape = x.shape.map((n, i) => paddings[i]![0] + n + paddings[i]![1]);
    const out = new Kind(size(outShape));
    if (constant !== 0) out.fill(constant);
    padValues(values, x.shape, paddings, out);
    stats.native++;
    return backend.makeTensorInfo(outShape, x.dtype, out);
  };
}

/**
 * out[i] = src[srcOffset + Σ_d index_d * srcStrides[d]] over the row-major outShape:
 * the strided copy behind slice and transpose (tfjs' JS kernels index each element
 * through arrays of coordinates).
 */
export function copyStrided<T extends Float32Array | Int32Array>(src: T, srcOffset: number, srcStrides: readonly number[], outShape: readonly number[], out: T): void {
  const rank = outShape.length;
  if (size(outShape) === 0) return;
  if (rank === 0) {
    out[0] = src[srcOffset]!;
    return;
  }
  const inner = outShape[rank - 1]!;
  const step = srcStrides[rank - 1]!;
  const index = new Array<number>(rank).fill(0);
  let base = srcOffset;
  for (let o = 0; o < out.length; o += inner) {
    if (step === 1) out.set(src.subarray(base, base + inner), o);
    else for (let i = 0, s = base; i < inner; i++, s += step) out[o + i] = src[s]!;
    // Next row: the odometer over the outer axes.
    for (let d = rank - 2; d >= 0; d--) {
      base += srcStrides[d]!;
      if (++index[d]! < outShape[d]!) break;
      base -= index[d]! * srcStrides[d]!;
      index[d] = 0;
    }
  }
}

const rowMajorStrides = (shape: readonly number[]): number[] => {
  const strides = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; d--) (strides[d] = s), (s *= shape[d]!);
  return strides;
};

/** float32 / int32 values of a cpu tensor, or null. */
function numericValues(backend: ReturnType<typeof asCpuBackend>, info: tf.TensorInfo): Float32Array | Int32Array | null {
  if (!backend || (info.dtype !== 'float32' && info.dtype !== 'int32') || !backend.data.has(info.dataId)) return null;
  const values = backend.data.get(info.dataId)?.values;
  const Kind = info.dtype === 'float32' ? Float32Array : Int32Array;
  return values instanceof Kind && values.length >= size(info.shape) ? values : null;
}

/** Slices that are not one contiguous block (those tfjs already takes as a subarray view of the same data). */
function makeSlice(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { x } = args.inputs;
    const values = backend && x ? numericValues(backend, x) : null;
    if (!backend || !x || !values) return fallback(args);
    let begin: number[];
    let sizes: number[];
    try {
      [begin, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs?.begin as number[], args.attrs?.size as number[]);
      tf.slice_util.assertParamsValid(x as tf.Tensor, begin, sizes);
    } catch {
      return fallback(args); // the original raises tfjs' error
    }
    if (size(sizes) === 0 || tf.slice_util.isSliceContinous(x.shape, begin, sizes)) return fallback(args);
    const strides = rowMajorStrides(x.shape);
    const offset = begin.reduce((sum, b, d) => sum + b * strides[d]!, 0);
    const out = new (values.constructor as typeof Float32Array | typeof Int32Array)(size(sizes));
    copyStrided(values, offset, strides, sizes, out);
    stats.native++;
    return backend.makeTensorInfo(sizes, x.dtype, out);
  };
}

function makeTranspose(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { x } = args.inputs;
    const perm = args.attrs?.perm as number[] | undefined;
    const values = backend && x ? numericValues(backend, x) : null;
    if (!backend || !x || !values || !perm || perm.length !== x.shape.length) return fallback(args);
    if ([...perm].sort((a, b) => a - b).some((p, i) => p !== i)) return fallback(args);
    const strides = rowMajorStrides(x.shape);
    const outShape = perm.map((p) => x.shape[p]!);
    const out = new (values.constructor as typeof Float32Array | typeof Int32Array)(size(outShape));
    copyStrided(values, 0, perm.map((p) => strides[p]!), outShape, out);
    stats.native++;
    return backend.makeTensorInfo(outShape, x.dtype, out);
  };
}

export const MOBILE_KERNELS: NativeKernelSpec[] = [
  { kernelName: tf.DepthwiseConv2dNative, group: 'conv', needs: ['depthwiseConv2d'], make: (native, fallback) => makeConvKernel(nativeDepthwise, native, fallback) },
  // depthwise conv + per-channel bias + activation, as tfjs' FusedDepthwiseConv2D
  { kernelName: tf.FusedDepthwiseConv2D, group: 'conv', needs: ['depthwiseConv2d', 'biasActivation'], make: (native, fallback) => makeFusedConvKernel(nativeDepthwise, depthwiseChannels, native, fallback) },
  { kernelName: tf.ClipByValue, group: 'elementwise', needs: ['clip'], make: (native, fallback) => makeClip(false, native, fallback) },
  { kernelName: tf.Relu6, group: 'elementwise', needs: ['clip'], make: (native, fallback) => makeClip(true, native, fallback) },
  { kernelName: tf.ResizeBilinear, group: 'elementwise', needs: ['resizeBilinear'], make: makeResizeBilinear },
  { kernelName: tf.PadV2, group: 'elementwise', needs: [], make: (_native, fallback) => makePad(fallback) },
  { kernelName: tf.Slice, group: 'elementwise', needs: [], make: (_native, fallback) => makeSlice(fallback) },
  { kernelName: tf.Transpose, group: 'elementwise', needs: [], make: (_native, fallback) => makeTranspose(fallback) },
];
