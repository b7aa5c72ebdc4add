/**
 * A small DCGAN-style generator and discriminator in one model, with seeded weights:
 * transposed convs up from [4, 4, 8] to [16, 16, 3], batch norm, then strided convs
 * down to one sigmoid score. Tests compare its gradients across kernels and backends.
 *
 *   const model = buildTinyDcgan();
 *   const z = randomTensor(TINY_DCGAN_INPUT, 14);
 *   const gradients = tf.tidy(() => meanOutputGradients(model, z));
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** The input batch's shape: 3 noise maps of [4, 4, 8]. */
export const TINY_DCGAN_INPUT: [number, number, number, number] = [3, 4, 4, 8];

export function buildTinyDcgan(): tfl.Sequential {
  const seeded = (seed: number) => tfl.initializers.glorotUniform({ seed });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2dTranspose({ filters: 6, kernelSize: 4, strides: 2, padding: 'same', inputShape: [4, 4, 8], kernelInitializer: seeded(1) }),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: seeded(2) }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: seeded(3) }),
      tfl.layers.leakyReLU({ alpha: 0.2 }),
      tfl.layers.conv2d({ filters: 1, kernelSize: 8, padding: 'valid', activation: 'sigmoid', kernelInitializer: seeded(4) }),
    ],
  });
}

/** d mean(model(z)) / d w for every trainable weight w, flattened into one tensor (training mode). */
export function meanOutputGradients(model: tfl.LayersModel, z: tf.Tensor): tf.Tensor {
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => tf.mean(model.apply(z, { training: true }) as tf.Tensor) as tf.Scalar, weights);
  value.dispose();
  return tf.concat(weights.map((w) => tf.reshape(grads[w.name]!, [-1])));
}
