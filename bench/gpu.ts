/**
 * GPU benchmark: fakeface's training iteration on TensorFlow.js' `webgpu` backend
 * (Dawn, from the optional `webgpu` npm package) on the device machine's H100.
 * Prepared for ONE short device run: it measures everything in one process, prints
 * one JSON object and writes it to $OUT/gpu-bench.json after every section (what
 * was measured survives a timeout). See bench/gpu-README.md.
 *
 *   npm install   (optional dependencies: webgpu 0.6.2, @tensorflow/tfjs-backend-webgpu 4.22.0)
 *   bash ../shared/gpu/prepare.sh
 *   npx esbuild bench/gpu.ts --bundle --platform=node --format=esm --outfile=.gpu/bundle.mjs \
 *     --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
 *   device run (carry .gpu):  bash .gpu/run.sh node .gpu/bundle.mjs
 *
 * What it measures, for the paper's MLP GAN (`model2`: 120x120, batch 256) and
 * `dcgan64` (batch 64), with the project's models, GanStepper and fused Adam:
 * - ms/iteration (3 burn-in, 10 timed) in several modes: one awaited `data()` readback of
 *   the metrics per iteration ("readback", the headline), GanStepper.stepAsync as the
 *   trainer calls it, the same with fakeface's webgpu kernels and Sum/Mean gradients
 *   switched off ("stock tfjs kernels": the A/B of src/engine/webgpu-kernels.ts and
 *   gradients.ts; and with the gradients kept), without any per-iteration
 *   readback ("no-readback": the queue is drained once at the end), and (extras) with
 *   the real batch kept on the GPU, G.predict over the whole batch, tf.train.adam;
 * - per iteration: JS time to issue the work vs time waiting for the GPU;
 * - shader pipelines compiled during timed iterations (recompiles);
 * - a tf.profile of one iteration with GPU timestamp queries: kernel time by kernel
 *   name, by WebGPU program, and by (kernel, shapes) with GFLOP/s of the matmuls;
 * - the backend's flags (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE, WEBGPU_CPU_FORWARD,
 *   WEBGPU_MATMUL_PROGRAM_TYPE, WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL,
 *   WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE, WEBGPU_CONV_SEPARATE_IM2COL_SHADER) varied one
 *   at a time, ms/iteration for each;
 * - matMul TFLOP/s: 4096^3 and the MLP GAN's own largest shapes, per matmul program.
 *
 * Environment:
 *   DAWN_NODE                     path of dawn.node (run.sh sets it; default: node_modules/webgpu)
 *   FAKEFACE_GPU_BENCH_BACKEND    webgpu (default) | cpu (smoke test of the bench itself, no GPU)
 *   FAKEFACE_GPU_BENCH_TINY=1     tiny models and batches (smoke test)
 *   FAKEFACE_GPU_DAWN_FLAGS       extra dawn.node options, ';'-separated (e.g. backend=null)
 *   FAKEFACE_GPU_DAWN_ENABLE      extra Dawn toggles to enable, ','-separated (e.g. skip_validation)
 *   FAKEFACE_GPU_BENCH_QUICK=1    only the headline modes and the profiles (no flag variants)
 *   FAKEFACE_GPU_BENCH_NO_EXTRA=1 skip the diagnostic modes (resident batch, whole-batch predict, ...)
 *   FAKEFACE_GPU_BENCH_SECTIONS   run only these sections, ','-separated: fusedAdamCheck,matmul,mlp,dcgan
 *   FAKEFACE_GPU_BENCH_MODES      run only these timing modes, ';'-separated (e.g. readback; for node --cpu-prof)
 *   FAKEFACE_GPU_BENCH_VARIANTS   run only these flag variants, ';'-separated (labels as in MLP_VARIANTS / DCGAN_VARIANTS)
 *   FAKEFACE_GPU_BENCH_TAG        suffix of the output file: gpu-bench-TAG.json
 *   FAKEFACE_GPU_BENCH_BUDGET_S   seconds after which optional sections are skipped (default 300)
 *   OUT                           folder for gpu-bench.json (default: the OS temp folder)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// Named import: bundlers drop a bare side-effect import of this package (its sideEffects list).
import { version_cpu as versionCpu } from '@tensorflow/tfjs-backend-cpu';
import { resolveConfig, type TrainConfig } from '../src/config/index.js';
import { installLeanGradients, uninstallLeanGradients } from '../src/engine/gradients.js';
import { installWebGpuKernels, patchWebGpuUploads, setWebGpuKernelsEnabled, setWebGpuUploadsEnabled } from '../src/engine/webgpu-kernels.js';
import { requestTrainingDevice, type GpuAdapterLike } from '../src/engine/webgpu.js';
import { buildGan, type Gan } from '../src/models/index.js';
import { createAdam } from '../src/train/optimizer.js';
import { Rng } from '../src/train/rng.js';
import { GanStepper } from '../src/train/step.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type FlagValue = number | boolean | string;

const started = performance.now();
const backendName = process.env.FAKEFACE_GPU_BENCH_BACKEND ?? 'webgpu';
const tiny = process.env.FAKEFACE_GPU_BENCH_TINY === '1';
const quick = process.env.FAKEFACE_GPU_BENCH_QUICK === '1';
const noExtra = quick || process.env.FAKEFACE_GPU_BENCH_NO_EXTRA === '1';
const onlySections = (process.env.FAKEFACE_GPU_BENCH_SECTIONS ?? '').split(',').filter(Boolean);
// Mode and variant labels contain commas: these lists are ';'-separated.
const onlyModes = (process.env.FAKEFACE_GPU_BENCH_MODES ?? '').split(';').filter(Boolean);
const onlyVariants = (process.env.FAKEFACE_GPU_BENCH_VARIANTS ?? '').split(';').filter(Boolean);
const tag = process.env.FAKEFACE_GPU_BENCH_TAG ?? '';
const budgetS = Number(process.env.FAKEFACE_GPU_BENCH_BUDGET_S ?? 300);
const outFile = join(process.env.OUT ?? tmpdir(), tag ? `gpu-bench-${tag}.json` : 'gpu-bench.json');
const report: { [key: string]: Json } = { backend: backendName, tag, quick, tiny, started: new Date().toISOString(), tfjs: tf.version_core, tfjsCpu: versionCpu };

const elapsedS = () => (performance.now() - started) / 1000;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

function save(): void {
  report.elapsedS = round(elapsedS(), 1);
  try {
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(report, null, 1));
  } catch (error) {
    console.error(`could not write ${outFile}: ${errorText(error)}`);
  }
}

function log(message: string): void {
  console.error(`[${elapsedS().toFixed(1)}s] ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Backend

interface DawnModule {
  create(options: string[]): unknown;
  globals: Record<string, unknown>;
}

interface WebGpuBackendLike {
  pipelineCache?: Record<string, unknown>;
  supportTimestampQuery?: boolean;
  thresholdToIncreaseWorkgroups?: number;
  adapterInfo?: Record<string, unknown>;
  device?: { limits?: Record<string, unknown> };
}

async function initBackend(): Promise<void> {
  installLeanGradients();
  if (backendName === 'cpu') {
    await tf.setBackend('cpu');
    return;
  }
  if (backendName !== 'webgpu') throw new Error(`FAKEFACE_GPU_BENCH_BACKEND must be webgpu or cpu, not ${backendName}`);
  // The native BLAS addon serves the cpu backend only; never load it here.
  process.env.FAKEFACE_NO_NATIVE = '1';
  const require = createRequire(import.meta.url);
  const dawnPath = process.env.DAWN_NODE ?? join(process.cwd(), 'node_modules/webgpu/dist/linux-x64/dawn.node');
  const dawn = require(dawnPath) as DawnModule;
  // Timestamp queries for per-kernel times, unquantized.
  const enable = ['allow_unsafe_apis', ...(process.env.FAKEFACE_GPU_DAWN_ENABLE ?? '').split(',').filter(Boolean)];
  const options = [`enable-dawn-features=${enable.join(',')}`, 'disable-dawn-features=timestamp_quantization'];
  options.push(...(process.env.FAKEFACE_GPU_DAWN_FLAGS ?? '').split(';').filter(Boolean));
  report.dawnOptions = options;
  Object.assign(globalThis, dawn.globals);
  // tfjs-backend-webgpu registers itself at import time only if it sees navigator.gpu.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create(options) }, configurable: true, writable: true });
  // @ts-ignore -- optional dependency: absent, the import fails at run time and tsc must not mind.
  const webgpu = (await import('@tensorflow/tfjs-backend-webgpu')) as { WebGPUBackend?: new (device: unknown, info: unknown) => tf.KernelBackend };
  if (!tf.findBackendFactory('webgpu')) {
    // A bundler dropped the side-effect registration: register as the package does.
    if (!webgpu.WebGPUBackend) throw new Error('tfjs-backend-webgpu: no WebGPUBackend export to register');
    const Backend = webgpu.WebGPUBackend;
    tf.registerBackend('webgpu', async () => {
      const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(o: object): Promise<GpuAdapterLike | null> } } }).navigator.gpu;
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw new Error('no WebGPU adapter');
      return new Backend(await requestTrainingDevice(adapter), adapter.info);
    }, 3);
    report.registeredExplicitly = true;
  }
  // fakeface's webgpu kernels (fused in-place Adam, im2col+matmul filter gradient); the
  // 'stock tfjs kernels' mode switches them off for the A/B in the same run.
  installWebGpuKernels();
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed (no adapter?)');
  patchWebGpuUploads();
}

const gpuBackend = () => tf.backend() as unknown as WebGpuBackendLike;

/** Dawn API calls made by the backend, counted and timed (host ms) by wrapping the device's methods (webgpu only). */
const apiCalls = {
  createBuffer: 0,
  createBufferBytes: 0,
  mappedAtCreation: 0,
  createBindGroup: 0,
  submit: 0,
  computePasses: 0,
  writeBuffer: 0,
  createBufferMs: 0,
  createBindGroupMs: 0,
  submitMs: 0,
  writeBufferMs: 0,
  finishMs: 0,
  beginComputePassMs: 0,
};

