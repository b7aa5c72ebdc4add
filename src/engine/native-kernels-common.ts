/**
 * What the native cpu kernels (native.ts, native-kernels-elementwise.ts,
 * native-kernels-conv.ts, native-kernels-mobile.ts) share: a structural view of the
 * tfjs cpu backend, the kernel function shape, reading a kernel's float32 inputs,
 * the forward-convolution kernels (plain and fused with bias + activation), and the
 * counters of native and fallback calls. Internal to src/engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './native.js';

/** What the kernels need of the cpu backend (MathBackendCPU), structurally. */
export interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined; has(dataId: object): boolean };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array | Uint8Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

export type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Which replacements registerNativeKernels installs. */
export type NativeKernelGroup = 'matmul' | 'elementwise' | 'conv';

/** One replacement: the kernel it takes over and how to build it around the original. */
export interface NativeKernelSpec {
  kernelName: string;
  group: NativeKernelGroup;
  /** Addon functions it calls: an addon built from older sources may lack them (the spec is then skipped). */
  needs: Array<keyof NativeAddon>;
  /** The native kernel; it calls `fallback` (the original, counted) for what it does not handle. */
  make(native: NativeAddon, fallback: KernelFunc, backendName: string): KernelFunc;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function asCpuBackend(backend: unknown): CpuBackendLike | null {
  const b = backend as Partial<CpuBackendLike> | null;
  return b && typeof b.makeTensorInfo === 'function' && b.data && typeof b.data.get === 'function' ? (b as CpuBackendLike) : null;
}

/** The tensor's own Float32Array, or null when it is not a plain float32 cpu tensor. */
export function float32Values(backend: CpuBackendLike, info: tf.TensorInfo): Float32Array | null {
  if (info.dtype !== 'float32' || !backend.data.has(info.dataId)) return null;
  const values = backend.data.get(info.dataId)?.values;
  return values instanceof Float32Array && values.length >= size(info.shape) ? values : null;
}

/** The tensor's Uint8Array of 0/1, or null when it is not a bool cpu tensor. */
export function boolValues(backend: CpuBackendLike, info: tf.TensorInfo): Uint8Array | null {
  if (info.dtype !== 'bool' || !backend.data.has(info.dataId)) return null;
  const values = backend.data.get(info.dataId)?.values;
  return values instanceof Uint8Array && values.length >= size(info.shape) ? values : null;
}

/** The cpu backend, the named inputs and their Float32Arrays: what a native kernel reads. */
export interface Float32Inputs<Name extends string> {
  backend: CpuBackendLike;
  tensors: Record<Name, tf.TensorInfo>;
  values: Record<Name, Float32Array>;
}

/**
 * The kernel's named inputs with their values, or null (the kernel falls back) when
 * the backend is not the cpu one or any of them is absent or not plain float32.
 */
export function float32Inputs<Name extends string>(args: KernelArgs, ...names: Name[]): Float32Inputs<Name> | null {
  const backend = asCpuBackend(args.backend);
  if (!backend) return null;
  const tensors = {} as Record<Name, tf.TensorInfo>;
  const values = {} as Record<Name, Float32Array>;
  for (const name of names) {
    const info = args.inputs[name];
    const data = info ? float32Values(backend, info) : null;
    if (!info || !data) return null;
    tensors[name] = info;
    values[name] = data;
  }
  return { backend, tensors, values };
}

/** How many kernel calls ran natively and how many fell back to tfjs' JS kernels. */
export const stats = { native: 0, fallback: 0 };

/** Activation codes of native/fakeface_blas.c, for those tfjs' cpu fused kernels know. */
export const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5, prelu: 7 };

/**
 * The operand's Float32Array when it broadcasts along the output's last axis only:
 * one value, or one per column (shape [..1, cols]) with rank <= outRank. Else null.
 */
