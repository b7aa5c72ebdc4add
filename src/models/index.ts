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
