/**
 * Native kernels for the tfjs `cpu` backend.
 *
 * The cpu backend keeps every tensor in a plain Float32Array, outside wasm's 4 GB
 * heap, but multiplies matrices in JS at about 1 GFLOP/s and runs its element-wise
 * loops, reductions and convolutions in JS too. `registerNativeKernels('cpu')` swaps
 * its `BatchMatMul` and `_FusedMatMul` kernels for ones that hand those arrays
 * straight to OpenBLAS' sgemm (no copies, no explicit transposes), its element-wise,
 * reduction and batch-norm kernels for C loops (native-kernels-elementwise.ts),
 * its convolutions for im2col + sgemm (native-kernels-conv.ts), which makes the GANs
 * trainable on CPU, and the depthwise convolutions, clip / relu6, bilinear resize and
 * pad of the detection networks (native-kernels-mobile.ts). The addon is optional: it is built by
 * `npm run build:native` (scripts/build-native.mjs) when libopenblas-dev is present,
 * and everything here degrades to `false` / `null` without it.
 *
 * Before the addon loads, openblas-setup.ts picks OpenBLAS' kernels for this CPU
 * (OPENBLAS_CORETYPE) and checks them after.
 *
 * The convolutions run through oneDNN where the addon was built with it and
 * libdnnl.so.2 loads (native-kernels-conv.ts, convolution engines).
 *
 * Environment: FAKEFACE_NO_NATIVE=1 pretends the addon is absent (for comparisons);
 * FAKEFACE_CONV=auto|onednn|im2col picks the convolutions' engine, FAKEFACE_NO_DNNL=1
 * is FAKEFACE_CONV=im2col.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  ACTIVATIONS,
  asCpuBackend,
  float32Values,
  perColumn,
  size,
  stats,
  type CpuBackendLike,
  type KernelArgs,
  type KernelFunc,
  type NativeKernelGroup,
  type NativeKernelSpec,
} from './native-kernels-common.js';
import { CONV_KERNELS } from './native-kernels-conv.js';
import { getConvEngine, type ConvEngine } from './native-kernels-conv.js';
export { clearConvTuning, convEngineStats, defaultConvEngine, getConvEngine, setConvEngine, type ConvEngine, type ConvEngineStats } from './native-kernels-conv.js';
import { ELEMENTWISE_KERNELS } from './native-kernels-elementwise.js';
import { MOBILE_KERNELS } from './native-kernels-mobile.js';
import { prepareOpenBlasCore, verifyLoadedCore } from './openblas-setup.js';

export type { NativeKernelGroup } from './native-kernels-common.js';

/** The addon's functions (native/fakeface_blas.c). Matrices are row-major. */
export interface NativeAddon {
  /** C = alpha * op(A) op(B) + beta * C on the views' memory, in place. */
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void;
  /** One sgemm per offset triple [aOffset, bOffset, cOffset] (elements) in `offsets`. */
  sgemmBatched(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
    offsets: Float64Array,
  ): void;
  /** C[r, j] = act(C[r, j] + bias[j]) in place; bias / prelu weights of length 1 or cols. */
  biasActivation(
    C: Float32Array, rows: number, cols: number, bias: Float32Array | null, activation: number,
    leakyreluAlpha?: number, preluWeights?: Float32Array | null,
  ): void;
  /** tf.train.adam's update of param, m and v in place; accBeta1/2 = beta^t as tfjs accumulates them. */
  adamUpdate(
    param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, lr: number,
    beta1: number, beta2: number, epsilon: number, accBeta1: number, accBeta2: number,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
  blasInfo(): string;
  retainFreedMemory(): boolean;
  /**
   * out[i] = a[.] op b[.] over the row-major output of shape dims; an operand's stride
   * (elements) is 0 along axes it broadcasts. op: 0 add, 1 sub, 2 mul, 3 div (out a
   * Float32Array); 10 greater, 11 greaterEqual, 12 less, 13 lessEqual (out a Uint8Array).
   */
  binaryOp(op: number, out: Float32Array | Uint8Array, a: Float32Array, b: Float32Array, dims: Float64Array, aStrides: Float64Array, bStrides: Float64Array): void;
  /** out[i] = f(x[i]); op: 0 tanh, 1 sigmoid, 2 relu, 3 leakyrelu(alpha), 4 step(alpha), 5 square. */
  unaryOp(op: number, out: Float32Array, x: Float32Array, alpha?: number): void;
  /** out[i] = condition[i] === 1 ? t[i] : e[i]; all of one length. */
  select(out: Float32Array, condition: Uint8Array, t: Float32Array, e: Float32Array): void;
  /** x as [outer, reduce, inner]: out[o, i] = sum over k of x[o, k, i] (each divided by divisor first unless it is 0), in double. */
  reduceSum(out: Float32Array, x: Float32Array, outer: number, reduce: number, inner: number, divisor: number): void;
  /** tfjs' FusedBatchNorm over the last axis (channels); parameters of length 1 or channels. */
  batchNorm(
    out: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array,
    scale: Float32Array | null, offset: Float32Array | null, epsilon: number, channels: number,
  ): void;
  /**
   * NHWC convolution, dilation 1, via im2col + sgemm. mode 0: (x, filter) -> y;
   * 1: (dy, filter) -> dx; 2: (x, dy) -> dfilter. geometry: [B, H, W, Cin, OH, OW,
   * Cout, KH, KW, strideH, strideW, padTop, padLeft]; im2col runs in chunks of whole
   * images of at most chunkFloats floats (default 2^24), or one image.
   */
  conv2d(mode: number, a: Float32Array, b: Float32Array, out: Float32Array, geometry: Float64Array, chunkFloats?: number): void;
  /** Frees conv2d's im2col scratch (kept between calls so its pages stay mapped). */
  releaseScratch(): void;
  /**
   * NHWC depthwise convolution, dilation 1 (native/fakeface_mobile.c): x [B, H, W, C],
   * filter [KH, KW, C, M] -> out [B, OH, OW, C * M]. geometry: [B, H, W, C, M, OH, OW,
   * KH, KW, strideH, strideW, padTop, padLeft].
   */
  depthwiseConv2d(x: Float32Array, filter: Float32Array, out: Float32Array, geometry: Float64Array): void;
  /** out[i] = x > hi ? hi : x < lo ? lo : x (x <= lo with lowInclusive, as relu6); NaN stays NaN. */
  clip(out: Float32Array, x: Float32Array, lo: number, hi: number, lowInclusive?: boolean): void;
  /** tfjs' ResizeBilinear, NHWC; geometry: [B, H, W, C, outH, outW, alignCorners 0|1, halfPixelCenters 0|1]. */
  resizeBilinear(out: Float32Array, x: Float32Array, geometry: Float64Array): void;
  /**
   * oneDNN (native/fakeface_dnnl.c; absent from addons built from older sources):
   * whether the addon was built with its headers and libdnnl.so.2 loads, and which.
   */
  dnnlInfo?(): OneDnnInfo;
  /** conv2d's modes and geometry through oneDNN; false (nothing written) where it cannot run it. */
  dnnlConv2d?(mode: number, a: Float32Array, b: Float32Array, out: Float32Array, geometry: Float64Array): boolean;
  /** The oneDNN implementation chosen for that convolution (e.g. "jit:avx2"), or null. */
  dnnlConvImpl?(mode: number, geometry: Float64Array): string | null;
  /** Frees the cached oneDNN primitives. */
  dnnlRelease?(): void;
}

/** What the addon says of oneDNN. */
export interface OneDnnInfo {
  available: boolean;
  /** e.g. "2.6.3" */
  version?: string;
  /** The instruction set its kernels use here, e.g. "avx2", "avx512_core_amx". */
  isa?: string;
  /** Its CPU threading runtime, e.g. "OpenMP". */
  runtime?: string;
  /** Why it is not available. */
  reason?: string;
}

const ADDON_FILE = join('native', 'build', 'Release', 'fakeface_blas.node');
let addon: NativeAddon | null | undefined;

/** The compiled addon, or null when it is not built (or FAKEFACE_NO_NATIVE=1). Cached. */
export function loadNativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.FAKEFACE_NO_NATIVE === '1') return addon;
  const require = createRequire(import.meta.url);
  // src/engine/native.ts and dist/engine/native.js both sit two levels below the root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = dirname(dir)) {
    const candidate = join(dir, ADDON_FILE);
    if (!existsSync(candidate)) continue;
    // OpenBLAS picks its kernels when it loads: choose them first (openblas-setup.ts).
    prepareOpenBlasCore(candidate);
    try {
      addon = require(candidate) as NativeAddon;
    } catch {
      addon = null; // e.g. libopenblas.so.0 removed after the build
    }
    // Wrong products are worse than slow ones: without a passing check, no native kernels.
    if (addon && verifyLoadedCore(addon, candidate).check?.ok === false) addon = null;
    break;
  }
  return addon;
}

