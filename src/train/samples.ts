import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { encodePng, tileGrid, writeFileAtomic } from '../data/index.js';

/** Runs G in inference mode on the given latent vectors and returns the images (NHWC, [-1, 1]). */
export function generateImages(generator: tfl.LayersModel, noise: Float32Array, latentDim: number): { pixels: Float32Array; count: number; height: number; width: number } {
  const count = noise.length / latentDim;
  const images = tf.tidy(() => generator.predict(tf.tensor2d(noise, [count, latentDim])) as tf.Tensor4D);
  const [, height, width] = images.shape;
  const pixels = images.dataSync() as Float32Array;
  images.dispose();
  return { pixels, count, height, width };
}

/** Renders the images into one PNG grid. */
export async function renderGridPng(images: { pixels: Float32Array; count: number; height: number; width: number }, columns?: number): Promise<Buffer> {
  const grid = tileGrid(images.pixels, images.count, images.height, images.width, columns);
  return encodePng(grid.pixels, grid.height, grid.width);
}

/** Writes G's faces for the fixed noise as a PNG grid (atomically). */
export async function writeSampleGrid(generator: tfl.LayersModel, fixedNoise: Float32Array, latentDim: number, file: string): Promise<void> {
  await writeFileAtomic(file, await renderGridPng(generateImages(generator, fixedNoise, latentDim)));
}
