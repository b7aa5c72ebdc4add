/**
 * Trainable convolutions on the wasm backend.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` kernel, so no conv2d or
 * conv2dTranspose weight can get a gradient there, and its `Conv2DBackpropInput`
 * (conv2dTranspose's forward pass) is a scalar C++ loop at a few GFLOP/s while its
 * `Conv2D` goes through XNNPACK. `installWasmConvGradient()` registers both, built
 * from wasm kernels that are fast:
 *
 *   filter gradient: dW[kh, kw] = dy^T window(kh, kw), the input seen by tap
 *     (kh, kw): the padded input is split once into its stride phases (two
 *     transposes), each tap's window is then a plain Slice of one phase, and one
 *     untransposed BatchMatMul (XNNPACK) per tap multiplies it with dy transposed
 *     once; the taps are concatenated and transposed to [KH, KW, Cin, Cout].
 *   input gradient: sub-pixel convolution: each of the stride x stride output
 *     phases is one stride-1 XNNPACK Conv2D of dy with a sub-filter, and the phases
 *     are interleaved (two transposes).
 *
 * (The generic wasm StridedSlice and rank-6 Transpose are slow loops; both are
 * avoided.) NHWC and NCHW (through transposes), any strides and padding, dilation 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Shape4 = [number, number, number, number];

interface WasmBackendLike {
  disposeData(dataId: tf.DataId): boolean;
}

/** How many calls each kernel served since install (for tests and benchmarks). */
export const wasmConvRoutes = { backpropFilter: 0, backpropInput: 0, backpropInputOriginal: 0 };

const INSTALLED = Symbol.for('fakeface.wasmConvGradient');

