/**
 * The real-vs-fake face classifier: a small CNN that reads a square face crop
 * (HWC RGB in [-1, 1]) and outputs p(fake).
 *
 *   S x S x 3 -> conv3x3 (f) -> S x S x f            full resolution: GAN artefacts are high-frequency
 *             -> conv3x3/2 (2f) -> conv3x3/2 (4f) -> conv3x3/2 (8f)   (S/8 x S/8 x 8f)
 *             -> global average pooling -> (dropout) -> dense 1 (sigmoid)
 * LeakyReLU 0.2 after each convolution. Global average pooling (not a flatten) keeps
 * the parameter count independent of S and makes the net look for local evidence
 * anywhere in the crop rather than memorise positions. ~25k parameters at f = 8.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { SeedSource } from './mlp.js';

export interface DetectorNetConfig {
  /** Side of the square input crop, in pixels. */
  inputSize: number;
  /** Channels of the first convolution; each stride-2 stage doubles them. @default 8 */
  baseFilters?: number;
  /**
   * Dropout before the output layer. @default 0: the net is small and trained on
   * augmented data, and unseeded dropout would make training irreproducible.
   */
  dropout?: number;
}

/** Smallest input the three stride-2 stages can read. */
export const MIN_DETECTOR_INPUT = 16;

export function buildDetectorNet(config: DetectorNetConfig, nextSeed: SeedSource): tfl.Sequential {
  const { inputSize } = config;
  const filters = config.baseFilters ?? 8;
  if (!Number.isInteger(inputSize) || inputSize < MIN_DETECTOR_INPUT) {
    throw new RangeError(`detector input size must be an integer >= ${MIN_DETECTOR_INPUT}, got ${inputSize}`);
  }
  const init = () => tfl.initializers.heNormal({ seed: nextSeed() });
  const model = tfl.sequential({ name: 'detector' });
  // state size: S x S x f
  model.add(tfl.layers.conv2d({ inputShape: [inputSize, inputSize, 3], filters, kernelSize: 3, padding: 'same', kernelInitializer: init(), name: 'det_conv_0' }));
  model.add(tfl.layers.leakyReLU({ alpha: 0.2, name: 'det_act_0' }));
  for (let stage = 1; stage <= 3; stage++) {
    // state size: S/2^stage x S/2^stage x f·2^stage
    model.add(tfl.layers.conv2d({ filters: filters * 2 ** stage, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(), name: `det_conv_${stage}` }));
    model.add(tfl.layers.leakyReLU({ alpha: 0.2, name: `det_act_${stage}` }));
  }
  model.add(tfl.layers.globalAveragePooling2d({ name: 'det_pool' }));
  const dropout = config.dropout ?? 0;
  // No seed: a seeded tfjs Dropout draws the same mask on every call, which is a fixed
  // pruning rather than noise, and, with labels at fixed batch positions, a label leak.
  if (dropout > 0) model.add(tfl.layers.dropout({ rate: dropout, name: 'det_dropout' }));
  model.add(tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }), name: 'det_p_fake' }));
  return model;
}
