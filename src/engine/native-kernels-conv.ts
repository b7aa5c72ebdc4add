/**
 * Native 2-D convolutions for the tfjs cpu backend: Conv2D, FusedConv2D,
 * Conv2DBackpropInput (also conv2dTranspose's forward pass) and
 * Conv2DBackpropFilter, writing straight into the output tensor. Two engines:
 * oneDNN (native/fakeface_dnnl.c, where the addon was built with libdnnl-dev and
 * libdnnl.so.2 loads; its kernels are picked for the CPU at run time) and im2col /
 * col2im + OpenBLAS sgemm (native/fakeface_kernels.c; the patch matrix lives in a
 * scratch buffer the addon keeps between calls). NHWC, dilation 1, float32, any
 * strides and 'same' / 'valid' / explicit / numeric padding; everything else (NCHW,
 * dilations, other dtypes) falls back to the JS kernel. Results equal the JS
 * kernels' up to float rounding (sums in another order).
 *
 * Which engine (setConvEngine, FAKEFACE_CONV=auto|onednn|im2col, FAKEFACE_NO_DNNL=1
 * for im2col): by default oneDNN on AVX-512 CPUs and im2col elsewhere (defaultConvEngine:
 * on a 2-core AVX2 machine oneDNN 2.6 is not faster on every layer, and far slower on
 * some, e.g. the 3-channel input gradient); `auto` (opt-in) times both on the first
 * calls of each shape and keeps the faster, at the price of results that can differ in
 * the last bits from one process to the next.
 * Registered by native.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readCpuFacts } from './cpu-features.js';
import type { NativeAddon } from './native.js';
import {
  convInfo,
  float32Inputs,
  makeConvKernel,
  makeFusedConvKernel,
  size,
  stats,
  type Conv2DInfo,
  type KernelFunc,
  type NativeConv,
  type NativeKernelSpec,
} from './native-kernels-common.js';

const MODE = { forward: 0, backpropInput: 1, backpropFilter: 2 } as const;

function geometry(info: Conv2DInfo): Float64Array {
  return Float64Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left,
  ]);
}

/** Which code runs the convolutions: oneDNN, im2col + sgemm, or per shape whichever measured faster. */
export type ConvEngine = 'auto' | 'onednn' | 'im2col';
const CONV_ENGINES: readonly ConvEngine[] = ['auto', 'onednn', 'im2col'];

/**
 * The default is fixed per machine, never timed, so that the same seed gives the same
 * numbers in every process (a resumed run equals an uninterrupted one): oneDNN where
 * the CPU has AVX-512 (where its kernels are expected to win), im2col + sgemm on
 * AVX2-only CPUs (where oneDNN measured slower overall). `auto` is opt-in.
 */
export function defaultConvEngine(flags: ReadonlySet<string> | null): ConvEngine {
  return flags?.has('avx512f') ? 'onednn' : 'im2col';
}

function engineFromEnv(): ConvEngine {
  if (process.env.FAKEFACE_NO_DNNL === '1') return 'im2col';
  const requested = process.env.FAKEFACE_CONV as ConvEngine | undefined;
  return requested && CONV_ENGINES.includes(requested) ? requested : defaultConvEngine(readCpuFacts()?.flags ?? null);
}

let convEngine: ConvEngine = engineFromEnv();

/** One shape's timings under `auto`: oneDNN's and im2col's best call, and the choice once both are in. */
interface ShapeTuning {
  mode: number;
  geometry: number[];
  calls: number;
  onednnMs: number;
  im2colMs: number;
  choice: 'onednn' | 'im2col' | null;
  impl: string | null;
}
const tuning = new Map<string, ShapeTuning>();
const engineCounts = { onednn: 0, im2col: 0 };

/** Calls of a new shape under `auto`: one to build oneDNN's primitive, then timed ones of each engine. */
const UNTIMED_CALLS = 1;
const TIMED_CALLS = 2;

/**
 * Sets the convolutions' engine for what runs next (any unknown name throws).
 * `onednn` falls back to im2col where oneDNN is absent or declines a shape; `auto`
 * keeps the choices it made before a switch (clearConvTuning forgets them).
 */
export function setConvEngine(engine: ConvEngine): void {
  if (!CONV_ENGINES.includes(engine)) throw new RangeError(`unknown convolution engine "${String(engine)}": use ${CONV_ENGINES.join(', ')}`);
  convEngine = engine;
}

/** Forgets `auto`'s timings and choices: each shape is timed again on its next calls. */
export function clearConvTuning(): void {
  tuning.clear();
}

export function getConvEngine(): ConvEngine {
  return convEngine;
}

export interface ConvEngineStats {
  engine: ConvEngine;
  /** Native convolution calls each engine ran. */
  onednn: number;
  im2col: number;
  /** Under `auto`: per shape seen, the best time of each engine and the choice. */
  shapes: Array<Omit<ShapeTuning, 'calls'>>;
}

