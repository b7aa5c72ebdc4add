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
    if (isConditioned(request) && !config.conditional) {
      throw new UsageError(`${runDir} is not a conditional run: it cannot take --age, --gender or --race`, 'train one with fakeface train --conditional');
    }
    const noise = new Rng(seed).normals(count * config.latentDim);
    const labelRng = new Rng((seed + LABEL_SEED_OFFSET) >>> 0);
    const conditions = config.conditional ? oneHotConditions(resolveConditions(request, count, () => labelRng.uniform())) : undefined;
    return { ...generateImages(model, noise, config.latentDim, conditions), iteration };
  } finally {
    model.dispose();
  }
}
