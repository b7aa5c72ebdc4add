/**
 * Faster kernels for tfjs' `webgpu` backend, measured on an H100 (bench/gpu-README.md):
 *
 * - Conv2DBackpropFilter as im2col + one matrix product. tfjs' own shader runs one
 *   thread per filter element, each looping over the whole batch: 3,072 threads for
 *   DCGAN's first layer, 73% of a DCGAN iteration's GPU time.
 * - Adam's update of one variable in one dispatch, in place (adamUpdateWebGpu): tfjs'
 *   tensor maths take ~14 dispatches and ~8 scalar uploads per variable, and the
 *   host's cost per dispatch, not the GPU, sets the pace of a training iteration.
 * - Uploads through queue.writeBuffer into pooled buffers (patchWebGpuUploads): tfjs
 *   creates a fresh mapped GPU buffer for every tensor it uploads (the real batch, the
 *   noise, every scalar constant: 84-172 new buffers per iteration).
 */
import * as tf from '@tensorflow/tfjs-core';

const BACKEND = 'webgpu';

// ---------------------------------------------------------------------------------------------
// The parts of tfjs-backend-webgpu's WebGPUBackend used here (internal, stable across 4.x).

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

/** A GPUBufferBinding. */
interface GpuBinding {
  buffer: unknown;
  offset?: number;
  size?: number;
}

interface ComputePass {
  setPipeline(pipeline: unknown): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}

interface GpuDevice {
  createShaderModule(descriptor: { code: string }): unknown;
  createComputePipeline(descriptor: object): { getBindGroupLayout(index: number): unknown };
  createBindGroup(descriptor: object): unknown;
}

interface TensorData {
  refCount: number;
  dtype: tf.DataType;
  shape: number[];
  resource?: unknown;
  values?: ArrayLike<number> | null;
}

interface WebGpuBackendLike {
  device: GpuDevice;
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferView): void };
  bufferManager: { acquireBuffer(size: number, usage: number): unknown };
  tensorMap: { get(dataId: object): TensorData | undefined; has(dataId: object): boolean };
  commandQueueOwnedIds: { add(dataId: object): void };
  commandEncoder: { beginComputePass(descriptor: object): ComputePass };
  computePassEncoder: ComputePass | null;
  dispatchCountInPass: number;
  uploadToGPU(dataId: object): void;
  tensorToBinding(tensor: TensorInfo): GpuBinding;
  makeUniforms(uniforms: { type: 'float32' | 'int32' | 'uint32'; data: number[] }[]): GpuBinding;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  runWebGPUProgram(program: object, inputs: TensorInfo[], dtype: tf.DataType, uniforms?: { type: string; data: number[] }[]): TensorInfo;
  disposeData(dataId: object): void;
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter = im2col(x)^T · dy

/**
 * tfjs' program format (webgpu_program.ts): the backend adds the bindings, uniforms
 * (xShape, outShape, size and ours) and helpers (getCoordsFromIndex, getX, setOutputAtIndex).
 * Output [B, OH·OW, KH·KW·CI]: row = output pixel, column = (kh, kw, ci), zero outside x.
 */
