/**
 * fakeface against PyTorch on this machine's CPU: ms per training iteration of the
 * same GANs with the same step (see bench/reference_torch.py), each workload in its
 * own process (so each peak RSS is its own), under glibc's default allocator and
 * with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (transparent huge pages for malloc:
 * far fewer first-touch page faults on VMs where those are slow).
 *
 *   npm run bench                              mlp:128, mlp:256, dcgan:64 (also: npm run bench:compare)
 *   npm run bench -- --workloads dcgan:64 --iterations 5 --groups matmul
 *   npm run bench -- --no-torch --allocators default
 *   npm run bench -- --rounds 3          alternate fakeface / torch 3 times, keep each one's best
 *
 * fakeface runs on the tfjs cpu backend with the native kernels of
 * src/engine/native.ts (--groups picks which: matmul, elementwise, conv; `none` for
 * pure JS). PyTorch is Debian's python3-torch under /usr/bin/python3; without it the
 * torch columns are skipped. GFLOP/s counts the multiply-adds of the layers
 * (2 FLOP each) the iteration must do, the same count for both; % of peak compares
 * with a 4096^3 sgemm measured first. Timings on a shared machine are noisy: the
 * table shows medians (of --rounds alternating runs, the best), and every number
 * of one run is measured in that run. fakeface keeps freed memory in glibc's heap
 * (retainFreedMemory(), as the trainer does; --no-retain turns it off), which torch
 * cannot do.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { resolveConfig, type TrainConfig } from '../src/config/index.js';
import {
  loadNativeAddon,
  nativeBlasInfo,
  nativeKernelStats,
  registerNativeKernels,
  retainFreedMemory,
  setNativeThreads,
  type NativeKernelGroup,
} from '../src/engine/native.js';
import { buildGan, type Gan } from '../src/models/index.js';
import { createAdam } from '../src/train/optimizer.js';
import { Rng } from '../src/train/rng.js';
import { GanStepper } from '../src/train/step.js';

const TORCH_PYTHON = '/usr/bin/python3';
const ALLOCATORS: Record<string, Record<string, string>> = {
  default: {},
  hugetlb: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
};

const { values: args } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'mlp:128,mlp:256,dcgan:64' },
    iterations: { type: 'string', default: '3' },
    'burn-in': { type: 'string', default: '1' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    allocators: { type: 'string', default: 'default,hugetlb' },
    groups: { type: 'string', default: 'matmul,elementwise,conv' },
    rounds: { type: 'string', default: '1' },
    'no-retain': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    worker: { type: 'string' },
  },
});

type Model = 'mlp' | 'dcgan';

interface Result {
  msPerIteration: number;
  msMin: number;
  /** CPU time (user + system, all threads) per timed iteration: less sensitive to other tenants than wall time. */
  cpuMsPerIteration: number;
  peakRssBytes: number;
}

// ---------------------------------------------------------------------------
// Work per iteration

interface Layer {
  macs: number;
}

/** Multiply-adds per image of G and D. */
function layerMacs(model: Model): { g: number; d: number } {
  if (model === 'mlp') {
    const dense = (widths: number[]) => widths.slice(1).reduce((sum, w, i) => sum + widths[i] * w, 0);
    return { g: dense([100, 256, 512, 1024, 2048, 43200]), d: dense([43200, 1024, 512, 256, 1]) };
  }
  const convT = (inSide: number, cin: number, cout: number): Layer => ({ macs: inSide * inSide * 16 * cin * cout });
  const conv = (outSide: number, cin: number, cout: number): Layer => ({ macs: outSide * outSide * 16 * cin * cout });
  const g = [{ macs: 100 * 4 * 4 * 512 }, convT(4, 512, 256), convT(8, 256, 128), convT(16, 128, 64), convT(32, 64, 3)];
  const d = [conv(32, 3, 64), conv(16, 64, 128), conv(8, 128, 256), conv(4, 256, 512), conv(1, 512, 1)];
  const total = (layers: Layer[]) => layers.reduce((sum, l) => sum + l.macs, 0);
  return { g: total(g), d: total(d) };
}

/**
 * GFLOP of one iteration: G forward for the fakes; two D steps (forward, weight and
 * input gradients: 3x D); G step (G forward + both gradients: 3x G; D forward + input
 * gradients: 2x D). 2 FLOP per multiply-add.
 */
function iterationGflop(model: Model, batch: number): number {
  const { g, d } = layerMacs(model);
  return (2 * batch * (4 * g + 8 * d)) / 1e9;
}

// ---------------------------------------------------------------------------
// fakeface (worker process)

