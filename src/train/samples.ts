import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { encodePng, tileGrid, writeFileAtomic } from '../data/index.js';

type Images = { pixels: Float32Array; count: number; height: number; width: number };

function predictImages(generator: tfl.LayersModel, noise: Float32Array, latentDim: number): { images: tf.Tensor4D; count: number } {
  const count = noise.length / latentDim;
  return { images: tf.tidy(() => generator.predict(tf.tensor2d(noise, [count, latentDim])) as tf.Tensor4D), count };
}

/** Runs G in inference mode on the given latent vectors and returns the images (NHWC, [-1, 1]). */
export function generateImages(generator: tfl.LayersModel, noise: Float32Array, latentDim: number): Images {
  const { images, count } = predictImages(generator, noise, latentDim);
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
