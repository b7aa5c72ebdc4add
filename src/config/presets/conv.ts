import type { TrainConfig } from '../defaults.js';

/** Convolutional GANs. Each lists only what differs from the defaults, and why. */
export const convPresets: Record<string, Partial<TrainConfig>> = {
  /**
   * The paper's CNN (after Keras-GAN's dcgan.py): G upsamples with 3x3 convolutions,
   * D uses 3x3 stride-2 convolutions, LeakyReLU and dropout 0.25. Here G's output is
   * built at the resolution D reads (the paper's mismatch is what its authors blamed
   * for the collapse). Keras-GAN trains it with Adam 2e-4, beta1 0.5, batch 32.
   */
  'paper-cnn': {
    architecture: 'paper-cnn',
    activation: 'relu',
    learningRate: 2e-4,
    batchSize: 32,
    dropout: 0.25,
  },
  /**
   * DCGAN of Radford et al. at 64x64, as users of the field expect it (PyTorch's
   * examples/dcgan): ngf = ndf = 64, ReLU in G, LeakyReLU 0.2 in D, BatchNorm with
   * PyTorch's momentum 0.1 (Keras 0.9), Adam 2e-4, beta1 0.5, batch 64.
   */
  dcgan64: {
    architecture: 'dcgan',
    resolution: 64,
    activation: 'relu',
    batchNormMomentum: 0.9,
    baseFilters: 64,
    learningRate: 2e-4,
    batchSize: 64,
    iterations: 20_000,
  },
  /** A small DCGAN for demos and tests: 32x32, 16 base filters. */
  'dcgan-tiny': {
    architecture: 'dcgan',
    resolution: 32,
    latentDim: 32,
    activation: 'relu',
    batchNormMomentum: 0.9,
    baseFilters: 16,
    learningRate: 2e-4,
    batchSize: 32,
    iterations: 300,
    sampleEvery: 50,
    sampleCount: 16,
    checkpointEvery: 50,
  },
};
