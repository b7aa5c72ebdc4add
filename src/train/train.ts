import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveConfig, toConfigKey, validateStoredConfig, type Overrides, type TrainConfig } from '../config/index.js';
import { withConditions } from '../data/conditions.js';
import { copyBatch, loadFaceFolder, writeFileAtomic, type FaceDataset } from '../data/index.js';
import { estimateTrainingBytes, initEngine, type EngineInfo, type EngineOptions } from '../engine/index.js';
import { ConfigError, UsageError } from '../errors.js';
import { buildGan, buildGenerator, countParams, generatorInputSize, modelSize, type Gan } from '../models/index.js';
import { latestCheckpointDir, loadCheckpoint, saveCheckpoint, type Optimizers } from './checkpoint.js';
import { flipHorizontally, instanceNoiseAt } from './augment.js';
import { labelledFaces, type LabelledFaces } from './conditional-batches.js';
import { drawDiffAugment } from './diff-augment.js';
import { GeneratorEma } from './ema.js';
import { CollapseDetector } from './collapse.js';
import { createAdam } from './optimizer.js';
import { Rng } from './rng.js';
import {
  appendMetrics,
  ensureRunFolders,
  isRunFolder,
  readRunData,
  recordRunCommand,
  runPaths,
  stepName,
  removeStaleTempFiles,
  truncateMetrics,
  writeRunData,
  writeRunState,
  type MetricsRecord,
  type RunStatus,
} from './run-folder.js';
import { acquireRunLock } from './run-lock.js';
import { writeSampleGrid } from './samples.js';
import { ResidentBatches } from './resident-batches.js';
import { GanStepper, type StepInputs } from './step.js';

export interface TrainOptions {
  /** Folder of face images. On resume it defaults to the folder the run recorded (data.json). */
  dataDir?: string;
  /** Run folder to create (or to continue with `resume`). */
  outDir: string;
  preset?: string;
  /**
   * Config keys to override (flags). On resume the schedule may change freely, the
   * recipe (learning rate, batch size …) with a warning, the model not at all.
   */
  overrides?: Overrides;
  /** Continue the run in `outDir` from its newest checkpoint. */
  resume?: boolean;
  /** Where decoded datasets are cached; false turns the cache off. */
  cacheDir?: string | false;
  engine?: EngineOptions;
  /**
   * Measures the generator every `evalEvery` iterations (e.g. FID/KID against
   * held-out faces); the numbers it returns join that iteration's metrics line.
   */
  evaluate?: (generator: tfl.LayersModel, iteration: number) => Promise<Record<string, number>>;
  /** The command line that started (or resumed) the run, recorded in its commands.txt. */
  commandLine?: string;
}

export interface TrainStart {
  config: TrainConfig;
  /** The data folder trained on (absolute). */
  dataDir: string;
  engine: EngineInfo;
  images: number;
  skipped: number;
  /** Conditional runs: photos left out for missing or malformed labels (they are not in `images`). */
  unlabelled: number;
  fromCache: boolean;
  startIteration: number;
  generatorParams: number;
  discriminatorParams: number;
}

export interface TrainHooks {
  onStart?(start: TrainStart): void;
  onDataProgress?(done: number, total: number): void;
  onIteration?(record: MetricsRecord): void;
  /** A sample grid or checkpoint was written. */
  onEvent?(message: string): void;
  warn?(message: string): void;
  /** Polled after every iteration: true saves a checkpoint and returns (Ctrl-C). */
  shouldStop?(): boolean;
}

export interface TrainResult {
  status: RunStatus;
  iteration: number;
  stopReason: string | null;
  runDir: string;
}

/** What may change freely when a run is resumed: its schedule. */
const RESUMABLE_KEYS = new Set(['iterations', 'sampleEvery', 'sampleCount', 'evalEvery', 'checkpointEvery', 'keepCheckpoints', 'earlyStopPatience']);
/**
 * What may change on resume with a warning: the recipe, which the restored weights and
 * Adam moments do not depend on. The run then no longer matches one uninterrupted run.
 * Everything else (architecture, sizes, activation, seed …) made the checkpoint's
 * weights and cannot change.
 */
const RECIPE_KEYS = new Set(['learningRate', 'beta1', 'beta2', 'epsilon', 'batchSize', 'labelSmoothing', 'instanceNoise', 'flipAugment', 'limit', 'diffAugment', 'loss']);