/**
 * oneDNN as the addon sees it, plus the convolution engine in effect; null without
 * the addon. An addon built from older sources reports it unavailable.
 */
export function oneDnnStatus(): (OneDnnInfo & { engine: ConvEngine }) | null {
  const native = loadNativeAddon();
  if (!native) return null;
  const info = native.dnnlInfo?.() ?? { available: false, reason: 'the addon predates oneDNN support (npm run build:native)' };
  return { ...info, engine: getConvEngine() };
}

/**
 * The addon loads and has the kernels of the detection networks (depthwise conv,
 * clip / relu6, bilinear resize; native-kernels-mobile.ts): an addon built from older
 * sources lacks them, and detection is then faster on wasm.
 */
export function nativeDetectionKernelsAvailable(): boolean {
  const native = loadNativeAddon();
  return native !== null && (['depthwiseConv2d', 'clip', 'resizeBilinear', 'conv2d', 'sgemm'] as const).every((name) => typeof native[name] === 'function');
}

export function nativeBlasAvailable(): boolean {
  return loadNativeAddon() !== null;
}

/** "OpenBLAS 0.3.21 ... core Zen; 2 threads", or null without the addon. */
export function nativeBlasInfo(): string | null {
  return loadNativeAddon()?.blasInfo() ?? null;
}

