import type { TrainConfig } from '../config/index.js';
import { isConditioned, oneHotConditions, resolveConditions, type ConditionRequest } from '../data/conditions.js';
import { UsageError } from '../errors.js';
import { loadRunModel } from '../train/checkpoint.js';
import { Rng } from '../train/rng.js';
import { generateImages } from '../train/samples.js';

export interface GeneratedFaces {
  pixels: Float32Array;
  count: number;
  height: number;
  width: number;
  /** Iteration of the checkpoint the faces come from. */
  iteration: number;
}

/** Seed offset of the labels drawn for the fields a request leaves open, so they do not share the noise's stream. */
const LABEL_SEED_OFFSET = 0x6c61;

/**
 * N faces from a run's newest checkpoint (its G's moving average when it keeps one);
 * the same seed gives the same faces. A conditional run's faces carry the requested
 * labels (the fields left open drawn at random per face); a request on an
 * unconditional run is a UsageError.
 */
export async function generateFromRun(runDir: string, count: number, seed: number, request: ConditionRequest = {}): Promise<GeneratedFaces> {
  const { model, config, iteration } = await loadRunModel(runDir, 'generator');
  try {
    const noise = new Rng(seed).normals(count * config.latentDim);
    return { ...generateImages(model, noise, config.latentDim, requestedLabels(runDir, config, seed, count, request)), iteration };
  } finally {
    model.dispose();
  }
}

/**
 * The one-hot labels of `count` faces drawn with `seed` (undefined for an unconditional
 * run): the requested fields, the others drawn per face from the seed. Asking an
 * unconditional run for labels is a UsageError.
 */
export function requestedLabels(runDir: string, config: Pick<TrainConfig, 'conditional'>, seed: number, count: number, request: ConditionRequest): Float32Array | undefined {
  if (isConditioned(request) && !config.conditional) {
    throw new UsageError(`${runDir} is not a conditional run: it cannot take --age, --gender or --race`, 'train one with fakeface train --conditional');
  }
  if (!config.conditional) return undefined;
  const labelRng = new Rng((seed + LABEL_SEED_OFFSET) >>> 0);
  return oneHotConditions(resolveConditions(request, count, () => labelRng.uniform()));
}

/** An interpolation strip's labels: the same for every step, those of the first face `seedA` would get (requestedLabels). */
export function interpolationLabels(runDir: string, config: Pick<TrainConfig, 'conditional'>, seedA: number, steps: number, request: ConditionRequest): Float32Array | undefined {
  const first = requestedLabels(runDir, config, seedA, 1, request);
  if (!first) return undefined;
  const labels = new Float32Array(steps * first.length);
  for (let i = 0; i < steps; i++) labels.set(first, i * first.length);
  return labels;
}
