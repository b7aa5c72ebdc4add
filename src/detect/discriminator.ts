import * as tf from '@tensorflow/tfjs-core';
import { decodeImage } from '../data/index.js';
import { FakefaceError } from '../errors.js';
import { loadRunModel } from '../train/checkpoint.js';

/** The paper's detector: a GAN run's discriminator scores whole images. */
export interface DiscriminatorScore {
  file: string;
  /** D's output: probability that the image is real. Null when the file could not be read. */
  pReal: number | null;
  verdict: 'real' | 'fake' | 'error';
  error?: string;
}

/**
 * Scores each file with the discriminator of a run's newest checkpoint.
 * Images are resized to the run's resolution; an unreadable file gets an
 * error entry (the others are still scored).
 */
export async function scoreWithDiscriminator(runDir: string, files: string[], threshold = 0.5): Promise<{ scores: DiscriminatorScore[]; iteration: number; resolution: number }> {
  const { model, config, iteration } = await loadRunModel(runDir, 'discriminator');
  const size = config.resolution;
  try {
    const scores: DiscriminatorScore[] = [];
    for (const file of files) {
      let pixels: Float32Array;
      try {
        pixels = await decodeImage(file, size, size, file);
      } catch (error) {
        if (!(error instanceof FakefaceError)) throw error;
        scores.push({ file, pReal: null, verdict: 'error', error: error.message });
        continue;
      }
      const pReal = tf.tidy(() => (model.predict(tf.tensor4d(pixels, [1, size, size, 3])) as tf.Tensor).dataSync()[0]!);
      scores.push({ file, pReal, verdict: pReal > threshold ? 'real' : 'fake' });
    }
    return { scores, iteration, resolution: size };
  } finally {
    model.dispose();
  }
}