/** DCGAN 64 as src/models builds it; a local copy when that builder is not there. */
function buildDcgan(config: TrainConfig, nextSeed: () => number): Gan {
  try {
    const gan = buildGan(config, nextSeed) as Gan | undefined;
    if (gan?.generator && gan.discriminator) return gan;
  } catch {
    // fall through to the local copy
  }
  const init = () => tfl.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: nextSeed() });
  const bn = () => tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 });
  const g = tfl.sequential({ name: 'generator' });
  g.add(tfl.layers.dense({ units: 4 * 4 * 512, useBias: false, inputShape: [100], kernelInitializer: init() }));
  g.add(tfl.layers.reshape({ targetShape: [4, 4, 512] }));
  g.add(bn());
  g.add(tfl.layers.reLU());
  for (const filters of [256, 128, 64]) {
    g.add(tfl.layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }));
    g.add(bn());
    g.add(tfl.layers.reLU());
  }
  g.add(tfl.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', useBias: false, activation: 'tanh', kernelInitializer: init() }));
  const d = tfl.sequential({ name: 'discriminator' });
  [64, 128, 256, 512].forEach((filters, i) => {
    d.add(tfl.layers.conv2d({ filters, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(), ...(i === 0 ? { inputShape: [64, 64, 3] } : {}) }));
    if (i > 0) d.add(bn());
    d.add(tfl.layers.leakyReLU({ alpha: 0.2 }));
  });
  d.add(tfl.layers.conv2d({ filters: 1, kernelSize: 4, padding: 'valid', useBias: false, activation: 'sigmoid', kernelInitializer: init() }));
  d.add(tfl.layers.flatten());
  return { generator: g, discriminator: d };
}

async function runFakeface(model: Model, batch: number): Promise<Result & { native: number; fallback: number }> {
  const threads = Number(args.threads);
  const groups = args.groups === 'none' ? [] : (args.groups!.split(',') as NativeKernelGroup[]);
  if (groups.length > 0 && !registerNativeKernels('cpu', groups)) throw new Error('the native addon is not built (npm run build:native)');
  setNativeThreads(threads);
  // As the trainer does (src/train/train.ts); --no-retain for glibc's default behaviour.
  if (!args['no-retain']) retainFreedMemory();
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const rng = new Rng(1);
  const config = resolveConfig(model === 'mlp' ? 'model1' : 'dcgan64', { batchSize: batch });
  const gan = model === 'mlp' ? buildGan(config, () => rng.childSeed()) : buildDcgan(config, () => rng.childSeed());
  const side = model === 'mlp' ? 120 : 64;
  const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [side, side, 3], config.latentDim);
  const real = new Float32Array(batch * side * side * 3).map(() => rng.uniform() * 2 - 1);
  const step = () => stepper.step({ real, noiseForD: rng.normals(batch * config.latentDim), noiseForG: rng.normals(batch * config.latentDim) });
  for (let i = 0; i < Number(args['burn-in']); i++) step();
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < Number(args.iterations); i++) {
    const started = performance.now();
    step();
    times.push(performance.now() - started);
  }
  const used = process.cpuUsage(cpu);
  const cpuMsPerIteration = (used.user + used.system) / 1000 / times.length;
  return { ...summarize(times), cpuMsPerIteration, peakRssBytes: process.resourceUsage().maxRSS * 1024, ...nativeKernelStats() };
}

function summarize(times: number[]): { msPerIteration: number; msMin: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return { msPerIteration: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2, msMin: sorted[0] };
}

// ---------------------------------------------------------------------------
// Orchestration (main process)