/** Fixed noise for sample grids: drawn from its own seed, so every grid of a run (resumed or not) uses the same faces. */
function fixedNoiseFor(config: TrainConfig): Float32Array {
  return new Rng(config.seed ^ 0x5eed5eed).normals(config.sampleCount * config.latentDim);
}

async function resolveRunConfig(options: TrainOptions, warn: (message: string) => void): Promise<TrainConfig> {
  const overrides = options.overrides ?? {};
  if (!options.resume) {
    if (isRunFolder(options.outDir)) {
      throw new UsageError(`${options.outDir} already holds a run`, 'pass --resume to continue it, or choose another --out');
    }
    return resolveConfig(options.preset, overrides);
  }
  if (!isRunFolder(options.outDir)) throw new UsageError(`--resume: ${options.outDir} holds no run to resume`);
  const stored = validateStoredConfig(JSON.parse(await readFile(runPaths(options.outDir).config, 'utf8')), runPaths(options.outDir).config);
  if (options.preset && options.preset !== stored.preset) {
    throw new ConfigError(`--resume: the run was started with preset ${stored.preset}, not ${options.preset}`);
  }
  const merged = resolveConfig('default', { ...stored, ...overrides });
  const changedRecipe: string[] = [];
  for (const key of Object.keys(overrides).map(toConfigKey)) {
    const [before, after] = [stored[key as keyof TrainConfig], merged[key as keyof TrainConfig]];
    if (JSON.stringify(before) === JSON.stringify(after) || RESUMABLE_KEYS.has(key)) continue;
    if (!RECIPE_KEYS.has(key)) {
      throw new ConfigError(
        `--resume: cannot change ${key} of an existing run (${JSON.stringify(before)}): its checkpoints hold weights made with it`,
        `start a new run (--out) to change it; a resume may change the schedule (${[...RESUMABLE_KEYS].join(', ')}), and with a warning the recipe (${[...RECIPE_KEYS].join(', ')})`,
      );
    }
    changedRecipe.push(`${key} ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  }
  if (changedRecipe.length > 0) warn(`--resume: changing the run's recipe (${changedRecipe.join(', ')}): from here on it differs from the run it started as`);
  return merged;
}

/**
 * The data folder: the one given, else (on resume) the one the run recorded. A
 * different folder than the recorded one is used, with a warning.
 */
async function resolveDataDir(options: TrainOptions, warn: (message: string) => void): Promise<string> {
  const recorded = options.resume ? await readRunData(options.outDir) : null;
  if (options.dataDir === undefined) {
    if (!options.resume) throw new UsageError('no data folder given', 'point --data at a folder of face images');
    if (!recorded) throw new UsageError(`--resume: ${options.outDir} does not record its data folder (it was started by an older fakeface)`, 'give it once: --data DIR');
    return recorded.dir;
  }
  const dir = resolve(options.dataDir);
  if (recorded && recorded.dir !== dir) warn(`--resume: training on ${dir}, not on the run's own data ${recorded.dir}: from here on it differs from the run it started as`);
  return dir;
}

/** Bytes a training run of this config needs (weights, gradients, Adam moments, activations). */
export function estimateRunBytes(config: TrainConfig): number {
  const size = modelSize(config);
  return estimateTrainingBytes(size.params, size.activationFloatsPerImage * config.batchSize * 2);
}

/**
 * Trains the GAN a config describes on a folder of faces, writing the run
 * folder as it goes. Returns when the run finishes, stops early, or is
 * interrupted (hooks.shouldStop), always with a checkpoint on disk.
 *
 * Holds the run folder's lock (.lock) throughout: a second trainer on the same
 * folder fails with RunLockedError naming this process. A failure before the
 * run wrote anything leaves no folder behind.
 */
export async function train(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const warn = hooks.warn ?? ((message: string) => console.warn(message));
  const lock = acquireRunLock(options.outDir, { command: options.commandLine, warn });
  try {
    return await trainLocked(options, hooks, warn);
  } finally {
    lock.release();
  }
}

async function trainLocked(options: TrainOptions, hooks: TrainHooks, warn: (message: string) => void): Promise<TrainResult> {
  const config = await resolveRunConfig(options, warn);
  const dataDir = await resolveDataDir(options, warn);
  const runDir = options.outDir;
  const engine = await initEngine({
    ...options.engine,
    retainFreedMemory: true,
    estimatedBytes: estimateRunBytes(config),
  });

  const dataset: FaceDataset = await loadFaceFolder(dataDir, {
    height: config.resolution,
    width: config.resolution,
    limit: config.limit || undefined,
    cacheDir: options.cacheDir,
    onProgress: hooks.onDataProgress,
    warn: hooks.warn,
  });

  let gan: Gan;
  let trainRng: Rng;
  let collapse: CollapseDetector;
  let startIteration = 0;
  const optimizers: Optimizers = {
    generator: createAdam(config),
    discriminator: createAdam(config),
  };
  // Conditional runs train only on photos with every label (UTKFace names; two in crop_part1 are malformed).
  const labelled: LabelledFaces | null = config.conditional ? labelledFaces(dataset, dataDir) : null;
  let ema: GeneratorEma | null = null;
  // A trainer killed mid-write (kill -9, power cut) leaves temporary files; this one holds the lock.
  if (options.resume) await removeStaleTempFiles(runDir);
  const checkpointDir = options.resume ? await latestCheckpointDir(runDir) : null;
  if (checkpointDir) {
    const checkpoint = await loadCheckpoint(checkpointDir);
    gan = checkpoint.gan;
    if (config.ema > 0) ema = GeneratorEma.restored(checkpoint.ema!, config.ema);
    await checkpoint.restoreOptimizers(optimizers);
    trainRng = Rng.fromState(checkpoint.state.rng);
    collapse = new CollapseDetector(config.earlyStopPatience, checkpoint.state.collapse);
    startIteration = checkpoint.state.iteration;
    await truncateMetrics(runDir, startIteration);
    // The config as resumed: what changed (schedule, recipe) is the run's config from here on.
    await writeFileAtomic(runPaths(runDir).config, JSON.stringify(config, null, 2) + '\n');
  } else {
    const initRng = new Rng(config.seed);
    gan = buildGan(config, () => initRng.childSeed());
    // The average starts at G's initial weights; its shell's own init is overwritten (no seeds drawn).
    if (config.ema > 0) ema = GeneratorEma.startFrom(gan.generator, buildGenerator(config, () => 0), config.ema);
    trainRng = new Rng(config.seed ^ 0xa5a5a5a5);
    collapse = new CollapseDetector(config.earlyStopPatience);
    await mkdir(runDir, { recursive: true });
    await writeFileAtomic(runPaths(runDir).config, JSON.stringify(config, null, 2) + '\n');
    await truncateMetrics(runDir, 0);
  }
  await ensureRunFolders(runDir);
  await writeRunData(runDir, { dir: dataDir });
  if (options.commandLine) await recordRunCommand(runDir, options.commandLine);

  hooks.onStart?.({
    config,
    dataDir,
    engine,
    images: labelled ? labelled.indices.length : dataset.count,
    skipped: dataset.skipped.length,
    unlabelled: labelled ? dataset.count - labelled.indices.length : 0,
    fromCache: dataset.fromCache,
    startIteration,
    generatorParams: countParams(gan.generator),
    discriminatorParams: countParams(gan.discriminator),
  });

  const imageShape: [number, number, number] = [config.resolution, config.resolution, 3];
  const stepper = new GanStepper(gan, optimizers.generator, optimizers.discriminator, imageShape, generatorInputSize(config), {
    labelSmoothing: config.labelSmoothing,
    loss: config.loss,
    auxClassifier: config.auxClassifier,
    // Radford et al.'s DCGAN (and PyTorch's example) trains D on G's batch-statistics output.
    fakesFor: config.architecture === 'dcgan' ? 'training' : 'inference',
  });
  const fixedNoise = fixedNoiseFor(config);
  // On the GPU the images stay there and batches are gathered there (see resident-batches.ts).
  const resident = engine.backend === 'webgpu' ? ResidentBatches.create(dataset) : null;
  const batchBuffer = resident ? null : new Float32Array(config.batchSize * imageShape[0] * imageShape[1] * 3);
  const state = (status: RunStatus, iteration: number, stopReason: string | null = null) =>
    writeRunState(runDir, { status, iteration, iterations: config.iterations, updatedAt: new Date().toISOString(), stopReason, engine: engine.description });
  // What sample grids and evaluations show: G's moving average when the run keeps one.
  // The average's BatchNorm statistics are its own (calibrated from fixed noise; training never reads them).
  const sampler = () => ema?.calibrated(config.latentDim) ?? gan.generator;
  const checkpoint = async (iteration: number) => {
    const dir = await saveCheckpoint(runDir, gan, optimizers, config, { iteration, rng: trainRng.state(), collapse: collapse.state() }, config.keepCheckpoints, ema?.calibrated(config.latentDim));
    hooks.onEvent?.(`checkpoint ${dir}`);
  };

  let iteration = startIteration;
  let status: RunStatus = 'finished';
  let stopReason: string | null = null;
  await state('running', iteration);
  try {
    while (iteration < config.iterations) {
      const started = performance.now();
      const drawn = trainRng.indices(config.batchSize, labelled ? labelled.indices.length : dataset.count);
      const indices = labelled ? drawn.map((i) => labelled.indices[i]!) : drawn;
      const flips = config.flipAugment ? Array.from({ length: config.batchSize }, () => trainRng.uniform() < 0.5) : undefined;
      let real: Float32Array | tf.Tensor4D;
      if (resident) {
        real = resident.batch(indices, flips);
      } else {
        real = copyBatch(dataset, indices, batchBuffer!);
        if (flips) flipHorizontally(real, flips, config.resolution, config.resolution);
      }
      let noiseForD = trainRng.normals(config.batchSize * config.latentDim);
      let noiseForG = trainRng.normals(config.batchSize * config.latentDim);
      const instanceNoise = instanceNoiseAt(config.instanceNoise, iteration, config.iterations);
      const instanceNoiseSeed = instanceNoise > 0 ? trainRng.childSeed() : 0;
      // The options' draws come after today's, and only when on: runs without them draw exactly as before.
      let conditions: StepInputs['conditions'];
      if (labelled) {
        conditions = labelled.batchConditions(indices, trainRng);
        noiseForD = withConditions(noiseForD, config.latentDim, conditions.fakeForD);
        noiseForG = withConditions(noiseForG, config.latentDim, conditions.fakeForG);
      }
      const uniform = () => trainRng.uniform();
      const augment: StepInputs['augment'] =
        config.diffAugment.length > 0
          ? {
              real: drawDiffAugment(config.diffAugment, config.batchSize, config.resolution, config.resolution, uniform),
              fakeForD: drawDiffAugment(config.diffAugment, config.batchSize, config.resolution, config.resolution, uniform),
              fakeForG: drawDiffAugment(config.diffAugment, config.batchSize, config.resolution, config.resolution, uniform),
            }
          : undefined;
      const metrics = await stepper.stepAsync({ real, noiseForD, noiseForG, instanceNoise, instanceNoiseSeed, augment, conditions }).finally(() => {
        if (real instanceof tf.Tensor) real.dispose();
      });
      ema?.update(gan.generator);
      iteration++;
      const record: MetricsRecord = { iteration, ...metrics, ms: Math.round((performance.now() - started) * 10) / 10 };
      if (options.evaluate && config.evalEvery > 0 && (iteration % config.evalEvery === 0 || iteration === config.iterations)) {
        Object.assign(record, await options.evaluate(sampler(), iteration));
      }
      await appendMetrics(runDir, [record]);
      hooks.onIteration?.(record);

      if (!Number.isFinite(metrics.dLossReal + metrics.dLossFake + metrics.gLoss)) {
        status = 'stopped-early';
        stopReason = `diverged: a loss became ${metrics.gLoss} at iteration ${iteration}`;
      } else {
        stopReason = collapse.observe(metrics.dAcc, metrics.gLoss);
        if (stopReason) status = 'stopped-early';
      }
      if (config.sampleEvery > 0 && (iteration % config.sampleEvery === 0 || iteration === config.iterations)) {
        const file = join(runPaths(runDir).samples, `${stepName(iteration)}.png`);
        await writeSampleGrid(sampler(), fixedNoise, config.latentDim, file);
        hooks.onEvent?.(`samples ${file}`);
      }
      const interrupted = hooks.shouldStop?.() ?? false;
      if (interrupted) {
        status = 'interrupted';
        stopReason = `interrupted at iteration ${iteration}`;
      }
      if (iteration % config.checkpointEvery === 0 || iteration === config.iterations || status !== 'finished') await checkpoint(iteration);
      if (status !== 'finished') break;
    }
    if (startIteration === iteration && !existsSync(join(runPaths(runDir).checkpoints, 'latest.json'))) await checkpoint(iteration);
  } catch (error) {
    resident?.dispose();
    await state('failed', iteration, (error as Error).message);
    throw error;
  }
  resident?.dispose();
  await state(status, iteration, stopReason);
  gan.generator.dispose();
  gan.discriminator.dispose();
  gan.projection?.dispose();
  gan.classifier?.dispose();
  ema?.dispose();
  optimizers.generator.dispose();
  optimizers.discriminator.dispose();
  return { status, iteration, stopReason, runDir };
}
