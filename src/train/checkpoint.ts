import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { defaults, type TrainConfig } from '../config/index.js';
import { writeFileAtomic } from '../data/index.js';
import { CheckpointMismatchError, RunNotFoundError } from '../errors.js';
import { calibrateBatchNorm } from './ema.js';
import { loadLayersModel, saveLayersModel } from '../models/io.js';
import type { Gan } from '../models/index.js';
import { isModelPack, readModelPackCard } from '../models/pack.js';
import type { CollapseState } from './collapse.js';
import type { RngState } from './rng.js';
import { runPaths, stepName } from './run-folder.js';

/**
 * A checkpoint is everything a run needs to continue exactly where it was:
 * both models (tfjs layers format), both Adam states (moments, iteration count
 * and the running beta powers), the RNG state and the iteration. It is written
 * into a temporary folder and renamed into place, then `latest.json` is
 * replaced atomically: a kill at any moment leaves the previous one intact.
 */
export interface TrainingState {
  iteration: number;
  rng: RngState;
  collapse: CollapseState;
}

interface OptimizerFile {
  specs: tf.io.WeightsManifestEntry[];
  /** Adam's running beta1^t and beta2^t, saved as they are: recomputing them on load would change the last bits. */
  accBeta: [number, number] | null;
}

interface CheckpointJson {
  format: 'fakeface-checkpoint/1';
  state: TrainingState;
  config: TrainConfig;
  optimizers: { generator: OptimizerFile; discriminator: OptimizerFile };
}

export interface Optimizers {
  generator: tf.Optimizer;
  discriminator: tf.Optimizer;
}

export interface LoadedCheckpoint {
  dir: string;
  gan: Gan;
  /** The moving average of G's weights, in runs trained with --ema. */
  ema: tfl.LayersModel | null;
  state: TrainingState;
  config: TrainConfig;
  /** Restores both optimizers' state into freshly built optimizers (call after their variables exist or before the first step). */
  restoreOptimizers(optimizers: Optimizers): Promise<void>;
}

/** Adam's running beta powers: variables in tf.train.adam, plain numbers in FusedAdamOptimizer. */
type AdamInternals = { accBeta1?: tf.Variable | number; accBeta2?: tf.Variable | number };

function readPower(value: tf.Variable | number): number {
  return typeof value === 'number' ? value : value.dataSync()[0]!;
}

async function saveOptimizer(optimizer: tf.Optimizer, file: string): Promise<OptimizerFile> {
  const weights = await optimizer.getWeights();
  // getWeights() makes a fresh scalar for the step count (saveIterations); the moments are the optimizer's own.
  const { data, specs } = await tf.io.encodeWeights(weights).finally(() => tf.dispose(weights.filter((w) => w.name === 'iter').map((w) => w.tensor)));
  await writeFile(file, Buffer.from(data));
  const { accBeta1, accBeta2 } = optimizer as unknown as AdamInternals;
  const accBeta: [number, number] | null = accBeta1 !== undefined && accBeta2 !== undefined ? [readPower(accBeta1), readPower(accBeta2)] : null;
  return { specs, accBeta };
}

async function restoreOptimizer(optimizer: tf.Optimizer, file: string, saved: OptimizerFile): Promise<void> {
  const buffer = await readFile(file);
  const decoded = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer, saved.specs);
  const named = saved.specs.map((spec) => ({ name: spec.name, tensor: decoded[spec.name]! }));
  await optimizer.setWeights(named);
  tf.dispose(Object.values(decoded));
  const internals = optimizer as unknown as AdamInternals;
  if (saved.accBeta && internals.accBeta1 !== undefined && internals.accBeta2 !== undefined) {
    if (typeof internals.accBeta1 === 'number') {
      internals.accBeta1 = saved.accBeta[0];
      internals.accBeta2 = saved.accBeta[1];
    } else {
      tf.tidy(() => {
        (internals.accBeta1 as tf.Variable).assign(tf.scalar(saved.accBeta![0]));
        (internals.accBeta2 as tf.Variable).assign(tf.scalar(saved.accBeta![1]));
      });
    }
  }
}

