// The quality recipe through the real trainer: G's moving average, DiffAugment, the
// conditional labels and the class head on, trained, interrupted, resumed, generated from (library and CLI).
import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneHotConditions } from '../src/data/conditions.js';
import { initEngine } from '../src/engine/index.js';
import { generateFromRun } from '../src/generate/index.js';
import { latestCheckpointDir, loadCheckpoint } from '../src/train/checkpoint.js';
import { calibrateBatchNorm } from '../src/train/ema.js';
import { Rng } from '../src/train/rng.js';
import { readMetrics } from '../src/train/run-folder.js';
import { generateImages, generatorInput } from '../src/train/samples.js';
import { train, type TrainOptions } from '../src/train/train.js';
import { expectOneLineError, runCli } from './helpers/cli.js';
import { UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fakeface-recipe-'));
  await initEngine({ backend: (process.env.FAKEFACE_TEST_BACKEND as never) ?? 'auto' });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** dcgan-tiny (convolutions and BatchNorm, 32x32), scaled down, with every recipe option on. */
const recipe = {
  limit: 120,
  iterations: 12,
  batchSize: 8,
  sampleEvery: 5,
  sampleCount: 4,
  checkpointEvery: 4,
  ema: 0.9,
  diffAugment: 'color,translation,cutout',
  conditional: true,
  auxClassifier: 0.5,
};
const options = (name: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  dataDir: UTKFACE_DIR!,
  outDir: join(work, name),
  preset: 'dcgan-tiny',
  overrides: recipe,
  cacheDir: join(work, 'cache'),
  engine: { backend: (process.env.FAKEFACE_TEST_BACKEND as never) ?? 'auto' },
  ...extra,
});
const withoutTime = (records: Awaited<ReturnType<typeof readMetrics>>) => records.map(({ ms: _ms, ...rest }) => rest);

/** Every weight of the newest checkpoint: G, D, D's projection and class head, and G's moving average. */
async function checkpointWeights(run: string): Promise<Record<string, number[][]>> {
  const checkpoint = await loadCheckpoint((await latestCheckpointDir(run))!);
  const read = (model: { getWeights(): tf.Tensor[]; dispose(): unknown } | null | undefined) => {
    const values = model ? model.getWeights().map((w) => Array.from(w.dataSync())) : [];
    model?.dispose();
    return values;
  };
  return {
    generator: read(checkpoint.gan.generator),
    discriminator: read(checkpoint.gan.discriminator),
    projection: read(checkpoint.gan.projection),
    classifier: read(checkpoint.gan.classifier),
    ema: read(checkpoint.ema),
  };
}

const maxDifference = (a: Float32Array, b: Float32Array) => a.reduce((max, v, i) => Math.max(max, Math.abs(v - b[i]!)), 0);