/** Threads for sgemm and the fused loops (default: OpenBLAS' choice, all cores). */
export function setNativeThreads(n: number): boolean {
  const native = loadNativeAddon();
  if (!native) return false;
  native.setThreads(n);
  return true;
}

/**
 * Keep freed memory in glibc's heap instead of returning each large block to the OS.
 * On VMs where first-touched pages are slow (~0.5 GB/s here), every fresh tensor of a
 * training step otherwise pays that price again. Process-wide and irreversible (RSS
 * stays at its peak); returns false without the addon or off glibc.
 */
export function retainFreedMemory(): boolean {
  return loadNativeAddon()?.retainFreedMemory() ?? false;
}

// ---------------------------------------------------------------------------
// Kernels

/** numpy-style broadcast of two batch shapes, or null when incompatible. */
function broadcastShape(a: number[], b: number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element offset of each output batch's matrix in a (broadcast) operand. */
function broadcastOffsets(batchShape: number[], outBatch: number[], matrixSize: number): Float64Array {
  const count = size(outBatch);
  const offsets = new Float64Array(count);
  const rank = outBatch.length;
  const shape = Array.from({ length: rank }, (_, i) => batchShape[batchShape.length - rank + i] ?? 1);
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = matrixSize; i >= 0; i--) {
    strides[i] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  for (let index = 0; index < count; index++) {
    let rest = index;
    let offset = 0;
    for (let d = rank - 1; d >= 0; d--) {
      offset += (rest % outBatch[d]) * strides[d];
      rest = Math.floor(rest / outBatch[d]);
    }
    offsets[index] = offset;
  }
  return offsets;
}

/**
 * op(a) x op(b) with OpenBLAS into a new Float32Array, with tfjs' BatchMatMul shapes
 * (outer dims broadcast). Null when the inputs are not something it handles (other
 * dtypes, mismatched shapes): the caller then runs the original kernel, which raises
 * tfjs' own errors.
 */
function nativeMatMul(
  native: NativeAddon, backend: CpuBackendLike, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean,
): { shape: number[]; values: Float32Array; rows: number; cols: number } | null {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank < 2 || bRank < 2) return null;
  const aValues = float32Values(backend, a);
  const bValues = float32Values(backend, b);
  if (!aValues || !bValues) return null;
  const [aRows, aCols] = [a.shape[aRank - 2], a.shape[aRank - 1]];
  const [bRows, bCols] = [b.shape[bRank - 2], b.shape[bRank - 1]];
  const M = transposeA ? aCols : aRows;
  const K = transposeA ? aRows : aCols;
  const N = transposeB ? bRows : bCols;
  if ((transposeB ? bCols : bRows) !== K) return null;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = broadcastShape(aBatch, bBatch);
  if (!outBatch) return null;
  const batches = size(outBatch);
  const shape = [...outBatch, M, N];
  const values = new Float32Array(batches * M * N);
  const rows = batches * M;
  if (values.length === 0 || K === 0) return { shape, values, rows, cols: N };

  const lda = aCols;
  const ldb = bCols;
  if (batches === 1) {
    native.sgemm(transposeA, transposeB, M, N, K, 1, aValues, lda, bValues, ldb, 0, values, N);
  } else if (size(bBatch) === 1 && !transposeA && size(aBatch) === batches) {
    // A's batches stacked row-wise against one shared B: a single taller product.
    native.sgemm(false, transposeB, rows, N, K, 1, aValues, lda, bValues, ldb, 0, values, N);
  } else {
    const aOffsets = broadcastOffsets(aBatch, outBatch, aRows * aCols);
    const bOffsets = broadcastOffsets(bBatch, outBatch, bRows * bCols);
    const offsets = new Float64Array(3 * batches);
    for (let i = 0; i < batches; i++) {
      offsets[3 * i] = aOffsets[i];
      offsets[3 * i + 1] = bOffsets[i];
      offsets[3 * i + 2] = i * M * N;
    }
    native.sgemmBatched(transposeA, transposeB, M, N, K, 1, aValues, lda, bValues, ldb, 0, values, N, offsets);
  }
  return { shape, values, rows, cols: N };
}

