import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CONDITION_SIZE, oneHotConditions, resolveConditions, withConditions } from '../data/conditions.js';
import { encodePng, tileGrid, writeFileAtomic } from '../data/index.js';
import { Rng } from './rng.js';

type Images = { pixels: Float32Array; count: number; height: number; width: number };

/** Seed of the labels given to a conditional generator by callers that ask for none: the same faces every time. */
const ANY_LABELS_SEED = 0x1abe1;

/**
 * G's input for these latent vectors: the noise itself, or for a conditional
 * generator (its input CONDITION_SIZE longer) the noise with one-hot labels appended:
 * the ones given, else labels drawn uniformly from a fixed seed.
 */
export function generatorInput(generator: tfl.LayersModel, noise: Float32Array, latentDim: number, conditions?: Float32Array): Float32Array {
  const inputSize = generator.inputs[0]!.shape[1];
  const count = noise.length / latentDim;
  if (inputSize === latentDim) {
    if (conditions) throw new Error('labels given to an unconditional generator');
    return noise;
  }
  if (inputSize !== latentDim + CONDITION_SIZE) throw new Error(`the generator takes ${inputSize} inputs, not ${latentDim} (+ ${CONDITION_SIZE} labels)`);
  const rng = new Rng(ANY_LABELS_SEED);
  return withConditions(noise, latentDim, conditions ?? oneHotConditions(resolveConditions({}, count, () => rng.uniform())));
}

function predictImages(generator: tfl.LayersModel, noise: Float32Array, latentDim: number, conditions?: Float32Array): { images: tf.Tensor4D; count: number } {
  const count = noise.length / latentDim;
  const input = generatorInput(generator, noise, latentDim, conditions);
  return { images: tf.tidy(() => generator.predict(tf.tensor2d(input, [count, input.length / count])) as tf.Tensor4D), count };
}

/**
 * Runs G in inference mode on the given latent vectors and returns the images (NHWC, [-1, 1]).
 * A conditional generator gets `conditions` (one-hot, count x CONDITION_SIZE), or random labels.
 */
export function generateImages(generator: tfl.LayersModel, noise: Float32Array, latentDim: number, conditions?: Float32Array): Images {
  const { images, count } = predictImages(generator, noise, latentDim, conditions);
  const pixels = images.dataSync() as Float32Array;
  images.dispose();
  return { pixels, count, height: images.shape[1], width: images.shape[2] };
}

/** generateImages with an asynchronous read: the only kind GPU backends in Node offer. */
export async function generateImagesAsync(generator: tfl.LayersModel, noise: Float32Array, latentDim: number): Promise<Images> {
  const { images, count } = predictImages(generator, noise, latentDim);
  const pixels = (await images.data()) as Float32Array;
  images.dispose();
  return { pixels, count, height: images.shape[1], width: images.shape[2] };
}

/** Renders the images into one PNG grid. */
export async function renderGridPng(images: Images, columns?: number): Promise<Buffer> {
  const grid = tileGrid(images.pixels, images.count, images.height, images.width, columns);
  return encodePng(grid.pixels, grid.height, grid.width);
}

/** Writes G's faces for the fixed noise as a PNG grid (atomically). */
export async function writeSampleGrid(generator: tfl.LayersModel, fixedNoise: Float32Array, latentDim: number, file: string): Promise<void> {
  await writeFileAtomic(file, await renderGridPng(await generateImagesAsync(generator, fixedNoise, latentDim)));
}