function countDawnCalls(): void {
  type Fn = (...args: unknown[]) => unknown;
  type TimedKey = 'createBufferMs' | 'createBindGroupMs' | 'submitMs' | 'writeBufferMs' | 'finishMs' | 'beginComputePassMs';
  const device = gpuBackend().device as unknown as Record<string, Fn> & { queue: Record<string, Fn> };
  const wrap = (target: Record<string, Fn>, name: string, count: (args: unknown[], result: unknown) => void, timedAs?: TimedKey) => {
    const original = target[name]!.bind(target);
    target[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const result = original(...args);
      if (timedAs) apiCalls[timedAs] += performance.now() - t0;
      count(args, result);
      return result;
    };
  };
  wrap(
    device,
    'createBuffer',
    (args) => {
      const descriptor = args[0] as { size: number; mappedAtCreation?: boolean };
      apiCalls.createBuffer++;
      apiCalls.createBufferBytes += descriptor.size;
      if (descriptor.mappedAtCreation) apiCalls.mappedAtCreation++;
    },
    'createBufferMs',
  );
  wrap(device, 'createBindGroup', () => apiCalls.createBindGroup++, 'createBindGroupMs');
  wrap(device.queue, 'submit', () => apiCalls.submit++, 'submitMs');
  wrap(device.queue, 'writeBuffer', () => apiCalls.writeBuffer++, 'writeBufferMs');
  wrap(device, 'createCommandEncoder', (_args, encoder) => {
    wrap(encoder as Record<string, Fn>, 'beginComputePass', () => apiCalls.computePasses++, 'beginComputePassMs');
    wrap(encoder as Record<string, Fn>, 'finish', () => undefined, 'finishMs');
  });
}