export function nativeKernelStats(): { native: number; fallback: number } {
  return { ...stats };
}

function makeBatchMatMul(native: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { a, b } = args.inputs;
    if (!backend || !a || !b) return fallback(args);
    const product = nativeMatMul(native, backend, a, b, Boolean(args.attrs?.transposeA), Boolean(args.attrs?.transposeB));
    if (!product) return fallback(args);
    stats.native++;
    return backend.makeTensorInfo(product.shape, 'float32', product.values);
  };
}

function makeFusedMatMul(native: NativeAddon, fallback: KernelFunc, backendName: string): KernelFunc {
  return (args) => {
    const backend = asCpuBackend(args.backend);
    const { a, b, bias, preluActivationWeights: prelu } = args.inputs;
    const attrs = args.attrs ?? {};
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    const code = ACTIVATIONS[activation];
    if (!backend || !a || !b || code === undefined) return fallback(args);
    if (bias && bias.dtype !== 'float32') return fallback(args);
    if (activation === 'prelu' && (!prelu || prelu.dtype !== 'float32')) return fallback(args);
    const product = nativeMatMul(native, backend, a, b, Boolean(attrs.transposeA), Boolean(attrs.transposeB));
    if (!product) return fallback(args);
    stats.native++;
    const { rows, cols, values } = product;
    const outRank = product.shape.length;
    const alpha = typeof attrs.leakyreluAlpha === 'number' ? attrs.leakyreluAlpha : 0.2;

    const biasValues = bias ? perColumn(backend, bias, cols, outRank) : null;
    const preluValues = activation === 'prelu' && prelu ? perColumn(backend, prelu, cols, outRank) : null;
    if ((!bias || biasValues) && (activation !== 'prelu' || preluValues)) {
      if (biasValues || code !== ACTIVATIONS.linear) native.biasActivation(values, rows, cols, biasValues, code, alpha, preluValues);
      return backend.makeTensorInfo(product.shape, 'float32', values);
    }

    // A bias or prelu weights that broadcast along other axes: run tfjs' own Add and
    // activation kernels on the native product, as the original _FusedMatMul does.
    const run = (name: string, inputs: KernelArgs['inputs'], kernelAttrs?: Record<string, unknown>): tf.TensorInfo =>
      tf.getKernel(name, backendName).kernelFunc({ inputs, backend: args.backend, attrs: kernelAttrs } as never) as tf.TensorInfo;
    let current = backend.makeTensorInfo(product.shape, 'float32', values);
    if (bias) {
      const sum = run('Add', { a: current, b: bias });
      backend.disposeIntermediateTensorInfo(current);
      current = sum;
    }
    if (activation !== 'linear') {
      const kernelName = ACTIVATION_KERNELS[activation];
      const inputs = activation === 'prelu' ? { x: current, alpha: prelu } : { x: current };
      const activated = run(kernelName, inputs, activation === 'leakyrelu' ? { alpha } : undefined);
      backend.disposeIntermediateTensorInfo(current);
      current = activated;
    }
    return current;
  };
}

