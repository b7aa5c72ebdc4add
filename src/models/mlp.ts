
import * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';

/**
 * The paper's fully connected GAN (after Keras-GAN's `gan.py`):
 *   G: z(latentDim) -> [Dense -> activation -> BatchNorm(momentum 0.8)] x N -> Dense(H*W*3, tanh) -> H x W x 3
 *   D: H x W x 3 -> flatten -> [Dense -> activation] x M -> Dense(1, sigmoid) = p(real)
 * Kernels use Keras' default Glorot-uniform init, seeded so that `--seed` reproduces a run.
 */
export type MlpConfig = Pick<
  TrainConfig,
  'resolution' | 'latentDim' | 'generatorUnits' | 'discriminatorUnits' | 'activation' | 'leakyAlpha' | 'batchNormMomentum'
>;

/** Draws one initializer seed per Dense layer; `Rng.childSeed` fits. */
export type SeedSource = () => number;

function activationLayer(config: MlpConfig, name: string): tfl.layers.Layer {
  return config.activation === 'relu'
    ? tfl.layers.reLU({ name })
    : tfl.layers.leakyReLU({ alpha: config.leakyAlpha, name });
}

function dense(units: number, seed: number, name: string, activation?: 'tanh' | 'sigmoid', inputShape?: number[]): tfl.layers.Layer {
  return tfl.layers.dense({
    units,
    activation,
    name,
    inputShape,
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    biasInitializer: 'zeros',
  });
}

export function buildMlpGenerator(config: MlpConfig, nextSeed: SeedSource): tfl.Sequential {
  const { resolution: size, latentDim } = config;
  const model = tfl.sequential({ name: 'generator' });
  config.generatorUnits.forEach((units, i) => {
    model.add(dense(units, nextSeed(), `g_dense_${i + 1}`, undefined, i === 0 ? [latentDim] : undefined));
    model.add(activationLayer(config, `g_act_${i + 1}`));
    model.add(tfl.layers.batchNormalization({ momentum: config.batchNormMomentum, name: `g_bn_${i + 1}` }));
  });
  model.add(dense(size * size * 3, nextSeed(), 'g_out', 'tanh', config.generatorUnits.length === 0 ? [latentDim] : undefined));
  model.add(tfl.layers.reshape({ targetShape: [size, size, 3], name: 'g_image' }));
  return model;
}

export function buildMlpDiscriminator(config: MlpConfig, nextSeed: SeedSource): tfl.Sequential {
  const { resolution: size } = config;
  const model = tfl.sequential({ name: 'discriminator' });
  model.add(tfl.layers.flatten({ inputShape: [size, size, 3], name: 'd_flatten' }));
  config.discriminatorUnits.forEach((units, i) => {
    model.add(dense(units, nextSeed(), `d_dense_${i + 1}`));
    model.add(activationLayer(config, `d_act_${i + 1}`));
  });
  model.add(dense(1, nextSeed(), 'd_out', 'sigmoid'));
  return model;
}

/** Trainable parameters of a model. */
export function countParams(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
}

/** The widest activation per image, used to estimate training memory. */
export function activationFloatsPerImage(config: MlpConfig): number {
  const pixels = config.resolution * config.resolution * 3;
  return 4 * pixels + 3 * [...config.generatorUnits, ...config.discriminatorUnits].reduce((a, b) => a + b, 0);
}