class Im2ColProgram {
  variableNames = ['x'];
  uniforms = 'pads : vec2<i32>, strides : vec2<i32>, outWidth : i32, filterWidth : i32, inChannels : i32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey = 'fakeface_im2col_nhwc';

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    const total = outputShape.reduce((a, b) => a * b, 1);
    this.dispatch = [Math.ceil(total / this.workgroupSize[0]), 1, 1];
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let batch = coords[0];
          let pixel = coords[1];
          let column = coords[2];
          let perRow = uniforms.filterWidth * uniforms.inChannels;
          let kh = column / perRow;
          let kw = (column % perRow) / uniforms.inChannels;
          let ch = column % uniforms.inChannels;
          let xRow = (pixel / uniforms.outWidth) * uniforms.strides[0] - uniforms.pads[0] + kh;
          let xCol = (pixel % uniforms.outWidth) * uniforms.strides[1] - uniforms.pads[1] + kw;
          var value = 0.0;
          if (xRow >= 0 && xRow < uniforms.xShape[1] && xCol >= 0 && xCol < uniforms.xShape[2]) {
            value = getX(batch, xRow, xCol, ch);
          }
          setOutputAtIndex(index, value);
        }
      }`;
  }
}

type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: WebGpuBackendLike; attrs: Record<string, unknown> }) => TensorInfo;

function webgpuKernel(name: string): KernelFunc {
  const kernel = tf.getKernel(name, BACKEND);
  if (!kernel) throw new Error(`tfjs-backend-webgpu has no ${name} kernel`);
  return kernel.kernelFunc as unknown as KernelFunc;
}

interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilter({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: WebGpuBackendLike; attrs: Record<string, unknown> }): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
  const conv = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format);
  if (!enabled || format !== 'channelsLast' || conv.dilationHeight !== 1 || conv.dilationWidth !== 1) return original!({ inputs, backend, attrs });
  const pixels = conv.outHeight * conv.outWidth;
  const columns = conv.filterHeight * conv.filterWidth * conv.inChannels;
  const reshape = webgpuKernel('Reshape');
  const cols = backend.runWebGPUProgram(new Im2ColProgram([conv.batchSize, pixels, columns]), [x], 'float32', [
    { type: 'int32', data: [conv.padInfo.top, conv.padInfo.left] },
    { type: 'int32', data: [conv.strideHeight, conv.strideWidth] },
    { type: 'int32', data: [conv.outWidth] },
    { type: 'int32', data: [conv.filterWidth] },
    { type: 'int32', data: [conv.inChannels] },
  ]);
  const a = reshape({ inputs: { x: cols }, backend, attrs: { shape: [1, conv.batchSize * pixels, columns] } });
  const b = reshape({ inputs: { x: dy }, backend, attrs: { shape: [1, conv.batchSize * pixels, conv.outChannels] } });
  const product = webgpuKernel('BatchMatMul')({ inputs: { a, b }, backend, attrs: { transposeA: true, transposeB: false } });
  const result = reshape({ inputs: { x: product }, backend, attrs: { shape: filterShape } });
  for (const t of [cols, a, b, product]) backend.disposeData(t.dataId);
  return result;
}

let original: KernelFunc | undefined;
let enabled = true;

/** Switches the kernels here off (tfjs' own run instead) and on again: for A/B benchmarks. */
export function setWebGpuKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** Registers the kernels above on `webgpu` (once; the backend's own stay as the fallback). */
export function installWebGpuKernels(): void {
  if (original) return;
  const existing = tf.getKernel(tf.Conv2DBackpropFilter, BACKEND);
  if (!existing) return; // tfjs-backend-webgpu not imported: nothing to replace
  original = existing.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel(tf.Conv2DBackpropFilter, BACKEND);
  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: BACKEND, kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc });
}

// ---------------------------------------------------------------------------------------------
// Uploads

const patchedBackends = new WeakSet<object>();
let uploadsEnabled = true;

/** Switches the upload path off (tfjs' own) and on again, apart from the kernels: for A/B benchmarks. */
export function setWebGpuUploadsEnabled(on: boolean): void {
  uploadsEnabled = on;
}

/**
 * Makes the current webgpu backend upload CPU-held tensors with queue.writeBuffer into a
 * buffer from its pool, instead of creating a new mapped buffer each time. Safe: a pooled
 * buffer is never referenced by the commands being recorded (tfjs returns buffers to the
 * pool only once the commands that used them are submitted), and writeBuffer is ordered
 * after everything already submitted.
 */
export function patchWebGpuUploads(): void {
  if (tf.getBackend() !== BACKEND) return;
  const backend = tf.backend() as unknown as WebGpuBackendLike & { uploadToGPU(dataId: object): void };
  if (patchedBackends.has(backend) || typeof backend.queue?.writeBuffer !== 'function') return;
  patchedBackends.add(backend);
  const original = backend.uploadToGPU.bind(backend);
  const usage = GPU_BUFFER_USAGE.STORAGE | GPU_BUFFER_USAGE.COPY_SRC | GPU_BUFFER_USAGE.COPY_DST;
  backend.uploadToGPU = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (!enabled || !uploadsEnabled || !data || data.resource != null || !data.values || !['float32', 'int32', 'bool'].includes(data.dtype)) return original(dataId);
    const count = data.shape.reduce((a, b) => a * b, 1);
    const values = data.dtype === 'float32' ? (data.values instanceof Float32Array ? data.values : Float32Array.from(data.values)) : data.values instanceof Int32Array ? data.values : Int32Array.from(data.values);
    if (values.length !== count || count === 0) return original(dataId);
    const buffer = backend.bufferManager.acquireBuffer(count * 4, usage);
    backend.queue.writeBuffer(buffer, 0, values);
    data.values = null;
    data.resource = buffer;
  };
}

/** GPUBufferUsage's flags (the global exists only once Dawn is loaded). */
const GPU_BUFFER_USAGE = { COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 };

// ---------------------------------------------------------------------------------------------
// Adam, fused and in place

const WORKGROUP = 256;
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** Same arithmetic, in the same order, as tfjs' AdamOptimizer (and the native kernel). */
const ADAM_SHADER = `
struct Params {
  lr_b1_b2_eps : vec4<f32>,
  oneMinus : vec4<f32>,  // 1 - beta1, 1 - beta2, 1 - beta1^t, 1 - beta2^t
  size : u32,
};
@group(0) @binding(0) var<storage, read_write> param : array<f32>;
@group(0) @binding(1) var<storage, read_write> m : array<f32>;
@group(0) @binding(2) var<storage, read_write> v : array<f32>;
@group(0) @binding(3) var<storage, read> grad : array<f32>;
@group(0) @binding(4) var<uniform> p : Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
  let i = id.x + id.y * groups.x * ${WORKGROUP}u;
  if (i >= p.size) { return; }
  let g = grad[i];
  let mi = m[i] * p.lr_b1_b2_eps.y + g * p.oneMinus.x;
  let vi = v[i] * p.lr_b1_b2_eps.z + (g * g) * p.oneMinus.y;
  m[i] = mi;
  v[i] = vi;
  let mHat = mi / p.oneMinus.z;
  let vHat = vi / p.oneMinus.w;
  param[i] = (mHat / (sqrt(vHat) + p.lr_b1_b2_eps.w)) * -p.lr_b1_b2_eps.x + param[i];
}`;

const adamPipelines = new WeakMap<GpuDevice, { getBindGroupLayout(index: number): unknown }>();

export interface AdamStep {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** beta1^t and beta2^t as float32 numbers. */
  accBeta1: number;
  accBeta2: number;
}

/**
 * Updates `value` and its moments in place with one dispatch on the webgpu backend.
 * Returns false (nothing done) when that is not safe: another backend, shared or
 * non-float32 tensors, mismatched sizes. Under tf.profile it runs untimed (it is not a
 * tfjs kernel).
 */
export function adamUpdateWebGpu(value: tf.Tensor, gradient: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamStep): boolean {
  if (!enabled || tf.getBackend() !== BACKEND) return false;
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  if (typeof backend.tensorToBinding !== 'function') return false;
  const tensors = [value, m, v, gradient];
  if (new Set(tensors.map((t) => t.dataId)).size !== 4) return false;
  for (const [index, tensor] of tensors.entries()) {
    const data = backend.tensorMap.get(tensor.dataId);
    if (!data || tensor.dtype !== 'float32' || data.dtype !== 'float32' || tensor.size !== value.size) return false;
    if (index < 3 && data.refCount !== 1) return false;
  }
  if (value.size === 0) return true;

  let pipeline = adamPipelines.get(backend.device);
  if (!pipeline) {
    pipeline = backend.device.createComputePipeline({ layout: 'auto', compute: { module: backend.device.createShaderModule({ code: ADAM_SHADER }), entryPoint: 'main' } });
    adamPipelines.set(backend.device, pipeline);
  }
  for (const tensor of tensors) backend.uploadToGPU(tensor.dataId);
  const uniforms = backend.makeUniforms([
    { type: 'float32', data: [step.learningRate, step.beta1, step.beta2, step.epsilon] },
    { type: 'float32', data: [1 - step.beta1, 1 - step.beta2, Math.fround(1 - step.accBeta1), Math.fround(1 - step.accBeta2)] },
    { type: 'uint32', data: [value.size] },
  ]);
  const info = (t: tf.Tensor): TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
  const bindGroup = backend.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [...tensors.map((t) => backend.tensorToBinding(info(t))), uniforms].map((resource, binding) => ({ binding, resource })),
  });
  for (const tensor of tensors) backend.commandQueueOwnedIds.add(tensor.dataId);
  const groups = Math.ceil(value.size / WORKGROUP);
  const x = Math.min(groups, MAX_WORKGROUPS_PER_DIMENSION);
  backend.ensureCommandEncoderReady();
  backend.computePassEncoder ??= backend.commandEncoder.beginComputePass({});
  backend.computePassEncoder.setPipeline(pipeline);
  backend.computePassEncoder.setBindGroup(0, bindGroup);
  backend.computePassEncoder.dispatchWorkgroups(x, Math.ceil(groups / x));
  backend.dispatchCountInPass++;
  if (tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  return true;
}