/** Folders beside generator/ and discriminator/ in runs that use them: G's moving average (--ema), D's class projection (--conditional), D's class head (--aux-classifier). */
const GENERATOR_EMA = 'generator-ema';
const PROJECTION = 'projection';
/** D's class head (--aux-classifier). */
const CLASSIFIER = 'classifier';

export async function saveCheckpoint(
  runDir: string,
  gan: Gan,
  optimizers: Optimizers,
  config: TrainConfig,
  state: TrainingState,
  keep: number,
  ema?: tfl.LayersModel,
): Promise<string> {
  const root = runPaths(runDir).checkpoints;
  const name = stepName(state.iteration);
  const finalDir = join(root, name);
  const tmpDir = join(root, `.tmp-${name}-${process.pid}`);
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  try {
    await saveLayersModel(gan.generator, join(tmpDir, 'generator'));
    await saveLayersModel(gan.discriminator, join(tmpDir, 'discriminator'));
    if (gan.projection) await saveLayersModel(gan.projection, join(tmpDir, PROJECTION));
    if (gan.classifier) await saveLayersModel(gan.classifier, join(tmpDir, CLASSIFIER));
    if (ema) await saveLayersModel(ema, join(tmpDir, GENERATOR_EMA));
    const checkpoint: CheckpointJson = {
      format: 'fakeface-checkpoint/1',
      state,
      config,
      optimizers: {
        generator: await saveOptimizer(optimizers.generator, join(tmpDir, 'optimizer-generator.bin')),
        discriminator: await saveOptimizer(optimizers.discriminator, join(tmpDir, 'optimizer-discriminator.bin')),
      },
    };
    await writeFile(join(tmpDir, 'checkpoint.json'), JSON.stringify(checkpoint));
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmpDir, finalDir);
  } catch (error) {
    await rm(tmpDir, { recursive: true, force: true });
    throw error;
  }
  await writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ checkpoint: name, iteration: state.iteration }) + '\n');
  await pruneCheckpoints(root, keep);
  return finalDir;
}

async function completeCheckpoints(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const names = (await readdir(root)).filter((n) => /^step_\d+$/.test(n) && existsSync(join(root, n, 'checkpoint.json')));
  return names.sort();
}

async function pruneCheckpoints(root: string, keep: number): Promise<void> {
  const names = await completeCheckpoints(root);
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    // Renamed out of the way first: a kill mid-removal must not leave a step_* folder that looks complete.
    const doomed = join(root, `.tmp-prune-${name}-${process.pid}`);
    await rename(join(root, name), doomed);
    await rm(doomed, { recursive: true, force: true });
  }
  // Temporary folders left by a killed process.
  for (const name of await readdir(root)) {
    if (name.startsWith('.tmp-') && !name.endsWith(`-${process.pid}`)) await rm(join(root, name), { recursive: true, force: true });
  }
}

/** The newest complete checkpoint folder of a run, or null when it has none. */
export async function latestCheckpointDir(runDir: string): Promise<string | null> {
  const root = runPaths(runDir).checkpoints;
  try {
    const latest = JSON.parse(await readFile(join(root, 'latest.json'), 'utf8')) as { checkpoint: string };
    const dir = join(root, latest.checkpoint);
    if (/^step_\d+$/.test(latest.checkpoint) && existsSync(join(dir, 'checkpoint.json'))) return dir;
  } catch {
    // latest.json missing or cut short: fall back to the newest complete folder.
  }
  const names = await completeCheckpoints(root);
  return names.length ? join(root, names[names.length - 1]!) : null;
}

async function readCheckpointJson(dir: string): Promise<CheckpointJson> {
  let parsed: CheckpointJson;
  try {
    parsed = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8')) as CheckpointJson;
  } catch (error) {
    throw new CheckpointMismatchError(`${dir}: unreadable checkpoint (${(error as Error).message})`);
  }
  if (parsed.format !== 'fakeface-checkpoint/1') throw new CheckpointMismatchError(`${dir}: unknown checkpoint format ${String(parsed.format)}`);
  // Checkpoints written before an option existed trained without it.
  return { ...parsed, config: { ...defaults, ...parsed.config } };
}