export function convEngineStats(): ConvEngineStats {
  return { engine: convEngine, ...engineCounts, shapes: [...tuning.values()].map(({ calls: _calls, ...shape }) => ({ ...shape })) };
}

/** out = conv2d(mode, a, b) on the engine this shape runs on. */
function convolve(native: NativeAddon, mode: number, a: Float32Array, b: Float32Array, out: Float32Array, info: Conv2DInfo): void {
  const g = geometry(info);
  const im2col = () => (native.conv2d(mode, a, b, out, g), engineCounts.im2col++);
  const onednn = () => Boolean(native.dnnlConv2d?.(mode, a, b, out, g)) && (engineCounts.onednn++, true);
  if (convEngine === 'im2col' || !native.dnnlConv2d) return void im2col();
  if (convEngine === 'onednn') return void (onednn() || im2col());

  const key = `${mode}:${g.join(',')}`;
  let shape = tuning.get(key);
  if (!shape) {
    shape = { mode, geometry: [...g], calls: 0, onednnMs: Infinity, im2colMs: Infinity, choice: null, impl: null };
    tuning.set(key, shape);
  }
  if (shape.choice === 'onednn') return void (onednn() || im2col());
  if (shape.choice === 'im2col') return void im2col();
  const call = shape.calls++;
  if (call < UNTIMED_CALLS) {
    if (!onednn()) (shape.choice = 'im2col'), im2col();
    else shape.impl = native.dnnlConvImpl?.(mode, g) ?? null;
    return;
  }
  const started = performance.now();
  if (call < UNTIMED_CALLS + TIMED_CALLS) {
    if (!onednn()) return void ((shape.choice = 'im2col'), im2col());
    shape.onednnMs = Math.min(shape.onednnMs, performance.now() - started);
    return;
  }
  im2col();
  shape.im2colMs = Math.min(shape.im2colMs, performance.now() - started);
  if (call + 1 >= UNTIMED_CALLS + 2 * TIMED_CALLS) shape.choice = shape.onednnMs < shape.im2colMs ? 'onednn' : 'im2col';
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/** y = conv2d(x, filter) into a new Float32Array, or null to fall back. */
const nativeConv: NativeConv = (native, args) => {
  const inputs = float32Inputs(args, 'x', 'filter');
  const info = inputs && convInfo(inputs.tensors.x.shape, inputs.tensors.filter.shape, args.attrs ?? {}, { dilations: args.attrs?.dilations });
  if (!inputs || !info) return null;
  const values = new Float32Array(size(info.outShape));
  convolve(native, MODE.forward, inputs.values.x, inputs.values.filter, values, info);
  return { shape: info.outShape, values, channels: info.outChannels };
};

/** Conv2D's filter is [KH, KW, Cin, Cout]. */
const conv2dChannels = (filterShape: readonly number[]): number => filterShape[3] ?? 0;

function makeBackpropInput(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const inputShape = args.attrs?.inputShape as number[] | undefined;
    const inputs = float32Inputs(args, 'dy', 'filter');
    const info = inputs && inputShape ? convInfo(inputShape, inputs.tensors.filter.shape, args.attrs ?? {}) : null;
    if (!inputs || !info || !sameShape(inputs.tensors.dy.shape, info.outShape)) return fallback(args);
    const values = new Float32Array(size(info.inShape));
    convolve(native, MODE.backpropInput, inputs.values.dy, inputs.values.filter, values, info);
    stats.native++;
    return inputs.backend.makeTensorInfo(info.inShape, 'float32', values);
  };
}

function makeBackpropFilter(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const filterShape = args.attrs?.filterShape as number[] | undefined;
    const inputs = float32Inputs(args, 'x', 'dy');
    const info = inputs && filterShape ? convInfo(inputs.tensors.x.shape, filterShape, args.attrs ?? {}) : null;
    if (!inputs || !info || !sameShape(inputs.tensors.dy.shape, info.outShape)) return fallback(args);
    const values = new Float32Array(size(info.filterShape));
    convolve(native, MODE.backpropFilter, inputs.values.x, inputs.values.dy, values, info);
    stats.native++;
    return inputs.backend.makeTensorInfo(info.filterShape, 'float32', values);
  };
}

export const CONV_KERNELS: NativeKernelSpec[] = [
  { kernelName: tf.Conv2D, group: 'conv', needs: ['conv2d'], make: (native, fallback) => makeConvKernel(nativeConv, native, fallback) },
  // conv2d + per-channel bias + activation (what tfjs-layers' Conv2D runs)
  { kernelName: tf.FusedConv2D, group: 'conv', needs: ['conv2d', 'biasActivation'], make: (native, fallback) => makeFusedConvKernel(nativeConv, conv2dChannels, native, fallback) },
  { kernelName: tf.Conv2DBackpropInput, group: 'conv', needs: ['conv2d'], make: makeBackpropInput },
  { kernelName: tf.Conv2DBackpropFilter, group: 'conv', needs: ['conv2d'], make: makeBackpropFilter },
];