/** A view of the same data with another shape (no new reference, as wasm Reshape does). */
function view(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

function kernel(name: string): tf.KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no ${name} kernel`);
  return config.kernelFunc;
}

/** Runs wasm kernels, remembering their outputs for disposal. */
class Scratch {
  private readonly temporaries: tf.TensorInfo[] = [];
  constructor(private readonly backend: unknown) {}

  run(name: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs?: tf.NamedAttrMap): tf.TensorInfo {
    const out = kernel(name)({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend as never, attrs }) as tf.TensorInfo;
    this.temporaries.push(out);
    return out;
  }

  /** Keeps `out` (the kernel's result) and disposes everything else. */
  finish(out: tf.TensorInfo): tf.TensorInfo {
    const wasm = this.backend as WasmBackendLike;
    for (const t of this.temporaries) if (t.dataId !== out.dataId) wasm.disposeData(t.dataId);
    return out;
  }

  dispose(): void {
    const wasm = this.backend as WasmBackendLike;
    for (const t of this.temporaries) wasm.disposeData(t.dataId);
  }
}

function convInfo(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap) {
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4, filterShape as Shape4,
    attrs.strides as number | [number, number], 1,
    attrs.pad as Parameters<typeof tf.backend_util.computeConv2DInfo>[4],
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false, 'channelsLast',
  );
}

const toNhwc = (shape: number[]) => [shape[0], shape[2], shape[3], shape[1]];

/**
 * x [B, sh*Hq, sw*Wq, C] split into its stride phases: [sh*sw*B, Hq, Wq, C], phase
 * (rh, rw) first, holding x[b, hq*sh + rh, wq*sw + rw]. Two low-rank transposes
 * (the wasm Transpose of rank 6 is a slow generic loop).
 */
function splitPhases(scratch: Scratch, x: tf.TensorInfo, B: number, hq: number, wq: number, c: number, sh: number, sw: number): tf.TensorInfo {
  let out = x;
  if (sh > 1) out = scratch.run(tf.Transpose, { x: view(out, [B * hq, sh, wq * sw * c]) }, { perm: [1, 0, 2] }); // [sh, B, Hq, Wq, sw, C]
  if (sw > 1) out = scratch.run(tf.Transpose, { x: view(out, [sh, B * hq * wq, sw, c]) }, { perm: [0, 2, 1, 3] }); // [sh, sw, B, Hq, Wq, C]
  return view(out, [sh * sw * B, hq, wq, c]);
}

/** The inverse: [sh*sw*B, T, Tw, C] with phase (rh, rw) first -> [B, T*sh, Tw*sw, C]. */
function interleavePhases(scratch: Scratch, x: tf.TensorInfo, B: number, t: number, tw: number, c: number, sh: number, sw: number): tf.TensorInfo {
  let out = x;
  if (sw > 1) out = scratch.run(tf.Transpose, { x: view(out, [sh, sw, B * t * tw, c]) }, { perm: [0, 2, 1, 3] }); // [sh, B, T, Tw, sw, C]
  if (sh > 1) out = scratch.run(tf.Transpose, { x: view(out, [sh, B * t, tw * sw * c]) }, { perm: [1, 0, 2] }); // [B, T, sh, Tw, sw, C]
  return view(out, [B, t * sh, tw * sw, c]);
}

const SLICE_MASKS = { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 };

/** Conv2DBackpropFilter: dW [KH, KW, Cin, Cout] from x and dy. */
export function conv2dBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs = {} } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const filterShape = attrs.filterShape as number[];
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter on wasm supports float32 only');
  const scratch = new Scratch(backend);
  try {
    const nchw = attrs.dataFormat === 'NCHW';
    const xh = nchw ? scratch.run(tf.Transpose, { x }, { perm: [0, 2, 3, 1] }) : x;
    const dyh = nchw ? scratch.run(tf.Transpose, { x: dy }, { perm: [0, 2, 3, 1] }) : dy;
    const info = convInfo(nchw ? toNhwc(x.shape) : x.shape, filterShape, attrs);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout } = info;
    const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    const rows = B * oh * ow;
    // The padded input every tap reads, rounded up to whole stride phases.
    const hq = Math.ceil(((oh - 1) * sh + kh) / sh);
    const wq = Math.ceil(((ow - 1) * sw + kw) / sw);
    const usedH = Math.min(H, hq * sh - top);
    const usedW = Math.min(W, wq * sw - left);
    if (rows === 0 || cin * cout * kh * kw === 0 || usedH <= 0 || usedW <= 0) {
      wasmConvRoutes.backpropFilter++;
      return scratch.finish(scratch.run(tf.Fill, {}, { shape: [kh, kw, cin, cout], value: 0, dtype: 'float32' }));
    }
    let padded = xh;
    if (usedH < H || usedW < W) padded = scratch.run(tf.Slice, { x: padded }, { begin: [0, 0, 0, 0], size: [B, usedH, usedW, cin] });
    const bottom = hq * sh - top - usedH;
    const right = wq * sw - left - usedW;
    if (top || bottom || left || right) {
      padded = scratch.run(tf.PadV2, { x: padded }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
    }
    const phases = splitPhases(scratch, padded, B, hq, wq, cin, sh, sw);
    const dyT = scratch.run(tf.Transpose, { x: view(dyh, [rows, cout]) }, { perm: [1, 0] }); // [Cout, rows]
    // dW[i, j] = dy^T window(i, j); window(i, j)[b, oh, ow] = x[b, oh*sh + i, ow*sw + j].
    const taps: tf.TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const phase = (i % sh) * sw + (j % sw);
        const window = scratch.run(tf.Slice, { x: phases }, { begin: [phase * B, Math.floor(i / sh), Math.floor(j / sw), 0], size: [B, oh, ow, cin] });
        const tap = scratch.run(tf.BatchMatMul, { a: view(dyT, [1, cout, rows]), b: view(window, [1, rows, cin]) }, { transposeA: false, transposeB: false });
        taps.push(view(tap, [1, cout, cin]));
      }
    }
    const stacked = taps.length === 1 ? taps[0] : scratch.run(tf.Concat, taps, { axis: 0 }); // [KH*KW, Cout, Cin]
    const out = scratch.run(tf.Transpose, { x: view(stacked, [kh * kw, cout, cin]) }, { perm: [0, 2, 1] });
    wasmConvRoutes.backpropFilter++;
    return view(scratch.finish(out), [kh, kw, cin, cout]);
  } catch (error) {
    scratch.dispose();
    throw error;
  }
}

interface WasmHeapBackend {
  readSync(dataId: tf.DataId): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * Conv2DBackpropInput (conv2dTranspose's forward pass) as sub-pixel convolutions:
 * the output rows i with (i + top) % sh = rh only meet filter rows rh, rh + sh, ...,
 * so each of the sh x sw output phases is one stride-1 XNNPACK conv2d of dy with that
 * phase's sub-filter (rotated 180 degrees, channels swapped); the phases are then
 * interleaved. No multiplications by inserted zeros. Null when there is nothing to
 * compute (the original kernel then runs).
 */
export function conv2dBackpropInputWasm(args: KernelArgs): tf.TensorInfo | null {
  const { inputs, backend, attrs = {} } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const inputShape = attrs.inputShape as number[];
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const nchw = attrs.dataFormat === 'NCHW';
  const info = convInfo(nchw ? toNhwc(inputShape) : inputShape, filter.shape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: cin, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  if (B * oh * ow * H * W * cin * cout * kh * kw === 0) return null;
  const heap = backend as unknown as WasmHeapBackend;
  const scratch = new Scratch(backend);
  try {
    const dyh = nchw ? scratch.run(tf.Transpose, { x: dy }, { perm: [0, 2, 3, 1] }) : dy; // [B, OH, OW, Cout]
    // Interleaved row u holds dx row u - u0 and phase rows t = tlo .. tlo + T - 1.
    const tlo = Math.floor(top / sh);
    const u0 = top - tlo * sh;
    const t = Math.ceil((u0 + H) / sh);
    const tloW = Math.floor(left / sw);
    const v0 = left - tloW * sw;
    const tw = Math.ceil((v0 + W) / sw);
    const w = heap.readSync(filter.dataId); // [KH, KW, Cin, Cout]
    const outputs: tf.TensorInfo[] = [];
    for (let rh = 0; rh < sh; rh++) {
      for (let rw = 0; rw < sw; rw++) {
        const mh = Math.max(0, Math.ceil((kh - rh) / sh));
        const mw = Math.max(0, Math.ceil((kw - rw) / sw));
        // dy rows [dStart, dStart + T + mh - 1) feed this phase; outside dy they are 0.
        const dStart = tlo - mh + 1;
        const dStartW = tloW - mw + 1;
        const r0 = Math.max(0, dStart);
        const r1 = Math.min(oh, dStart + t + mh - 1);
        const c0 = Math.max(0, dStartW);
        const c1 = Math.min(ow, dStartW + tw + mw - 1);
        if (mh === 0 || mw === 0 || r1 <= r0 || c1 <= c0) {
          outputs.push(scratch.run(tf.Fill, {}, { shape: [B, t, tw, cin], value: 0, dtype: 'float32' }));
          continue;
        }
        const cropped = r0 > 0 || c0 > 0 || r1 < oh || c1 < ow
          ? scratch.run(tf.Slice, { x: dyh }, { begin: [0, r0, c0, 0], size: [B, r1 - r0, c1 - c0, cout] })
          : dyh;
        // Sub-filter f[a, b, co, ci] = W[rh + sh*(mh-1-a), rw + sw*(mw-1-b), ci, co].
        const sub = scratch.run(tf.Fill, {}, { shape: [mh, mw, cout, cin], value: 0, dtype: 'float32' });
        const subValues = heap.typedArrayFromHeap(sub);
        for (let a = 0; a < mh; a++) {
          for (let b = 0; b < mw; b++) {
            const src = ((rh + sh * (mh - 1 - a)) * kw + (rw + sw * (mw - 1 - b))) * cin * cout;
            const dst = (a * mw + b) * cout * cin;
            for (let ci = 0; ci < cin; ci++) {
              for (let co = 0; co < cout; co++) subValues[dst + co * cin + ci] = w[src + ci * cout + co];
            }
          }
        }
        outputs.push(scratch.run(tf.Conv2D, { x: cropped, filter: sub }, {
          strides: [1, 1],
          pad: [[0, 0], [r0 - dStart, dStart + t + mh - 1 - r1], [c0 - dStartW, dStartW + tw + mw - 1 - c1], [0, 0]],
          dataFormat: 'NHWC',
          dilations: [1, 1],
        }));
      }
    }
    const stacked = outputs.length === 1 ? outputs[0] : scratch.run(tf.Concat, outputs, { axis: 0 });
    let dx = interleavePhases(scratch, stacked, B, t, tw, cin, sh, sw); // [B, T*sh, Tw*sw, Cin]
    if (u0 > 0 || v0 > 0 || t * sh > H || tw * sw > W) dx = scratch.run(tf.Slice, { x: dx }, { begin: [0, u0, v0, 0], size: [B, H, W, cin] });
    if (nchw) dx = scratch.run(tf.Transpose, { x: dx }, { perm: [0, 3, 1, 2] });
    wasmConvRoutes.backpropInput++;
    return scratch.finish(dx);
  } catch (error) {
    scratch.dispose();
    throw error;
  }
}

/**
 * Registers `Conv2DBackpropFilter` (missing in tfjs-backend-wasm) and a faster
 * `Conv2DBackpropInput` for the wasm backend, so conv nets train there. Idempotent;
 * call before or after the wasm backend starts.
 */
export function installWasmConvGradient(): void {
  const existing = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') as (tf.KernelConfig & { [INSTALLED]?: boolean }) | undefined;
  if (existing?.[INSTALLED]) return;
  if (existing) tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
  const filterConfig: tf.KernelConfig & { [INSTALLED]?: boolean } = {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilterWasm as unknown as tf.KernelFunc,
  };
  filterConfig[INSTALLED] = true;
  tf.registerKernel(filterConfig);

  const original = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  if (original) {
    tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
    const inputConfig: tf.KernelConfig & { [INSTALLED]?: tf.KernelConfig } = {
      ...original,
      kernelFunc: (args) => {
        const out = conv2dBackpropInputWasm(args);
        if (out) return out;
        wasmConvRoutes.backpropInputOriginal++;
        return original.kernelFunc(args);
      },
    };
    inputConfig[INSTALLED] = original;
    tf.registerKernel(inputConfig);
  }
}

/** Removes what installWasmConvGradient() registered (for comparisons and tests). */
export function uninstallWasmConvGradient(): void {
  const filter = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') as (tf.KernelConfig & { [INSTALLED]?: boolean }) | undefined;
  if (filter?.[INSTALLED]) tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
  const input = tf.getKernel(tf.Conv2DBackpropInput, 'wasm') as (tf.KernelConfig & { [INSTALLED]?: tf.KernelConfig }) | undefined;
  const original = input?.[INSTALLED];
  if (original) {
    tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
    tf.registerKernel(original);
  }
}
