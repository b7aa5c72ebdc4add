import type { TrainConfig } from '../defaults.js';

/**
 * A small MLP GAN for demos and tests: 32x32 faces and narrow layers, so a few
 * hundred iterations run in under a minute on two CPU cores. Same training
 * recipe as the paper (Adam beta1 0.5, LeakyReLU, BatchNorm momentum 0.8).
 */
export const tiny: Partial<TrainConfig> = {
  resolution: 32,
  latentDim: 32,
  generatorUnits: [128, 256],
  discriminatorUnits: [256, 128],
  learningRate: 2e-4,
  batchSize: 32,
  iterations: 300,
  sampleEvery: 50,
  sampleCount: 16,
  checkpointEvery: 50,
};
