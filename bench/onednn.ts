/**
 * dcgan64's training iteration with the convolutions on oneDNN against im2col +
 * sgemm (and `auto`, which picks per shape), in one process, interleaved: each
 * round runs one iteration per engine, so load from other tenants falls on all of
 * them alike. Same models and step as the trainer (GanStepper), synthetic batches.
 *
 *   npm run bench:onednn                                  B=64, 32 and 64 base filters
 *   npm run bench:onednn -- --filters 64 --iterations 5 --engines im2col,onednn
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { resolveConfig } from '../src/config/index.js';
import {
  clearConvTuning,
  convEngineStats,
  nativeBlasInfo,
  oneDnnStatus,
  registerNativeKernels,
  retainFreedMemory,
  setConvEngine,
  setNativeThreads,
  type ConvEngine,
} from '../src/engine/native.js';
import { buildGan } from '../src/models/index.js';
import { createAdam } from '../src/train/optimizer.js';
import { Rng } from '../src/train/rng.js';
import { GanStepper } from '../src/train/step.js';

const { values: args } = parseArgs({
  options: {
    filters: { type: 'string', default: '32,64' },
    batch: { type: 'string', default: '64' },
    iterations: { type: 'string', default: '3' },
    // auto needs a few calls per shape to time both engines before it settles
    'burn-in': { type: 'string', default: '3' },
    engines: { type: 'string', default: 'im2col,onednn,auto' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
  },
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main(): Promise<void> {
  const engines = args.engines!.split(',') as ConvEngine[];
  const batch = Number(args.batch);
  const iterations = Number(args.iterations);
  if (!registerNativeKernels('cpu')) throw new Error('the native addon is not built (npm run build:native)');
  setNativeThreads(Number(args.threads));
  retainFreedMemory(); // as the trainer does
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const dnnl = oneDnnStatus();
  console.log(`machine: ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} threads, load average ${os.loadavg()[0].toFixed(2)}; ${args.threads} threads used`);
  console.log(`openblas: ${nativeBlasInfo()}`);
  console.log(`onednn: ${dnnl?.available ? `${dnnl.version} (${dnnl.isa}, ${dnnl.runtime})` : `absent: ${dnnl?.reason}`}`);
  if (!dnnl?.available && engines.some((e) => e !== 'im2col')) console.log('  (onednn and auto then run im2col + sgemm)');
  console.log(`dcgan64 B=${batch}: ${args['burn-in']} burn-in + ${iterations} timed iterations per engine, interleaved; median ms per iteration\n`);
  console.log(['base filters', ...engines.map((e) => `${e} ms`.padStart(12)), 'im2col / onednn'].join('  '));

  for (const baseFilters of args.filters!.split(',').map(Number)) {
    const config = resolveConfig('dcgan64', { batchSize: batch, baseFilters });
    const rng = new Rng(1);
    const gan = buildGan(config, () => rng.childSeed());
    const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [64, 64, 3], config.latentDim, { fakesFor: 'training' });
    const real = new Float32Array(batch * 64 * 64 * 3).map(() => rng.uniform() * 2 - 1);
    const step = () => stepper.step({ real, noiseForD: rng.normals(batch * config.latentDim), noiseForG: rng.normals(batch * config.latentDim) });
    const times = new Map<ConvEngine, number[]>(engines.map((e) => [e, []]));
    for (const engine of engines) {
      setConvEngine(engine);
      for (let i = 0; i < Number(args['burn-in']); i++) step();
    }
    for (let round = 0; round < iterations; round++) {
      for (const engine of engines) {
        setConvEngine(engine); // auto keeps the per-shape choices of its burn-in
        const started = performance.now();
        step();
        times.get(engine)!.push(performance.now() - started);
      }
    }
    const ms = engines.map((e) => median(times.get(e)!));
    const im2col = ms[engines.indexOf('im2col')];
    const onednn = ms[engines.indexOf('onednn')];
    const ratio = im2col && onednn ? (im2col / onednn).toFixed(2) : '-';
    console.log([String(baseFilters).padEnd(12), ...ms.map((m) => m.toFixed(0).padStart(12)), ratio.padStart(15)].join('  '));
    if (engines.includes('auto')) {
      const shapes = convEngineStats().shapes;
      const kept = shapes.filter((s) => s.choice === 'onednn').length;
      console.log(`  auto kept oneDNN for ${kept} of ${shapes.length} convolution shapes`);
      for (const s of shapes) {
        const [B, H, W, Cin, OH, OW, Cout] = s.geometry;
        const mode = ['forward', 'backprop input', 'backprop filter'][s.mode];
        console.log(`    ${mode.padEnd(15)} ${B}x${H}x${W}x${Cin} -> ${OH}x${OW}x${Cout}: onednn ${s.onednnMs.toFixed(1)} ms (${s.impl}), im2col ${s.im2colMs.toFixed(1)} ms -> ${s.choice}`);
      }
    }
    gan.generator.dispose();
    gan.discriminator.dispose();
    tf.disposeVariables();
    clearConvTuning(); // the next model's shapes are new anyway
  }
  console.log('\nim2col / onednn above 1: oneDNN faster. Timings on a shared machine are noisy; rounds interleave the engines.');
}

await main();
