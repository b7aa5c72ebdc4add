/**
 * Native 2-D convolutions for the tfjs cpu backend: Conv2D, FusedConv2D,
 * Conv2DBackpropInput (also conv2dTranspose's forward pass) and
 * Conv2DBackpropFilter, as im2col / col2im + OpenBLAS sgemm
 * (native/fakeface_kernels.c), writing straight into the output tensor; the patch
 * matrix lives in a scratch buffer the addon keeps between calls. NHWC, dilation 1,
 * float32, any strides and 'same' / 'valid' / explicit / numeric padding;
 * everything else (NCHW, dilations, other dtypes) falls back to the JS kernel.
 * Results equal the JS kernels' up to float rounding (sgemm sums in another order).
 * Registered by native.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
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
  native.conv2d(MODE.forward, xv, fv, values, geometry(info));
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
    native.conv2d(MODE.backpropInput, dyv, fv, values, geometry(info));
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
    native.conv2d(MODE.backpropFilter, xv, dyv, values, geometry(info));
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
