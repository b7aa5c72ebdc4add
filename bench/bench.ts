/**
 * Training speed: ms per iteration and images/s of the paper's presets and
 * `tiny`, after a burn-in, on the engine fakeface picks (or --backend).
 * A much shorter version of the trainer: same models, same step, synthetic
 * batches unless --real-data points at a face folder.
 *
 *   npm run bench:presets                         tiny, model1, model2, model3
 *   npm run bench:presets -- --presets tiny,model2 --iterations 3 --backend wasm
 * (`npm run bench` is bench/compare.ts: fakeface against PyTorch.)
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig, type TrainConfig } from '../src/config/index.js';
import { copyBatch, loadFaceFolder } from '../src/data/index.js';
import { initEngine, type BackendName } from '../src/engine/index.js';
import { buildGan, countParams } from '../src/models/index.js';
import { createAdam } from '../src/train/optimizer.js';
import { estimateRunBytes } from '../src/train/train.js';
import { Rng } from '../src/train/rng.js';
import { GanStepper } from '../src/train/step.js';

const { values: args } = parseArgs({
  options: {
    presets: { type: 'string', default: 'tiny,model1,model2,model3' },
    iterations: { type: 'string', default: '3' },
    'burn-in': { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
    threads: { type: 'string' },
    'real-data': { type: 'string' },
  },
});

/** Multiply-adds of one iteration x 2: D forward+backward on 2B images, G forward (for D) + forward/backward through G and D. */
function iterationGflop(config: TrainConfig): number {
  const pixels = config.resolution ** 2 * 3;
  const layerMacs = (widths: number[]) => widths.slice(1).reduce((sum, w, i) => sum + widths[i]! * w, 0);
  const g = layerMacs([config.latentDim, ...config.generatorUnits, pixels]);
  const d = layerMacs([pixels, ...config.discriminatorUnits, 1]);
  const b = config.batchSize;
  // D steps: 2 batches x (fwd + 2x bwd) of D, plus G forward for the fakes; G step: (fwd + 2x bwd) of G and D.
  return (2 * b * 3 * d + b * g + b * 3 * (g + d)) * 2 / 1e9;
}

async function main() {
  const iterations = Number(args.iterations);
  const burnIn = Number(args['burn-in']);
  console.log('preset  batch  params(G+D)   GFLOP/it  ms/it     images/s  GFLOP/s  max RSS    engine');
  for (const preset of args.presets!.split(',')) {
    const config = resolveConfig(preset);
    const engine = await initEngine({
      backend: args.backend as BackendName | 'auto',
      threads: args.threads ? Number(args.threads) : undefined,
      estimatedBytes: estimateRunBytes(config),
    });
    const rng = new Rng(1);
    const gan = buildGan(config, () => rng.childSeed());
    const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [config.resolution, config.resolution, 3], config.latentDim);
    const pixels = config.resolution ** 2 * 3;
    const data = args['real-data']
      ? await loadFaceFolder(args['real-data'], { height: config.resolution, width: config.resolution, limit: 2000 })
      : null;
    const synthetic = new Float32Array(config.batchSize * pixels).map(() => rng.uniform() * 2 - 1);
    const step = () =>
      stepper.step({
        real: data ? copyBatch(data, rng.indices(config.batchSize, data.count)) : synthetic,
        noiseForD: rng.normals(config.batchSize * config.latentDim),
        noiseForG: rng.normals(config.batchSize * config.latentDim),
      });
    for (let i = 0; i < burnIn; i++) step();
    const started = performance.now();
    for (let i = 0; i < iterations; i++) step();
    const ms = (performance.now() - started) / iterations;
    const gflop = iterationGflop(config);
    const params = countParams(gan.generator) + countParams(gan.discriminator);
    console.log(
      [
        preset.padEnd(7),
        String(config.batchSize).padStart(5),
        params.toLocaleString('en').padStart(13),
        gflop.toFixed(1).padStart(9),
        ms.toFixed(0).padStart(9),
        ((config.batchSize * 1000) / ms).toFixed(1).padStart(9),
        (gflop / (ms / 1000)).toFixed(1).padStart(8),
        `${(process.resourceUsage().maxRSS / 1024 / 1024).toFixed(2)} GB`.padStart(9),
        engine.description,
      ].join('  '),
    );
    gan.generator.dispose();
    gan.discriminator.dispose();
    tf.disposeVariables();
  }
}

await main();