/** Last line of a child's stdout as JSON, or the reason it failed. */
function runChild(command: string, argv: string[], env: Record<string, string>): Result | string {
  const child = spawnSync(command, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
  if (child.error) return child.error.message;
  const line = (child.stdout ?? '').trim().split('\n').pop() ?? '';
  if (child.status === 0) {
    try {
      return JSON.parse(line) as Result;
    } catch {
      // reported below
    }
  }
  const why = `${child.stderr ?? ''}`.trim().split('\n').filter(Boolean).pop() ?? `exit ${child.status ?? child.signal}`;
  return why.slice(0, 120);
}

/** The faster of two results (a failure only when both failed). */
function best(a: Result | string, b: Result | string): Result | string {
  if (typeof a === 'string') return b;
  if (typeof b === 'string') return a;
  return b.msPerIteration < a.msPerIteration ? b : a;
}

function torchAvailable(): boolean {
  return spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Best of two 4096^3 sgemms on the addon, in GFLOP/s (null without it). */
function peakSgemmGflops(): number | null {
  const native = loadNativeAddon();
  if (!native) return null;
  const n = 4096;
  const a = new Float32Array(n * n).fill(0.5);
  const b = new Float32Array(n * n).fill(0.25);
  const c = new Float32Array(n * n);
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const started = performance.now();
    native.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
    best = Math.min(best, performance.now() - started);
  }
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GB`;

async function main(): Promise<void> {
  const workloads = args.workloads!.split(',').map((w) => {
    const [model, batch] = w.split(':');
    if ((model !== 'mlp' && model !== 'dcgan') || !(Number(batch) > 0)) throw new Error(`bad workload "${w}": use mlp:128 or dcgan:64`);
    return { model: model as Model, batch: Number(batch) };
  });
  const allocators = args.allocators!.split(',');
  for (const a of allocators) if (!ALLOCATORS[a]) throw new Error(`unknown allocator "${a}": use default, hugetlb`);
  const threads = Number(args.threads);

  console.log(`machine: ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} threads; node ${process.version}; ${threads} threads used`);
  console.log(`fakeface: tfjs cpu + native kernels [${args.groups}]; ${nativeBlasInfo() ?? 'native addon not built'}`);
  console.log(`OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'} (applies to both frameworks)`);
  const peak = peakSgemmGflops();
  console.log(`peak: sgemm 4096^3 ${peak ? `${peak.toFixed(0)} GFLOP/s` : 'n/a (no addon)'}`);
  const withTorch = !args['no-torch'] && torchAvailable();
  if (!args['no-torch'] && !withTorch) {
    console.log(`torch: skipped — ${TORCH_PYTHON} cannot import torch (install Debian's python3-torch: apt-get install -y python3-torch)`);
  }
  console.log(`iterations: ${args['burn-in']} burn-in + ${args.iterations} timed, median shown (best of ${args.rounds} alternating rounds)${args['no-retain'] ? '' : '; fakeface retains freed memory, as its trainer does'}\n`);

  const self = fileURLToPath(import.meta.url);
  const common = ['--iterations', args.iterations!, '--burn-in', args['burn-in']!, '--threads', String(threads)];
  const rows: Array<Record<string, unknown>> = [];
  const header = ['workload', 'malloc', 'GFLOP/it', 'fakeface ms', 'torch ms', 'ratio', 'ff GFLOP/s', 'torch GFLOP/s', 'cpu ms ff/torch', 'ff RSS', 'torch RSS'];
  const widths = [11, 8, 9, 12, 10, 6, 15, 15, 15, 8, 9];
  const print = (cells: string[]) => console.log(cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  print(header);
  for (const { model, batch } of workloads) {
    const gflop = iterationGflop(model, batch);
    for (const allocator of allocators) {
      const env = ALLOCATORS[allocator];
      const ffArgs = ['--import', 'tsx', self, '--worker', `${model}:${batch}`, '--groups', args.groups!, ...(args['no-retain'] ? ['--no-retain'] : []), ...common];
      const torchArgs = [fileURLToPath(new URL('./reference_torch.py', import.meta.url)), '--model', model, '--batch', String(batch), ...common];
      let ff: Result | string = 'skipped';
      let torch: Result | string = 'skipped';
      // Alternate the two, keeping each one's best median: load from other tenants shifts over minutes.
      for (let round = 0; round < Number(args.rounds); round++) {
        ff = best(ff, runChild(process.execPath, ffArgs, env));
        if (withTorch) torch = best(torch, runChild(TORCH_PYTHON, torchArgs, env));
      }
      const rate = (r: Result | string) => (typeof r === 'string' ? null : gflop / (r.msPerIteration / 1000));
      const rateCell = (r: Result | string) => {
        const g = rate(r);
        return g === null ? '-' : `${g.toFixed(1)}${peak ? ` (${((100 * g) / peak).toFixed(0)}%)` : ''}`;
      };
      const ms = (r: Result | string) => (typeof r === 'string' ? (r === 'skipped' ? '-' : 'failed') : r.msPerIteration.toFixed(0));
      const rss = (r: Result | string) => (typeof r === 'string' ? '-' : gb(r.peakRssBytes));
      const ratio = typeof ff !== 'string' && typeof torch !== 'string' ? (ff.msPerIteration / torch.msPerIteration).toFixed(2) : '-';
      const cpuMs = (r: Result | string) => (typeof r === 'string' ? '-' : r.cpuMsPerIteration.toFixed(0));
      print([`${model} B=${batch}`, allocator, gflop.toFixed(1), ms(ff), ms(torch), ratio, rateCell(ff), rateCell(torch), `${cpuMs(ff)}/${cpuMs(torch)}`, rss(ff), rss(torch)]);
      for (const [name, r] of [['fakeface', ff], ['torch', torch]] as const) {
        if (typeof r === 'string' && r !== 'skipped') console.log(`  ${name} failed: ${r}`);
      }
      rows.push({ model, batch, allocator, gflop, fakeface: ff, torch, peakGflops: peak });
    }
  }
  console.log('\nratio = fakeface ms / torch ms (below 1: fakeface faster); % = share of the sgemm peak;');
  console.log('cpu ms = CPU time (all threads, spinning BLAS threads included) per iteration, less sensitive to other tenants');
  if (args.json) console.log(JSON.stringify(rows));
}

if (args.worker) {
  const [model, batch] = args.worker.split(':');
  const result = await runFakeface(model as Model, Number(batch));
  console.log(JSON.stringify(result));
} else {
  await main();
}
