import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';
import { buildDcganDiscriminator, buildDcganGenerator } from './dcgan.js';
import { activationFloatsPerImage as mlpActivationFloats, buildMlpDiscriminator, buildMlpGenerator, countParams, type SeedSource } from './mlp.js';
import { buildPaperCnnDiscriminator, buildPaperCnnGenerator } from './paper-cnn.js';

export { buildMlpGenerator, buildMlpDiscriminator, countParams } from './mlp.js';
export { buildDcganGenerator, buildDcganDiscriminator, dcganStages } from './dcgan.js';
export { buildPaperCnnGenerator, buildPaperCnnDiscriminator } from './paper-cnn.js';

export interface Gan {
  generator: tfl.LayersModel;
  discriminator: tfl.LayersModel;
}

/** Builds the generator and discriminator a config describes. */
export function buildGan(config: TrainConfig, nextSeed: SeedSource): Gan {
  switch (config.architecture) {
    case 'mlp':
      return { generator: buildMlpGenerator(config, nextSeed), discriminator: buildMlpDiscriminator(config, nextSeed) };
    case 'dcgan':
      return { generator: buildDcganGenerator(config, nextSeed), discriminator: buildDcganDiscriminator(config, nextSeed) };
    case 'paper-cnn':
      return { generator: buildPaperCnnGenerator(config, nextSeed), discriminator: buildPaperCnnDiscriminator(config, nextSeed) };
  }
}

export interface ModelSize {
  /** Trainable parameters of G and D. */
  params: number;
  /** Floats of all layer outputs for one image through G and D (a training-memory estimate). */
  activationFloatsPerImage: number;
}

/**
 * Size of a config's models. The MLP is counted from its widths (building the
 * paper's 136M-parameter nets just to count them would cost seconds); the
 * conv nets are small, so they are built, measured and disposed.
 */
export function modelSize(config: TrainConfig): ModelSize {
  if (config.architecture === 'mlp') {
    const pixels = config.resolution * config.resolution * 3;
    const denseParams = (widths: number[]) => widths.slice(1).reduce((sum, w, i) => sum + (widths[i]! + 1) * w, 0);
    const batchNormParams = 2 * config.generatorUnits.reduce((a, b) => a + b, 0);
    const generator = denseParams([config.latentDim, ...config.generatorUnits, pixels]) + batchNormParams;
    const discriminator = denseParams([pixels, ...config.discriminatorUnits, 1]);
    return { params: generator + discriminator, activationFloatsPerImage: mlpActivationFloats(config) };
  }
  return tf.tidy(() => {
    const gan = buildGan(config, () => 0);
    const outputs = [...gan.generator.layers, ...gan.discriminator.layers].reduce(
      (sum, layer) => sum + (layer.outputShape as number[]).slice(1).reduce((a, b) => a * b, 1),
      0,
    );
    const size = { params: countParams(gan.generator) + countParams(gan.discriminator), activationFloatsPerImage: 3 * outputs };
    gan.generator.dispose();
    gan.discriminator.dispose();
    return size;
  });
}