export function perColumn(backend: CpuBackendLike, info: tf.TensorInfo, cols: number, outRank: number): Float32Array | null {
  if (info.shape.length > outRank) return null;
  const n = size(info.shape);
  const last = info.shape[info.shape.length - 1] ?? 1;
  if (n !== 1 && !(n === cols && last === cols)) return null;
  const values = float32Values(backend, info);
  return values && values.length === n ? values : values?.subarray(0, n) ?? null;
}

type Shape4 = [number, number, number, number];
export type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/**
 * tfjs' convolution geometry for these attrs (`depthwise`: the filter is
 * [KH, KW, C, multiplier]), or null when the native kernels do not handle them
 * (NCHW, dilations, negative padding, channel mismatch) or tfjs would reject them
 * (the original kernel then raises its error).
 */
export function convInfo(
  xShape: readonly number[], filterShape: readonly number[], attrs: Record<string, unknown>,
  { depthwise = false, dilations = 1 }: { depthwise?: boolean; dilations?: unknown } = {},
): Conv2DInfo | null {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return null;
  if (xShape[3] !== filterShape[2]) return null;
  let info: Conv2DInfo;
  try {
    info = tf.backend_util.computeConv2DInfo(
      xShape as Shape4, filterShape as Shape4,
      attrs.strides as number | [number, number],
      (dilations ?? 1) as number | [number, number],
      attrs.pad as Parameters<typeof tf.backend_util.computeConv2DInfo>[4],
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
      depthwise, 'channelsLast',
    );
  } catch {
    return null;
  }
  const ints = [info.strideHeight, info.strideWidth, info.outHeight, info.outWidth, info.padInfo.top, info.padInfo.left];
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || ints.some((v) => !Number.isInteger(v) || v < 0)) return null;
  if (info.strideHeight < 1 || info.strideWidth < 1) return null;
  return info;
}

/** A native forward convolution's output: shape, values and channels (the last axis, that a bias runs along). */
export interface ConvOutput {
  shape: number[];
  values: Float32Array;
  channels: number;
}

/** A forward convolution into a new Float32Array, or null to fall back (inputs x and filter). */
export type NativeConv = (native: NativeAddon, args: KernelArgs) => ConvOutput | null;

/** The kernel running `conv` natively, and `fallback` where it declines. */
export function makeConvKernel(conv: NativeConv, native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const result = conv(native, args);
    if (!result) return fallback(args);
    stats.native++;
    return asCpuBackend(args.backend)!.makeTensorInfo(result.shape, 'float32', result.values);
  };
}

/**
 * `conv` + per-channel bias + activation, as tfjs' fused convolution kernels
 * (FusedConv2D, FusedDepthwiseConv2D); `outChannels` reads the output's channels off
 * the filter's shape. Other bias / prelu shapes and activations fall back.
 */
export function makeFusedConvKernel(conv: NativeConv, outChannels: (filterShape: readonly number[]) => number, native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { bias, filter, preluActivationWeights: prelu } = args.inputs;
    const attrs = args.attrs ?? {};
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    const code = ACTIVATIONS[activation];
    if (!backend || !filter || code === undefined) return fallback(args);
    const channels = outChannels(filter.shape);
    const biasValues = bias ? perColumn(backend, bias, channels, 4) : null;
    const preluValues = activation === 'prelu' && prelu ? perColumn(backend, prelu, channels, 4) : null;
    if ((bias && !biasValues) || (activation === 'prelu' && !preluValues)) return fallback(args);
    const result = conv(native, args);
    if (!result) return fallback(args);
    const alpha = typeof attrs.leakyreluAlpha === 'number' ? attrs.leakyreluAlpha : 0.2;
    const rows = result.values.length / Math.max(1, result.channels);
    if (result.values.length > 0 && (biasValues || code !== ACTIVATIONS.linear)) {
      native.biasActivation(result.values, rows, result.channels, biasValues, code, alpha, preluValues);
    }
    stats.native++;
    return backend.makeTensorInfo(result.shape, 'float32', result.values);
  };
}
