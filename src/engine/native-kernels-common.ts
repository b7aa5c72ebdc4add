/**
 * What the native cpu kernels (native.ts, native-kernels-elementwise.ts,
 * native-kernels-conv.ts) share: a structural view of the tfjs cpu backend, the
 * kernel function shape, and the counters of native and fallback calls.
 * Internal to src/engine.
 */
import type * as tf from '@tensorflow/tfjs-core';
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
