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
  ACTIVATIONS,
  asCpuBackend,
  float32Values,
  perColumn,
  size,
  stats,
  type KernelArgs,
  type KernelFunc,
  type NativeKernelSpec,
} from './native-kernels-common.js';

type Shape4 = [number, number, number, number];
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

const MODE = { forward: 0, backpropInput: 1, backpropFilter: 2 } as const;

/**
 * tfjs' convolution geometry for these attrs, or null when the native kernel does
 * not handle them (NCHW, dilations, negative padding, channel mismatch) or tfjs
 * would reject them (the original kernel then raises its error).
 */
function convInfo(xShape: readonly number[], filterShape: readonly number[], attrs: Record<string, unknown>, dilations: unknown = 1): Conv2DInfo | null {
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
      false, 'channelsLast',
    );
  } catch {
    return null;
  }
  const ints = [info.strideHeight, info.strideWidth, info.outHeight, info.outWidth, info.padInfo.top, info.padInfo.left];
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || ints.some((v) => !Number.isInteger(v) || v < 0)) return null;
  if (info.strideHeight < 1 || info.strideWidth < 1) return null;
  return info;
}

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
function nativeConv(native: NativeAddon, args: KernelArgs): { shape: number[]; values: Float32Array; channels: number } | null {
  const backend = asCpuBackend(args.backend);
  const { x, filter } = args.inputs;
  if (!backend || !x || !filter) return null;
  const xv = float32Values(backend, x);
  const fv = float32Values(backend, filter);
  const info = xv && fv ? convInfo(x.shape, filter.shape, args.attrs ?? {}, args.attrs?.dilations) : null;
  if (!xv || !fv || !info) return null;
  const values = new Float32Array(size(info.outShape));
  convolve(native, MODE.forward, xv, fv, values, info);
  return { shape: info.outShape, values, channels: info.outChannels };
}

function makeConv2D(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const result = nativeConv(native, args);
    if (!result) return fallback(args);
    stats.native++;
    return asCpuBackend(args.backend)!.makeTensorInfo(result.shape, 'float32', result.values);
  };
}

/** conv2d + per-channel bias + activation (what tfjs-layers' Conv2D runs). Other bias shapes fall back. */
function makeFusedConv2D(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { bias, preluActivationWeights: prelu } = args.inputs;
    const attrs = args.attrs ?? {};
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    const code = ACTIVATIONS[activation];
    if (!backend || code === undefined) return fallback(args);
    const channels = args.inputs.filter?.shape[3] ?? 0;
    const biasValues = bias ? perColumn(backend, bias, channels, 4) : null;
    const preluValues = activation === 'prelu' && prelu ? perColumn(backend, prelu, channels, 4) : null;
    if ((bias && !biasValues) || (activation === 'prelu' && !preluValues)) return fallback(args);
    const result = nativeConv(native, args);
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

function makeBackpropInput(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { dy, filter } = args.inputs;
    const inputShape = args.attrs?.inputShape as number[] | undefined;
    if (!backend || !dy || !filter || !inputShape) return fallback(args);
    const dyv = float32Values(backend, dy);
    const fv = float32Values(backend, filter);
    const info = dyv && fv ? convInfo(inputShape, filter.shape, args.attrs ?? {}) : null;
    if (!dyv || !fv || !info || !sameShape(dy.shape, info.outShape)) return fallback(args);
    const values = new Float32Array(size(info.inShape));
    convolve(native, MODE.backpropInput, dyv, fv, values, info);
    stats.native++;
    return backend.makeTensorInfo(info.inShape, 'float32', values);
  };
}

function makeBackpropFilter(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { x, dy } = args.inputs;
    const filterShape = args.attrs?.filterShape as number[] | undefined;
    if (!backend || !x || !dy || !filterShape) return fallback(args);
    const xv = float32Values(backend, x);
    const dyv = float32Values(backend, dy);
    const info = xv && dyv ? convInfo(x.shape, filterShape, args.attrs ?? {}) : null;
    if (!xv || !dyv || !info || !sameShape(dy.shape, info.outShape)) return fallback(args);
    const values = new Float32Array(size(info.filterShape));
    convolve(native, MODE.backpropFilter, xv, dyv, values, info);
    stats.native++;
    return backend.makeTensorInfo(info.filterShape, 'float32', values);
  };
}

export const CONV_KERNELS: NativeKernelSpec[] = [
  { kernelName: tf.Conv2D, group: 'conv', needs: ['conv2d'], make: makeConv2D },
  { kernelName: tf.FusedConv2D, group: 'conv', needs: ['conv2d', 'biasActivation'], make: makeFusedConv2D },
  { kernelName: tf.Conv2DBackpropInput, group: 'conv', needs: ['conv2d'], make: makeBackpropInput },
  { kernelName: tf.Conv2DBackpropFilter, group: 'conv', needs: ['conv2d'], make: makeBackpropFilter },
];
