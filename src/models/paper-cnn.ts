import * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { hiddenActivation } from './dcgan.js';
import type { SeedSource } from './mlp.js';

/**
 * The paper's convolutional GAN, after Keras-GAN's dcgan.py which it followed:
 *   G: z -> Dense(128·(r/4)²) -> r/4 x r/4 x 128 -> upsample -> Conv 3x3 128 -> BN -> act
 *        -> upsample -> Conv 3x3 64 -> BN -> act -> Conv 3x3 3 (tanh)   = r x r x 3
 *   D: Conv 3x3/2 32 -> LeakyReLU -> Dropout -> Conv 3x3/2 64 -> BN -> LeakyReLU -> Dropout
 *        -> Conv 3x3/2 128 -> BN -> LeakyReLU -> Dropout -> Conv 3x3/1 256 -> BN -> LeakyReLU
 *        -> Dropout -> Dense(1, sigmoid)
 * Keras-GAN's G starts from 7x7 and ends at 28x28 (MNIST); at the paper's 120x120 that
 * mismatched D's input. Here G starts at r/4, so its output is exactly D's input.
 */
export type PaperCnnConfig = Pick<TrainConfig, 'resolution' | 'latentDim' | 'activation' | 'leakyAlpha' | 'batchNormMomentum' | 'dropout'>;

const glorot = (seed: number) => tfl.initializers.glorotUniform({ seed });

export function buildPaperCnnGenerator(config: PaperCnnConfig, nextSeed: SeedSource): tfl.Sequential {
  if (config.resolution % 4 !== 0) throw new ConfigError(`paper-cnn needs a resolution divisible by 4, not ${config.resolution}`);
  const start = config.resolution / 4;
  const model = tfl.sequential({ name: 'generator' });
  model.add(tfl.layers.dense({ units: 128 * start * start, activation: 'relu', kernelInitializer: glorot(nextSeed()), inputShape: [config.latentDim], name: 'g_project' }));
  model.add(tfl.layers.reshape({ targetShape: [start, start, 128], name: 'g_start' }));
  [128, 64].forEach((filters, i) => {
    model.add(tfl.layers.upSampling2d({ size: [2, 2], name: `g_upsample_${i + 1}` }));
    model.add(tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', kernelInitializer: glorot(nextSeed()), name: `g_conv_${i + 1}` }));
    model.add(tfl.layers.batchNormalization({ momentum: config.batchNormMomentum, name: `g_bn_${i + 1}` }));
    model.add(hiddenActivation(config, `g_act_${i + 1}`));
  });
  model.add(tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh', kernelInitializer: glorot(nextSeed()), name: 'g_image' }));
  return model;
}

export function buildPaperCnnDiscriminator(config: PaperCnnConfig, nextSeed: SeedSource): tfl.Sequential {
  const model = tfl.sequential({ name: 'discriminator' });
  const blocks: [filters: number, strides: number][] = [
    [32, 2],
    [64, 2],
    [128, 2],
    [256, 1],
  ];
  blocks.forEach(([filters, strides], i) => {
    model.add(
      tfl.layers.conv2d({
        filters,
        kernelSize: 3,
        strides,
        padding: 'same',
        kernelInitializer: glorot(nextSeed()),
        inputShape: i === 0 ? [config.resolution, config.resolution, 3] : undefined,
        name: `d_conv_${i + 1}`,
      }),
    );
    if (i > 0) model.add(tfl.layers.batchNormalization({ momentum: config.batchNormMomentum, name: `d_bn_${i + 1}` }));
    model.add(tfl.layers.leakyReLU({ alpha: 0.2, name: `d_act_${i + 1}` }));
    if (config.dropout > 0) model.add(tfl.layers.dropout({ rate: config.dropout, name: `d_dropout_${i + 1}` }));
  });
  model.add(tfl.layers.flatten({ name: 'd_flatten' }));
  model.add(tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: glorot(nextSeed()), name: 'd_out' }));
  return model;
}