/** Kernels that take over an activation when a bias / prelu shape is not per column. */
const ACTIVATION_KERNELS: Record<string, string> = {
  relu: 'Relu', relu6: 'Relu6', elu: 'Elu', leakyrelu: 'LeakyRelu', sigmoid: 'Sigmoid', prelu: 'Prelu',
};

const MATMUL_KERNELS: NativeKernelSpec[] = [
  { kernelName: tf.BatchMatMul, group: 'matmul', needs: ['sgemm', 'sgemmBatched'], make: (native, fallback) => makeBatchMatMul(native, fallback) },
  { kernelName: tf._FusedMatMul, group: 'matmul', needs: ['sgemm', 'sgemmBatched', 'biasActivation'], make: makeFusedMatMul },
];

/** Every replacement, in registration order. */
const ALL_KERNELS: NativeKernelSpec[] = [...MATMUL_KERNELS, ...ELEMENTWISE_KERNELS, ...CONV_KERNELS, ...MOBILE_KERNELS];

/** Every group registerNativeKernels installs by default. */
export const NATIVE_KERNEL_GROUPS: readonly NativeKernelGroup[] = ['matmul', 'elementwise', 'conv'];

/** Original kernels per backend, kept to fall back to and to restore, and the groups installed. */
const replaced = new Map<string, { originals: tf.KernelConfig[]; groups: string }>();

/**
 * Replace kernels of the `cpu` backend with native ones: `matmul` (BatchMatMul,
 * _FusedMatMul through OpenBLAS), `elementwise` (Add, Sub, Multiply, RealDiv,
 * Greater(Equal), Less(Equal), Tanh, Sigmoid, Relu, LeakyRelu, Step, Square, Select,
 * Sum, Mean, FusedBatchNorm, Tile, ClipByValue, Relu6, ResizeBilinear, PadV2) and
 * `conv` (Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter through
 * im2col + sgemm or oneDNN; DepthwiseConv2dNative, FusedDepthwiseConv2D in C,
 * native-kernels-mobile.ts). Each falls back to
 * the original kernel for what it does not handle (other dtypes, layouts, shapes);
 * kernels whose addon functions are missing (an addon built from older sources) are
 * left alone.
 * Call after the cpu backend is imported (its import registers the kernels this
 * replaces). False, with nothing registered, when the addon is not built, the backend
 * is not `cpu`, or its kernels are not registered yet. Idempotent; calling it with
 * other groups swaps the set.
 */
export function registerNativeKernels(backendName: string, groups: readonly NativeKernelGroup[] = NATIVE_KERNEL_GROUPS): boolean {
  const native = loadNativeAddon();
  if (!native || backendName !== 'cpu') return false;
  const key = [...new Set(groups)].sort().join(',');
  const current = replaced.get(backendName);
  if (current?.groups === key) return true;
  if (current) restoreOriginalKernels(backendName);
  // An addon built from older sources lacks the newer functions: skip what needs them.
  const specs = ALL_KERNELS.filter((spec) => groups.includes(spec.group) && spec.needs.every((name) => typeof native[name] === 'function'));
  const originals = specs.map((spec) => tf.getKernel(spec.kernelName, backendName));
  if (originals.some((config) => !config)) return false;
  specs.forEach((spec, i) => {
    const original = originals[i].kernelFunc as unknown as KernelFunc;
    const fallback: KernelFunc = (args) => (stats.fallback++, original(args));
    const kernelFunc = spec.make(native, fallback, backendName);
    tf.unregisterKernel(spec.kernelName, backendName);
    tf.registerKernel({ kernelName: spec.kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  });
  replaced.set(backendName, { originals, groups: key });
  return true;
}

/** Put the backend's original kernels back (for comparisons and tests). */
export function restoreOriginalKernels(backendName: string): void {
  const current = replaced.get(backendName);
  if (!current) return;
  for (const config of current.originals) {
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
  }
  replaced.delete(backendName);
}

/** Whether registerNativeKernels(backendName) is in effect. */
export function nativeKernelsRegistered(backendName: string): boolean {
  return replaced.has(backendName);
}
