import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';
import { buildMlpDiscriminator, buildMlpGenerator, type SeedSource } from './mlp.js';

export { buildMlpGenerator, buildMlpDiscriminator, countParams, activationFloatsPerImage } from './mlp.js';

export interface Gan {
  generator: tfl.LayersModel;
  discriminator: tfl.LayersModel;
}

/** Builds the generator and discriminator a config describes. */
export function buildGan(config: TrainConfig, nextSeed: SeedSource): Gan {
  switch (config.architecture) {
    case 'mlp':
      return { generator: buildMlpGenerator(config, nextSeed), discriminator: buildMlpDiscriminator(config, nextSeed) };
  }
}

/** Trainable parameters of G and D for a config, without building them. */
export function parameterCount(config: TrainConfig): number {
  const pixels = config.resolution * config.resolution * 3;
  const denseParams = (widths: number[]) => widths.slice(1).reduce((sum, w, i) => sum + (widths[i]! + 1) * w, 0);
  const batchNormParams = 2 * config.generatorUnits.reduce((a, b) => a + b, 0);
  const generator = denseParams([config.latentDim, ...config.generatorUnits, pixels]) + batchNormParams;
  const discriminator = denseParams([pixels, ...config.discriminatorUnits, 1]);
  return generator + discriminator;
}
