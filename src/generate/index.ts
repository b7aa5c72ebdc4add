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

/** N faces from a run's newest checkpoint; the same seed gives the same faces. */
export async function generateFromRun(runDir: string, count: number, seed: number): Promise<GeneratedFaces> {
  const { model, config, iteration } = await loadRunModel(runDir, 'generator');
  try {
    const noise = new Rng(seed).normals(count * config.latentDim);
    return { ...generateImages(model, noise, config.latentDim), iteration };
  } finally {
    model.dispose();
  }
}
