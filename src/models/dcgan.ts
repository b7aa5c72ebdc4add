import * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';
import { ConfigError } from '../errors.js';
import type { SeedSource } from './mlp.js';

/**
 * DCGAN (Radford et al. 2016), shaped like PyTorch's examples/dcgan at 64x64:
 *   G: z -> 4x4x(8·ngf) -> 8x8x(4·ngf) -> 16x16x(2·ngf) -> 32x32x(ngf) -> 64x64x3 (tanh)
 *      transposed 4x4 convolutions, stride 2, each followed by BatchNorm and ReLU
 *   D: 64x64x3 -> 32x32x(ndf) -> 16x16x(2·ndf) -> 8x8x(4·ndf) -> 4x4x(8·ndf) -> 1 (sigmoid)
 *      4x4 convolutions, stride 2, BatchNorm (not on the first) and LeakyReLU 0.2
 * Other resolutions 4·2^k (16, 32, 128 …) add or drop stages. Weights ~ N(0, 0.02),
 * BatchNorm gamma ~ N(1, 0.02), as the paper prescribes.
 */
export type DcganConfig = Pick<TrainConfig, 'resolution' | 'latentDim' | 'baseFilters' | 'activation' | 'leakyAlpha' | 'batchNormMomentum' | 'dropout'>;

/** Stride-2 stages between 4x4 and the resolution. */
export function dcganStages(resolution: number): number {
  const stages = Math.log2(resolution / 4);
  if (!Number.isInteger(stages) || stages < 1) {
    throw new ConfigError(`dcgan needs a resolution of 4·2^k (8, 16, 32, 64, 128 …), not ${resolution}`);
  }
  return stages;
}

const weights = (seed: number) => tfl.initializers.randomNormal({ mean: 0, stddev: 0.02, seed });

function batchNorm(config: DcganConfig, seed: number, name: string): tfl.layers.Layer {
  return tfl.layers.batchNormalization({
    momentum: config.batchNormMomentum,
    epsilon: 1e-5,
    gammaInitializer: tfl.initializers.randomNormal({ mean: 1, stddev: 0.02, seed }),
    name,
  });
}

export function hiddenActivation(config: Pick<TrainConfig, 'activation' | 'leakyAlpha'>, name: string): tfl.layers.Layer {
  return config.activation === 'relu' ? tfl.layers.reLU({ name }) : tfl.layers.leakyReLU({ alpha: config.leakyAlpha, name });
}

export function buildDcganGenerator(config: DcganConfig, nextSeed: SeedSource): tfl.Sequential {
  const stages = dcganStages(config.resolution);
  const model = tfl.sequential({ name: 'generator' });
  const firstChannels = config.baseFilters * 2 ** (stages - 1);
  // Same as PyTorch's ConvTranspose2d(nz, 8·ngf, 4, 1, 0) on a 1x1 input: a dense layer to 4x4.
  model.add(tfl.layers.dense({ units: 4 * 4 * firstChannels, useBias: false, kernelInitializer: weights(nextSeed()), inputShape: [config.latentDim], name: 'g_project' }));
  model.add(tfl.layers.reshape({ targetShape: [4, 4, firstChannels], name: 'g_4x4' }));
  model.add(batchNorm(config, nextSeed(), 'g_bn_0'));
  model.add(hiddenActivation(config, 'g_act_0'));
  for (let stage = 1; stage < stages; stage++) {
    // state size: (4·2^stage) x (4·2^stage) x (ngf·2^(stages-1-stage))
    model.add(
      tfl.layers.conv2dTranspose({ filters: config.baseFilters * 2 ** (stages - 1 - stage), kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: weights(nextSeed()), name: `g_deconv_${stage}` }),
    );
    model.add(batchNorm(config, nextSeed(), `g_bn_${stage}`));
    model.add(hiddenActivation(config, `g_act_${stage}`));
  }
  model.add(tfl.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', useBias: false, activation: 'tanh', kernelInitializer: weights(nextSeed()), name: 'g_image' }));
  return model;
}

export function buildDcganDiscriminator(config: DcganConfig, nextSeed: SeedSource): tfl.Sequential {
  const stages = dcganStages(config.resolution);
  const model = tfl.sequential({ name: 'discriminator' });
  for (let stage = 0; stage < stages; stage++) {
    // state size: (res/2^(stage+1)) squared x (ndf·2^stage)
    model.add(
      tfl.layers.conv2d({
        filters: config.baseFilters * 2 ** stage,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        useBias: false,
        kernelInitializer: weights(nextSeed()),
        inputShape: stage === 0 ? [config.resolution, config.resolution, 3] : undefined,
        name: `d_conv_${stage}`,
      }),
    );
    if (stage > 0) model.add(batchNorm(config, nextSeed(), `d_bn_${stage}`));
    model.add(tfl.layers.leakyReLU({ alpha: 0.2, name: `d_act_${stage}` }));
    if (config.dropout > 0) model.add(tfl.layers.dropout({ rate: config.dropout, name: `d_dropout_${stage}` }));
  }
  model.add(tfl.layers.flatten({ name: 'd_flatten' }));
  model.add(tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: weights(nextSeed()), name: 'd_out' }));
  return model;
}