export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const json = await readCheckpointJson(dir);
  const gan: Gan = { generator: await loadLayersModel(join(dir, 'generator')), discriminator: await loadLayersModel(join(dir, 'discriminator')) };
  if (existsSync(join(dir, PROJECTION))) gan.projection = await loadLayersModel(join(dir, PROJECTION));
  if (existsSync(join(dir, CLASSIFIER))) gan.classifier = await loadLayersModel(join(dir, CLASSIFIER));
  const ema = existsSync(join(dir, GENERATOR_EMA)) ? await loadLayersModel(join(dir, GENERATOR_EMA)) : null;
  if (json.config.ema > 0 && !ema) throw new CheckpointMismatchError(`${dir}: the run averages G's weights (ema ${json.config.ema}) but the checkpoint holds no ${GENERATOR_EMA}/`);
  if (json.config.conditional && !gan.projection) throw new CheckpointMismatchError(`${dir}: the run is conditional but the checkpoint holds no ${PROJECTION}/`);
  if (json.config.auxClassifier > 0 && !gan.classifier) throw new CheckpointMismatchError(`${dir}: the run has a class head (auxClassifier ${json.config.auxClassifier}) but the checkpoint holds no ${CLASSIFIER}/`);
  return {
    dir,
    gan,
    ema,
    state: json.state,
    config: json.config,
    async restoreOptimizers(optimizers: Optimizers) {
      await restoreOptimizer(optimizers.generator, join(dir, 'optimizer-generator.bin'), json.optimizers.generator);
      await restoreOptimizer(optimizers.discriminator, join(dir, 'optimizer-discriminator.bin'), json.optimizers.discriminator);
    },
  };
}

/** Where a run's (or an exported generator's) newest models live, with the config and iteration they were made at. */
async function locateRunModels(runDir: string): Promise<{ dir: string; config: TrainConfig; iteration: number; exported: boolean }> {
  if (!existsSync(runDir)) throw new RunNotFoundError(`run folder not found: ${runDir}`);
  if (isModelPack(runDir)) {
    const card = await readModelPackCard(runDir);
    return { dir: runDir, config: { ...defaults, ...card.config }, iteration: card.iteration, exported: true };
  }
  const dir = await latestCheckpointDir(runDir);
  if (!dir) throw new RunNotFoundError(`${runDir} holds no checkpoint yet`, 'a run saves one every --checkpoint-every iterations');
  const json = await readCheckpointJson(dir);
  return { dir, config: json.config, iteration: json.state.iteration, exported: false };
}

/** The config and iteration of a run's newest checkpoint (or of an exported generator), without loading weights. */
export async function readRunConfig(runDir: string): Promise<{ config: TrainConfig; iteration: number }> {
  const { config, iteration } = await locateRunModels(runDir);
  return { config, iteration };
}

/**
 * Loads one model of a run's newest checkpoint, for `generate` and `detect`; also
 * the generator of an exported model folder (`fakeface export`, the built-in models).
 * The generator of a run trained with --ema is its moving average (what the run's
 * sample grids show). The discriminator of a conditional run is its unconditional
 * part (the projection term needs labels a photo to check does not carry).
 */
export async function loadRunModel(runDir: string, which: 'generator' | 'discriminator'): Promise<{ model: tfl.LayersModel; config: TrainConfig; iteration: number }> {
  const { dir, config, iteration, exported } = await locateRunModels(runDir);
  if (exported && which !== 'generator') throw new RunNotFoundError(`${runDir} is an exported generator: it has no ${which}`, 'use a training run folder, or a detector with --detector');
  const folder = which === 'generator' && !exported && existsSync(join(dir, GENERATOR_EMA)) ? GENERATOR_EMA : which;
  const model = await loadLayersModel(join(dir, folder));
  // Checkpoints written before calibration existed hold G's BatchNorm statistics in the average; calibrating again repeats exactly.
  if (folder === GENERATOR_EMA) calibrateBatchNorm(model, config.latentDim);
  return { model, config, iteration };
}