function apiCallsSince(before: typeof apiCalls, iterations: number): Json {
  const per: { [key: string]: Json } = {};
  for (const key of Object.keys(apiCalls) as Array<keyof typeof apiCalls>) {
    const delta = (apiCalls[key] - before[key]) / iterations;
    per[key] = key === 'createBufferBytes' ? round(delta / 2 ** 20, 2) : key.endsWith('Ms') ? round(delta, 2) : round(delta, 1);
  }
  per.createBufferMiB = per.createBufferBytes!;
  delete per.createBufferBytes;
  return per;
}
const pipelineCount = () => Object.keys(gpuBackend().pipelineCache ?? {}).length;
const isWebGpu = () => tf.getBackend() === 'webgpu';

function backendInfo(): Json {
  const b = gpuBackend();
  const info: { [key: string]: Json } = { backend: tf.getBackend() };
  if (!isWebGpu()) return info;
  info.adapter = JSON.parse(JSON.stringify(b.adapterInfo ?? null)) as Json;
  info.timestampQuery = b.supportTimestampQuery ?? null;
  info.thresholdToIncreaseWorkgroups = b.thresholdToIncreaseWorkgroups ?? null;
  const flags: { [key: string]: Json } = {};
  for (const name of Object.keys(tf.env().getFlags()).concat(Object.keys((tf.env() as unknown as { flagRegistry: object }).flagRegistry))) {
    if (name.startsWith('WEBGPU_')) flags[name] = tf.env().get(name) as Json;
  }
  info.flags = flags;
  return info;
}

/** Runs fn with the flags set, then restores them. Unknown flags (cpu fallback) throw. */
async function withFlags<T>(flags: Record<string, FlagValue>, fn: () => Promise<T>): Promise<T> {
  const previous: Record<string, FlagValue> = {};
  for (const [name, value] of Object.entries(flags)) {
    previous[name] = tf.env().get(name) as FlagValue;
    tf.env().set(name, value);
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of Object.entries(previous)) tf.env().set(name, value);
  }
}

// ---------------------------------------------------------------------------------------------
// Matmul

async function timeMatMul(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, reps: number): Promise<Json> {
  const a = tf.randomNormal(transposeA ? [k, m] : [m, k]);
  const b = tf.randomNormal(transposeB ? [n, k] : [k, n]);
  const run = () => tf.tidy(() => tf.matMul(a, b, transposeA, transposeB));
  const sync = async (c: tf.Tensor) => {
    const corner = tf.slice(c, [0, 0], [1, 1]);
    await corner.data();
    corner.dispose();
  };
  try {
    const warm = run();
    await sync(warm);
    warm.dispose();
    const t0 = performance.now();
    let last: tf.Tensor | null = null;
    for (let i = 0; i < reps; i++) {
      last?.dispose();
      last = run();
    }
    await sync(last!);
    last!.dispose();
    const ms = (performance.now() - t0) / reps;
    return { m, k, n, transposeA, transposeB, ms: round(ms, 3), tflops: round((2 * m * n * k) / ms / 1e9, 3) };
  } finally {
    tf.dispose([a, b]);
  }
}

/** JS + Dawn cost of issuing one small kernel: a chain of element-wise adds with no real GPU work. */
async function dispatchOverhead(count: number): Promise<Json> {
  const x = tf.randomNormal([65536]);
  let y = tf.add(x, 1);
  await y.data();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const next = tf.add(y, x);
    y.dispose();
    y = next;
  }
  const issued = performance.now() - t0;
  await tf.slice(y, [0], [1]).data();
  const total = performance.now() - t0;
  tf.dispose([x, y]);
  return { kernels: count, issueUsPerKernel: round((issued * 1000) / count, 1), totalUsPerKernel: round((total * 1000) / count, 1) };
}

