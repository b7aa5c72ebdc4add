import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/index.js';
import { copyBatch, loadFaceFolder } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { buildGan } from '../src/models/index.js';
import { latestCheckpointDir, loadCheckpoint } from '../src/train/checkpoint.js';
import { createAdam } from '../src/train/optimizer.js';
import { Rng } from '../src/train/rng.js';
import { readMetrics, readRunState } from '../src/train/run-folder.js';
import { GanStepper } from '../src/train/step.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { UTKFACE_DIR } from './helpers/data.js';

const describeData = UTKFACE_DIR ? describe : describe.skip;
if (!UTKFACE_DIR) console.warn('skipping training tests: UTKFace folder not found (../shared/data/utkface-crop_part1 or $FAKEFACE_TEST_DATA)');

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fakeface-train-'));
  await initEngine({ backend: (process.env.FAKEFACE_TEST_BACKEND as never) ?? 'auto' });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** tiny, scaled down further so each test runs in seconds. */
const small = { limit: 200, iterations: 24, batchSize: 16, sampleEvery: 8, checkpointEvery: 8, sampleCount: 4 };
const options = (name: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  dataDir: UTKFACE_DIR!,
  outDir: join(work, name),
  preset: 'tiny',
  overrides: small,
  cacheDir: join(work, 'cache'),
  ...extra,
});
const withoutTime = (records: Awaited<ReturnType<typeof readMetrics>>) => records.map(({ ms: _ms, ...rest }) => rest);

describeData('training the tiny GAN on real faces', () => {
  it('writes a complete run folder with finite losses and moving accuracies', async () => {
    const result = await train(options('complete', { overrides: { ...small, iterations: 48 } }));
    expect(result).toMatchObject({ status: 'finished', iteration: 48, stopReason: null });
    const dir = join(work, 'complete');
    const metrics = await readMetrics(dir);
    expect(metrics.map((m) => m.iteration)).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    for (const m of metrics) {
      for (const key of ['dLossReal', 'dLossFake', 'gLoss', 'ms'] as const) expect(Number.isFinite(m[key])).toBe(true);
      expect(m.dAcc).toBeCloseTo((m.dAccReal + m.dAccFake) / 2, 6);
    }
    expect(new Set(metrics.map((m) => m.dAcc)).size).toBeGreaterThan(3);
    expect(new Set(metrics.map((m) => m.gLoss.toFixed(4))).size).toBeGreaterThan(10);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ preset: 'tiny', resolution: 32, iterations: 48, batchSize: 16, beta1: 0.5 });
    expect((await readdir(join(dir, 'samples'))).sort()).toEqual(['step_000008.png', 'step_000016.png', 'step_000024.png', 'step_000032.png', 'step_000040.png', 'step_000048.png']);
    expect((await readdir(join(dir, 'checkpoints'))).sort()).toEqual(['latest.json', 'step_000040', 'step_000048']);
    expect(await readRunState(dir)).toMatchObject({ status: 'finished', iteration: 48, iterations: 48 });
  });

  it('resumes to exactly the metrics and weights of an uninterrupted run', async () => {
    await train(options('straight'));
    let calls = 0;
    const first = await train(options('resumed'), { shouldStop: () => ++calls === 11 });
    expect(first).toMatchObject({ status: 'interrupted', iteration: 11 });
    expect((await readMetrics(join(work, 'resumed'))).length).toBe(11);
    const second = await train(options('resumed', { resume: true, overrides: {} }));
    expect(second).toMatchObject({ status: 'finished', iteration: 24 });
    expect(withoutTime(await readMetrics(join(work, 'resumed')))).toEqual(withoutTime(await readMetrics(join(work, 'straight'))));
    const weights = async (name: string) => {
      const checkpoint = await loadCheckpoint((await latestCheckpointDir(join(work, name)))!);
      const values = [...checkpoint.gan.generator.getWeights(), ...checkpoint.gan.discriminator.getWeights()].map((w) => Array.from(w.dataSync()));
      checkpoint.gan.generator.dispose();
      checkpoint.gan.discriminator.dispose();
      return values;
    };
    expect(await weights('resumed')).toEqual(await weights('straight'));
  });

  it('refuses to overwrite a run, and to change the model on resume (the recipe: with a warning)', async () => {
    await expect(train(options('straight'))).rejects.toThrow(/already holds a run/);
    await expect(train(options('straight', { resume: true, overrides: { resolution: 64 } }))).rejects.toThrow(/cannot change resolution/);
    // The recipe may change, with a warning (a finished run: nothing left to train).
    const warnings: string[] = [];
    await train(options('straight', { resume: true, dataDir: undefined, overrides: { batchSize: 8 } }), { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/^--resume: changing the run's recipe \(batchSize 16 -> 8\)/)]);
    await expect(train(options('nothing-here', { resume: true }))).rejects.toThrow(/holds no run to resume/);
  });

  it('keeps tf.memory().numTensors flat across training iterations', async () => {
    const config = resolveConfig('tiny', { batchSize: 8 });
    const data = await loadFaceFolder(UTKFACE_DIR!, { height: 32, width: 32, limit: 64, cacheDir: join(work, 'cache') });
    const rng = new Rng(1);
    const gan = buildGan(config, () => rng.childSeed());
    const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [32, 32, 3], config.latentDim);
    const step = () =>
      stepper.step({
        real: copyBatch(data, rng.indices(8, data.count)),
        noiseForD: rng.normals(8 * config.latentDim),
        noiseForG: rng.normals(8 * config.latentDim),
      });
    step(); // the optimizers create their moment variables on the first step
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