(UTKFACE_DIR ? describe : describe.skip)('the quality recipe through the trainer (EMA, DiffAugment, conditional, class head)', () => {
  const tensorCounts: number[] = [];

  it('resumes to exactly the metrics and weights (G, D, projection, class head, EMA) of an uninterrupted run; no tensor leaks', async () => {
    const straight = await train(options('straight'), { onIteration: () => tensorCounts.push(tf.memory().numTensors) });
    expect(straight).toMatchObject({ status: 'finished', iteration: 12 });
    // The number of live tensors stays flat across iterations, sample grids (every 5) and checkpoints (every 4).
    expect(tensorCounts).toHaveLength(12);
    expect(new Set(tensorCounts)).toEqual(new Set([tensorCounts[0]]));

    // Interrupted at 6 (not a checkpoint iteration: the interrupt's own checkpoint), then resumed.
    let calls = 0;
    const first = await train(options('resumed'), { shouldStop: () => ++calls === 6 });
    expect(first).toMatchObject({ status: 'interrupted', iteration: 6 });
    const second = await train(options('resumed', { resume: true, overrides: {} }));
    expect(second).toMatchObject({ status: 'finished', iteration: 12 });
    expect(withoutTime(await readMetrics(join(work, 'resumed')))).toEqual(withoutTime(await readMetrics(join(work, 'straight'))));
    const [resumed, uninterrupted] = [await checkpointWeights(join(work, 'resumed')), await checkpointWeights(join(work, 'straight'))];
    expect(resumed.projection.length).toBeGreaterThan(0);
    expect(resumed.classifier.length).toBe(2);
    expect(resumed.ema.length).toBe(resumed.generator.length);
    expect(resumed).toEqual(uninterrupted);
  }, 300_000);

  it('keeps an average that differs from G, and generate uses the average', async () => {
    const run = join(work, 'straight');
    const checkpoint = await loadCheckpoint((await latestCheckpointDir(run))!);
    try {
      const raw = checkpoint.gan.generator.getWeights().map((w) => w.dataSync() as Float32Array);
      const average = checkpoint.ema!.getWeights().map((w) => w.dataSync() as Float32Array);
      // Every trainable kernel moved away from G's (decay 0.9 over 12 steps).
      const differing = raw.filter((w, i) => maxDifference(w, average[i]!) > 1e-6).length;
      expect(differing).toBeGreaterThan(raw.length / 2);

      // generateFromRun's faces are the average's for the same noise and labels, not G's.
      const request = { ageBucket: 5, gender: 1, race: 2 };
      const faces = await generateFromRun(run, 4, 3, request);
      const noise = new Rng(3).normals(4 * checkpoint.config.latentDim);
      const labels = oneHotConditions(Array.from({ length: 4 }, () => request));
      const fromAverage = generateImages(checkpoint.ema!, noise, checkpoint.config.latentDim, labels);
      const fromRaw = generateImages(checkpoint.gan.generator, noise, checkpoint.config.latentDim, labels);
      expect(maxDifference(faces.pixels, fromAverage.pixels)).toBe(0);
      expect(maxDifference(faces.pixels, fromRaw.pixels)).toBeGreaterThan(1e-3);
      // The labels reach G: other labels, other faces; the same request, the same faces.
      const men = await generateFromRun(run, 4, 3, { ...request, gender: 0 });
      expect(maxDifference(faces.pixels, men.pixels)).toBeGreaterThan(1e-4);
      expect(maxDifference(faces.pixels, (await generateFromRun(run, 4, 3, request)).pixels)).toBe(0);
    } finally {
      checkpoint.gan.generator.dispose();
      checkpoint.gan.discriminator.dispose();
      checkpoint.gan.projection?.dispose();
      checkpoint.ema?.dispose();
    }
  });

  it("calibrates the average's BatchNorm statistics on its own activations (G's do not fit it)", async () => {
    const checkpoint = await loadCheckpoint((await latestCheckpointDir(join(work, 'straight')))!);
    const average = checkpoint.ema!;
    try {
      const latentDim = checkpoint.config.latentDim;
      const input = generatorInput(average, new Rng(9).normals(128 * latentDim), latentDim);
      // How far inference mode (moving statistics) is from the batch's own statistics, on 128 faces.
      const mismatch = () =>
        tf.tidy(() => {
          const z = tf.tensor2d(input, [128, input.length / 128]);
          const inference = average.predict(z) as tf.Tensor;
          const own = tf.tidy(() => {
            const saved = average.nonTrainableWeights.map((w) => w.read().clone());
            const out = average.apply(z, { training: true }) as tf.Tensor;
            average.nonTrainableWeights.forEach((w, i) => w.write(saved[i]!));
            return out;
          });
          return tf.mean(tf.abs(tf.sub(inference, own))).dataSync()[0]!;
        });
      // As checkpoints before calibration held it: G's statistics in the average.
      average.nonTrainableWeights.forEach((w, i) => w.write(checkpoint.gan.generator.nonTrainableWeights[i]!.read().clone()));
      const before = mismatch();
      calibrateBatchNorm(average, latentDim);
      const after = mismatch();
      expect(after).toBeLessThan(before / 2);
      // Calibrating again repeats exactly.
      const once = average.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()));
      calibrateBatchNorm(average, latentDim);
      expect(average.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()))).toEqual(once);
    } finally {
      checkpoint.gan.generator.dispose();
      checkpoint.gan.discriminator.dispose();
      checkpoint.gan.projection?.dispose();
      average.dispose();
    }
  });

  it('fakeface generate on a conditional run: the faces asked for, at the run\'s size; unknown labels are one-line errors', async () => {
    const run = join(work, 'straight');
    const out = join(work, 'older-women');
    const made = await runCli(['generate', '--run', run, '-n', '3', '--age', '60-80', '--gender', 'female', '--race', 'asian', '--separate', '--out', out]);
    expect(made.code, made.stderr).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(['face_0000.png', 'face_0001.png', 'face_0002.png']);
    for (const file of files) expect(await sharp(join(out, file)).metadata()).toMatchObject({ width: 32, height: 32, channels: 3 });

    expectOneLineError(await runCli(['generate', '--run', run, '--gender', 'robot', '--out', join(work, 'x.png')]), /^fakeface: unknown --gender "robot": one of male, female$/);
    expectOneLineError(await runCli(['generate', '--run', run, '--age', '200', '--out', join(work, 'x.png')]), /^fakeface: unknown --age "200": an age from 1 to 116 or one of 1-12, /);
    expectOneLineError(await runCli(['generate', '--run', run, '--race', 'martian', '--out', join(work, 'x.png')]), /^fakeface: unknown --race "martian": one of white, black, asian, indian, others$/);

    // An unconditional run refuses labels.
    const plain = await train(options('plain', { overrides: { limit: 40, iterations: 2, batchSize: 8, sampleEvery: 0 } }));
    expect(plain.status).toBe('finished');
    expectOneLineError(await runCli(['generate', '--run', join(work, 'plain'), '--gender', 'female', '--out', join(work, 'x.png')]), /is not a conditional run: it cannot take --age, --gender or --race/);
  }, 300_000);
});
