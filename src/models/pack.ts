/**
 * An exported generator: what `fakeface export` makes of a run, and the format
 * the built-in models ship in. Only what generating needs, weights optionally
 * quantized:
 *
 *   models/dcgan64-utkface/
 *     fakeface-model.json          the card below (config, iteration, provenance, metrics)
 *     generator/model.json + weights.bin   TensorFlow.js layers format
 *
 * Everything that reads a run's generator (`generate`, `eval`, the web app) also
 * reads such a folder. It is written under a temporary name and renamed into place.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';
import { CheckpointMismatchError } from '../errors.js';
import { loadLayersModel, saveLayersModel } from './io.js';
import type { WeightDtype } from './quantize.js';

export const MODEL_PACK_FORMAT = 'fakeface-model/1';
export const MODEL_PACK_FILE = 'fakeface-model.json';

export interface ModelPackCard {
  format: typeof MODEL_PACK_FORMAT;
  name: string;
  kind: 'generator';
  createdAt: string;
  /** The training config of the run it came from (architecture, resolution, latent size …). */
  config: TrainConfig;
  /** Training iteration of the checkpoint it was exported from. */
  iteration: number;
  /** How its weights are stored. */
  weights: { dtype: WeightDtype; bytes: number; params: number };
  /** The run it came from and the command lines that made it. */
  source: { run: string; commandLines: string[] };
  /** Measured quality (FID/KID against held-out real faces, with the real-vs-real floor), when known. */
  quality?: Record<string, unknown>;
}

export const isModelPack = (dir: string): boolean => existsSync(join(dir, MODEL_PACK_FILE));

export async function readModelPackCard(dir: string): Promise<ModelPackCard> {
  const file = join(dir, MODEL_PACK_FILE);
  let card: ModelPackCard;
  try {
    card = JSON.parse(await readFile(file, 'utf8')) as ModelPackCard;
  } catch (error) {
    throw new CheckpointMismatchError(`${file}: unreadable model card (${(error as Error).message.split('\n')[0]})`);
  }
  if (card.format !== MODEL_PACK_FORMAT) throw new CheckpointMismatchError(`${file}: format "${String(card.format)}", expected "${MODEL_PACK_FORMAT}"`);
  if (card.kind !== 'generator' || typeof card.config?.latentDim !== 'number') throw new CheckpointMismatchError(`${file}: not a generator card (kind, config.latentDim)`);
  return card;
}

export async function loadModelPack(dir: string): Promise<{ model: tfl.LayersModel; card: ModelPackCard }> {
  const card = await readModelPackCard(dir);
  return { model: await loadLayersModel(join(dir, 'generator')), card };
}

/** Writes `generator` and its card as the folder `dir` (replacing one that is there), atomically. */
export async function saveModelPack(dir: string, generator: tfl.LayersModel, card: Omit<ModelPackCard, 'format' | 'kind' | 'weights'>, dtype: WeightDtype): Promise<ModelPackCard> {
  const tmp = join(dirname(dir), `.tmp-${basename(dir)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  try {
    await saveLayersModel(generator, join(tmp, 'generator'), dtype);
    const bytes = (await stat(join(tmp, 'generator', 'weights.bin'))).size;
    const full: ModelPackCard = { format: MODEL_PACK_FORMAT, kind: 'generator', ...card, weights: { dtype, bytes, params: generator.countParams() } };
    await writeFile(join(tmp, MODEL_PACK_FILE), JSON.stringify(full, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return full;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}