async function matmulSection(): Promise<Json> {
  const out: { [key: string]: Json } = {};
  out.dispatchOverhead = await dispatchOverhead(tiny ? 200 : 3000);
  log(`dispatch overhead: ${JSON.stringify(out.dispatchOverhead)}`);
  const big = tiny ? 256 : 4096;
  out.square = await timeMatMul(big, big, big, false, false, tiny ? 2 : 10);
  log(`matMul ${big}^3: ${JSON.stringify(out.square)}`);
  if (quick) return out;
  const b = tiny ? 8 : 256;
  const px = tiny ? 768 : 43200;
  // The MLP GAN's largest products (batch 256, 120x120x3 = 43200 pixels): forward, dX, dW.
  const shapes: Array<[string, number, number, number, boolean, boolean]> = [
    ['D1 forward  x[256,43200] W[43200,1024]', b, px, 1024, false, false],
    ['D1 dX       dy[256,1024] W^T', b, 1024, px, false, true],
    ['D1 dW       x^T dy', px, b, 1024, true, false],
    ['Gout forward h[256,2048] W[2048,43200]', b, 2048, px, false, false],
    ['Gout dX     dy[256,43200] W^T', b, px, 2048, false, true],
    ['Gout dW     h^T dy', 2048, b, px, true, false],
  ];
  const settings: Array<[string, Record<string, FlagValue>]> = [
    ['default', {}],
    ['threshold=1100', { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 1100 }],
    ['packed', { WEBGPU_MATMUL_PROGRAM_TYPE: 3 }],
    ['splitK', { WEBGPU_MATMUL_PROGRAM_TYPE: 1 }],
    ['smallOutput', { WEBGPU_MATMUL_PROGRAM_TYPE: 2 }],
  ];
  const rows: Json[] = [];
  for (const [label, m, k, n, ta, tb] of shapes) {
    const row: { [key: string]: Json } = { shape: label };
    for (const [setting, flags] of settings) {
      if (!isWebGpu() && setting !== 'default') continue;
      try {
        const r = (await withFlags(flags, () => timeMatMul(m, k, n, ta, tb, tiny ? 2 : 5))) as { ms: number; tflops: number };
        row[setting] = { ms: r.ms, tflops: r.tflops };
      } catch (error) {
        row[setting] = { error: errorText(error) };
      }
    }
    rows.push(row);
    log(`matMul ${JSON.stringify(row)}`);
  }
  out.mlpShapes = rows;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training iterations

/** GanStepper's private steps: the bench reuses them so the maths stays the trainer's own. */
interface StepperInternals {
  trainDiscriminatorStep(makeImages: () => tf.Tensor, label: 0 | 1, target: number): [tf.Scalar, tf.Scalar];
  trainGeneratorStep(noise: Float32Array, batch: number, toDiscriminator: (fakes: tf.Tensor) => tf.Tensor): tf.Scalar;
  generate(noise: Float32Array, batch: number): tf.Tensor4D;
}

interface Workload {
  name: string;
  config: TrainConfig;
  gan: Gan;
  stepper: GanStepper;
  rng: Rng;
  real: Float32Array;
  imageShape: [number, number, number];
  optimizers: tf.Optimizer[];
}

interface StepMode {
  /** Keep the real batch on the GPU instead of uploading it each iteration. */
  realTensor?: tf.Tensor4D;
  /** G.predict over the whole batch at once (GanStepper uses Keras' default of 32). */
  fullBatchPredict?: boolean;
  /** A different stepper (other optimizers). */
  stepper?: GanStepper;
}

/**
 * One GanStepper iteration (no instance noise, no label smoothing, as in the bench),
 * returning the five metrics as one tensor instead of reading them synchronously.
 */
function stepTensors(w: Workload, mode: StepMode): tf.Tensor1D {
  const s = (mode.stepper ?? w.stepper) as unknown as StepperInternals;
  if (typeof s.trainDiscriminatorStep !== 'function' || typeof s.trainGeneratorStep !== 'function') {
    throw new Error('GanStepper internals changed: update bench/gpu.ts stepTensors');
  }
  const batch = w.config.batchSize;
  const latent = w.config.latentDim;
  const noiseForD = w.rng.normals(batch * latent);
  const noiseForG = w.rng.normals(batch * latent);
  const [dLossReal, dAccReal] = s.trainDiscriminatorStep(() => mode.realTensor ?? tf.tensor4d(w.real, [batch, ...w.imageShape]), 1, 1);
  const makeFakes = mode.fullBatchPredict
    ? () => tf.tidy(() => w.gan.generator.predict(tf.tensor2d(noiseForD, [batch, latent]), { batchSize: batch }) as tf.Tensor4D)
    : () => s.generate(noiseForD, batch);
  const [dLossFake, dAccFake] = s.trainDiscriminatorStep(makeFakes, 0, 0);
  const gLoss = s.trainGeneratorStep(noiseForG, batch, (fakes) => fakes);
  const metrics = tf.stack([dLossReal, dLossFake, dAccReal, dAccFake, gLoss]) as tf.Tensor1D;
  tf.dispose([dLossReal, dLossFake, dAccReal, dAccFake, gLoss]);
  return metrics;
}

interface Timing {
  msPerIteration: number;
  [key: string]: Json;
}

/**
 * burnIn + iterations steps. readback: await the metrics every iteration (as a trainer
 * logging them must); otherwise only the last iteration's metrics are awaited.
 */
async function timeSteps(w: Workload, mode: StepMode, readback: boolean, burnIn: number, iterations: number): Promise<Timing> {
  const tensorsBefore = tf.memory().numTensors;
  let values: Float32Array | null = null;
  for (let i = 0; i < burnIn; i++) {
    const m = stepTensors(w, mode);
    values = (await m.data()) as Float32Array;
    m.dispose();
  }
  const pipelinesBefore = pipelineCount();
  const tensorsAfterBurnIn = tf.memory().numTensors;
  const callsBefore = { ...apiCalls };
  const issue: number[] = [];
  const wait: number[] = [];
  const t0 = performance.now();
  let last: tf.Tensor1D | null = null;
  for (let i = 0; i < iterations; i++) {
    const a = performance.now();
    const m = stepTensors(w, mode);
    const b = performance.now();
    issue.push(b - a);
    if (readback) {
      values = (await m.data()) as Float32Array;
      wait.push(performance.now() - b);
      m.dispose();
    } else {
      last?.dispose();
      last = m;
    }
  }
  const issuedAll = performance.now() - t0;
  if (last) {
    values = (await last.data()) as Float32Array;
    last.dispose();
  }
  const total = performance.now() - t0;
  const timing: Timing = {
    msPerIteration: round(total / iterations),
    issueMsMedian: round(median(issue)),
    iterations,
    burnIn,
    newPipelinesWhileTimed: pipelineCount() - pipelinesBefore,
    ...(isWebGpu() ? { dawnCallsPerIteration: apiCallsSince(callsBefore, iterations) } : {}),
    tensorsLeakedPerIteration: round((tf.memory().numTensors - tensorsAfterBurnIn) / iterations, 1),
    tensorsLeakedInBurnIn: tensorsAfterBurnIn - tensorsBefore,
    lastMetrics: values ? Array.from(values, (v) => round(v, 4)) : null,
  };
  if (readback) {
    timing.waitMsMedian = round(median(wait));
    timing.msMedian = round(median(issue.map((x, i) => x + wait[i]!)));
  } else {
    timing.issueAllMs = round(issuedAll);
    timing.drainMs = round(total - issuedAll);
  }
  return timing;
}

/** GanStepper.stepAsync exactly as the trainer calls it (one awaited read of the metrics per iteration). */
async function timeStepperAsIs(w: Workload, iterations: number): Promise<Json> {
  const batch = w.config.batchSize;
  const latent = w.config.latentDim;
  const run = () => w.stepper.stepAsync({ real: w.real, noiseForD: w.rng.normals(batch * latent), noiseForG: w.rng.normals(batch * latent) });
  await run();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await run();
  return { msPerIteration: round((performance.now() - t0) / iterations), iterations };
}

/**
 * The headline mode with fakeface's engine work switched off: tfjs' own Adam maths,
 * filter gradient and Sum/Mean gradients (`lean: true` keeps the gradients).
 */
async function timeStockKernels(w: Workload, iterations: number, { lean = false } = {}): Promise<Timing> {
  setWebGpuKernelsEnabled(false);
  if (!lean) uninstallLeanGradients();
  try {
    return await timeSteps(w, {}, true, 2, iterations);
  } finally {
    setWebGpuKernelsEnabled(true);
    installLeanGradients();
  }
}

function matmulGflop(name: string, inputShapes: number[][], outputShapes: number[][]): number | null {
  if (!/MatMul/.test(name)) return null;
  const a = inputShapes[0];
  const out = outputShapes[0];
  if (!a || !out || a.length < 2 || out.length < 2) return null;
  const m = out[out.length - 2]!;
  const n = out[out.length - 1]!;
  const batch = out.slice(0, -2).reduce((x, y) => x * y, 1);
  const a1 = a[a.length - 2]!;
  const a2 = a[a.length - 1]!;
  const k = a1 === m && a2 !== m ? a2 : a2 === m && a1 !== m ? a1 : a2;
  return (2 * batch * m * n * k) / 1e9;
}

/** One iteration under tf.profile, GPU time per kernel from timestamp queries. */
async function profileStep(w: Workload): Promise<Json> {
  const flags: Record<string, FlagValue> = { CHECK_COMPUTATION_FOR_ERRORS: false };
  if (isWebGpu()) flags.WEBGPU_CPU_FORWARD = false;
  const t0 = performance.now();
  const info = await withFlags(flags, () =>
    tf.profile(async () => {
      const m = stepTensors(w, {});
      await m.data();
      m.dispose();
    }),
  );
  const wallMs = performance.now() - t0;
  const byKernel = new Map<string, { count: number; ms: number }>();
  const byProgram = new Map<string, { count: number; ms: number }>();
  const byShape = new Map<string, { kernel: string; inputShapes: Json; outputShapes: Json; count: number; ms: number; gflop: number | null }>();
  let totalMs = 0;
  let untimed = 0;
  let opWrappers = 0;
  for (const k of info.kernels) {
    // Ops with custom gradients (e.g. fusedMatMul__op) are profiled around their kernels: skip them, not to count twice.
    if (k.name.endsWith('__op')) {
      opWrappers++;
      continue;
    }
    const raw = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN;
    // Timestamps can be garbage (Dawn's null backend) or wrap: count those as untimed.
    const ms = raw >= 0 && raw < 60_000 ? raw : NaN;
    if (!Number.isFinite(ms)) untimed++;
    const t = Number.isFinite(ms) ? ms : 0;
    totalMs += t;
    const kernel = byKernel.get(k.name) ?? { count: 0, ms: 0 };
    kernel.count++;
    kernel.ms += t;
    byKernel.set(k.name, kernel);
    const extra = typeof k.extraInfo === 'string' ? k.extraInfo : '';
    for (const part of extra.split(', ')) {
      const match = /^(\w+): ([\d.eE+-]+)$/.exec(part.trim());
      if (!match) continue;
      const program = byProgram.get(match[1]!) ?? { count: 0, ms: 0 };
      program.count++;
      program.ms += Number(match[2]);
      byProgram.set(match[1]!, program);
    }
    const key = `${k.name} ${JSON.stringify(k.inputShapes)} -> ${JSON.stringify(k.outputShapes)}`;
    const entry = byShape.get(key) ?? {
      kernel: k.name,
      inputShapes: k.inputShapes as Json,
      outputShapes: k.outputShapes as Json,
      count: 0,
      ms: 0,
      gflop: matmulGflop(k.name, k.inputShapes, k.outputShapes),
    };
    entry.count++;
    entry.ms += t;
    byShape.set(key, entry);
  }
  const sorted = <T extends { ms: number }>(m: Map<string, T>) => [...m.entries()].sort((x, y) => y[1].ms - x[1].ms);
  return {
    kernels: info.kernels.length - opWrappers,
    opWrappersSkipped: opWrappers,
    untimedKernels: untimed,
    gpuKernelMsTotal: round(totalMs),
    profiledWallMs: round(wallMs),
    peakBytes: info.peakBytes,
    byKernel: sorted(byKernel).map(([name, v]) => ({ name, count: v.count, ms: round(v.ms, 3), share: round(v.ms / totalMs, 3) })),
    byProgram: sorted(byProgram).map(([name, v]) => ({ name, count: v.count, ms: round(v.ms, 3), share: round(v.ms / totalMs, 3) })),
    topShapes: sorted(byShape)
      .slice(0, 30)
      .map(([, v]) => ({
        kernel: v.kernel,
        inputShapes: v.inputShapes,
        outputShapes: v.outputShapes,
        count: v.count,
        ms: round(v.ms, 3),
        ...(v.gflop !== null ? { gflopEach: round(v.gflop, 3), tflops: round((v.gflop * v.count) / v.ms, 3) } : {}),
      })),
  };
}

function makeWorkload(name: string, preset: string): Workload {
  let config: TrainConfig = { ...resolveConfig(preset) };
  if (tiny) {
    config =
      config.architecture === 'mlp'
        ? { ...config, resolution: 16, batchSize: 8, generatorUnits: config.generatorUnits.map((u) => u / 16), discriminatorUnits: config.discriminatorUnits.map((u) => u / 16) }
        : { ...resolveConfig('dcgan-tiny'), batchSize: 4 };
  }
  const rng = new Rng(1);
  const gan = buildGan(config, () => rng.childSeed());
  const imageShape: [number, number, number] = [config.resolution, config.resolution, 3];
  const optimizers = [createAdam(config), createAdam(config)];
  const stepper = new GanStepper(gan, optimizers[0]!, optimizers[1]!, imageShape, config.latentDim);
  const real = new Float32Array(config.batchSize * config.resolution ** 2 * 3).map(() => rng.uniform() * 2 - 1);
  return { name, config, gan, stepper, rng, real, imageShape, optimizers };
}

/** FusedAdamOptimizer (on webgpu: the in-place shader) against tf.train.adam, three updates. */
async function checkFusedAdam(config: TrainConfig): Promise<Json> {
  const init = tf.randomNormal([1000, 37], 0, 1, 'float32', 7);
  const grad = tf.randomNormal([1000, 37], 0, 1, 'float32', 8);
  const a = tf.variable(init, true, 'fused_check_a');
  const b = tf.variable(init, true, 'fused_check_b');
  const fused = createAdam(config);
  const reference: tf.Optimizer = tf.train.adam(config.learningRate, config.beta1, config.beta2, config.epsilon);
  for (let i = 0; i < 3; i++) {
    fused.applyGradients({ fused_check_a: grad });
    reference.applyGradients({ fused_check_b: grad });
  }
  const diff = tf.max(tf.abs(tf.sub(a, b)));
  const moved = tf.max(tf.abs(tf.sub(a, init)));
  const [maxDiff, maxMove] = [(await diff.data())[0]!, (await moved.data())[0]!];
  tf.dispose([init, grad, a, b, diff, moved]);
  fused.dispose();
  reference.dispose();
  return { maxAbsDiffVsTfTrainAdam: maxDiff, maxAbsUpdate: maxMove, ok: maxDiff <= 1e-6 * Math.max(1, maxMove) || maxDiff < 1e-7 };
}

async function workloadSection(name: string, preset: string, variants: Array<[string, Record<string, FlagValue>]>): Promise<Json> {
  const out: { [key: string]: Json } = {};
  report[name] = out;
  const w = makeWorkload(name, preset);
  out.preset = preset;
  out.batch = w.config.batchSize;
  out.resolution = w.config.resolution;
  const burnIn = 3;
  const iterations = tiny ? 3 : 10;
  const modes: Json[] = [];
  out.modes = modes;
  const pipelinesAtStart = pipelineCount();
  const tryMode: TryMode = async (label, fn) => {
    if (onlyModes.length > 0 && !onlyModes.includes(label)) return;
    if (elapsedS() > budgetS && label !== 'readback') {
      modes.push({ mode: label, skipped: 'time budget' });
      return;
    }
    try {
      const result = await fn();
      modes.push({ mode: label, ...(result as { [key: string]: Json }) });
    } catch (error) {
      modes.push({ mode: label, error: errorText(error) });
    }
    log(`${name} ${label}: ${JSON.stringify(modes[modes.length - 1])}`);
    save();
  };
  await tryMode('readback', () => timeSteps(w, {}, true, burnIn, iterations) as Promise<Json>);
  out.shaderPipelinesCompiledFirstIterations = pipelineCount() - pipelinesAtStart;
  await tryMode('GanStepper.stepAsync (the trainer)', () => timeStepperAsIs(w, iterations));
  if (isWebGpu()) await tryMode('readback, stock tfjs kernels', () => timeStockKernels(w, iterations) as Promise<Json>);
  if (isWebGpu()) await tryMode('readback, stock kernels + lean Sum/Mean gradients', () => timeStockKernels(w, iterations, { lean: true }) as Promise<Json>);
  if (isWebGpu()) {
    await tryMode('readback, tfjs uploads (mapped buffers)', async () => {
      setWebGpuUploadsEnabled(false);
      try {
        return (await timeSteps(w, {}, true, 2, iterations)) as Json;
      } finally {
        setWebGpuUploadsEnabled(true);
      }
    });
  }
  await tryMode('no-readback', () => timeSteps(w, {}, false, burnIn, iterations) as Promise<Json>);
  if (!noExtra) await extraModes(w, tryMode, iterations);
  try {
    out.profile = await profileStep(w);
  } catch (error) {
    out.profile = { error: errorText(error) };
  }
  log(`${name} profile: ${JSON.stringify(out.profile).slice(0, 1500)}`);
  save();
  const flagRuns: Json[] = [];
  out.flagVariants = flagRuns;
  if (isWebGpu() && !quick) {
    for (const [label, flags] of variants) {
      if (onlyVariants.length > 0 && !onlyVariants.includes(label)) continue;
      if (elapsedS() > budgetS) {
        flagRuns.push({ variant: label, skipped: 'time budget' });
        continue;
      }
      try {
        const t = await withFlags(flags, () => timeSteps(w, {}, true, 2, tiny ? 2 : 5));
        flagRuns.push({ variant: label, flags: flags as Json, msPerIteration: t.msPerIteration, issueMsMedian: t.issueMsMedian, waitMsMedian: t.waitMsMedian ?? null });
      } catch (error) {
        flagRuns.push({ variant: label, flags: flags as Json, error: errorText(error) });
      }
      log(`${name} ${JSON.stringify(flagRuns[flagRuns.length - 1])}`);
      save();
    }
  }
  out.memory = JSON.parse(JSON.stringify(tf.memory())) as Json;
  for (const optimizer of w.optimizers) optimizer.dispose();
  w.gan.generator.dispose();
  w.gan.discriminator.dispose();
  return out;
}

type TryMode = (label: string, fn: () => Promise<Json>) => Promise<void>;

/** The diagnostic modes beside the headline: the trainer's own step, resident real batch, whole-batch predict, tf.train.adam. */
async function extraModes(w: Workload, tryMode: TryMode, iterations: number): Promise<void> {
  const realTensor = tf.tensor4d(w.real, [w.config.batchSize, ...w.imageShape]);
  await tryMode('readback, real batch resident on GPU', () => timeSteps(w, { realTensor }, true, 2, iterations) as Promise<Json>);
  realTensor.dispose();
  await tryMode('readback, G.predict whole batch', () => timeSteps(w, { fullBatchPredict: true }, true, 2, iterations) as Promise<Json>);
  await tryMode('readback, tf.train.adam', async () => {
    const c = w.config;
    const adams = [0, 1].map(() => tf.train.adam(c.learningRate, c.beta1, c.beta2, c.epsilon));
    w.optimizers.push(...adams);
    const stepper = new GanStepper(w.gan, adams[0]!, adams[1]!, w.imageShape, c.latentDim);
    return timeSteps(w, { stepper }, true, 2, iterations) as Promise<Json>;
  });
}

const MLP_VARIANTS: Array<[string, Record<string, FlagValue>]> = [
  ['default (again)', {}],
  ['DEFERRED_SUBMIT_BATCH_SIZE=1', { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 1 }],
  ['DEFERRED_SUBMIT_BATCH_SIZE=64', { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 64 }],
  ['DEFERRED_SUBMIT_BATCH_SIZE=1000', { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 1000 }],
  ['CPU_FORWARD=false', { WEBGPU_CPU_FORWARD: false }],
  ['THRESHOLD_TO_INCREASE_WORKGROUPS=64', { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 64 }],
  ['THRESHOLD_TO_INCREASE_WORKGROUPS=300', { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 300 }],
  ['THRESHOLD_TO_INCREASE_WORKGROUPS=1100', { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 1100 }],
  ['MATMUL_PROGRAM_TYPE=3 (packed)', { WEBGPU_MATMUL_PROGRAM_TYPE: 3 }],
  ['MATMUL_PROGRAM_TYPE=1 (splitK)', { WEBGPU_MATMUL_PROGRAM_TYPE: 1 }],
  ['MATMUL_PROGRAM_TYPE=2 (smallOutput)', { WEBGPU_MATMUL_PROGRAM_TYPE: 2 }],
  ['combo: DEFERRED_SUBMIT=64 + THRESHOLD=300', { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 64, WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 300 }],
];

const DCGAN_VARIANTS: Array<[string, Record<string, FlagValue>]> = [
  ['default (again)', {}],
  ['USE_NAIVE_CONV2D_TRANSPOSE=false', { WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE: false }],
  ['CONV_SEPARATE_IM2COL_SHADER=true', { WEBGPU_CONV_SEPARATE_IM2COL_SHADER: true }],
  ['DEFERRED_SUBMIT_BATCH_SIZE=64', { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 64 }],
  ['CPU_FORWARD=false', { WEBGPU_CPU_FORWARD: false }],
  ['THRESHOLD_TO_INCREASE_WORKGROUPS=300', { WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: 300 }],
  ['combo: DEFERRED_SUBMIT=64 + CONV_SEPARATE_IM2COL', { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 64, WEBGPU_CONV_SEPARATE_IM2COL_SHADER: true }],
];

/** The headline numbers, one line (the device reply keeps only the output's tail). */
function summary(): Json {
  const pick = (name: string) => {
    const section = report[name] as { [key: string]: Json } | undefined;
    if (!section) return null;
    const modes = ((section.modes ?? []) as Array<{ [key: string]: Json }>).map((m) => [m.mode, m.msPerIteration ?? m.error ?? m.skipped]);
    const profile = (section.profile ?? {}) as { [key: string]: Json };
    const top = ((profile.byKernel ?? []) as Array<{ [key: string]: Json }>).slice(0, 6).map((k) => [k.name, k.ms]);
    const variants = ((section.flagVariants ?? []) as Array<{ [key: string]: Json }>).map((v) => [v.variant, v.msPerIteration ?? v.error ?? v.skipped]);
    return { modes, kernels: profile.kernels ?? null, gpuKernelMs: profile.gpuKernelMsTotal ?? null, top, variants } as Json;
  };
  const matmul = (report.matmul ?? {}) as { [key: string]: Json };
  return { tag, elapsedS: round(elapsedS(), 1), square: matmul.square ?? null, dispatch: matmul.dispatchOverhead ?? null, mlp: pick('mlp'), dcgan: pick('dcgan') };
}

async function main(): Promise<void> {
  try {
    await initBackend();
  } catch (error) {
    report.error = `backend: ${errorText(error)}`;
    save();
    console.log(JSON.stringify(report));
    process.exitCode = 1;
    return;
  }
  report.backendInfo = backendInfo();
  if (isWebGpu()) countDawnCalls();
  log(`backend ${tf.getBackend()}: ${JSON.stringify(report.backendInfo).slice(0, 600)}`);
  save();
  const sections: Array<[string, () => Promise<Json>]> = [
    ['fusedAdamCheck', () => checkFusedAdam(resolveConfig('model2'))],
    ['matmul', matmulSection],
    ['mlp', () => workloadSection('mlp', 'model2', MLP_VARIANTS)],
    ['dcgan', () => workloadSection('dcgan', 'dcgan64', DCGAN_VARIANTS)],
  ];
  for (const [name, fn] of sections) {
    if (onlySections.length > 0 && !onlySections.includes(name)) continue;
    try {
      report[name] = await fn();
    } catch (error) {
      report[name] = { ...((report[name] as object | undefined) ?? {}), error: errorText(error) };
    }
    log(`${name} done`);
    save();
  }
  report.reference = { pytorchH100Fp32Ms: { mlpB256: 13.4, dcganB64: 8.0 }, goalRatio: 2, source: '../shared/notes/ENGINE.md' };
  save();
  console.log(JSON.stringify(report));
  console.error(`SUMMARY ${JSON.stringify(summary())}`);
}

await main();
