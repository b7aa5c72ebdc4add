import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/index.js';

/** Adam as the paper configures it: learning rate from the preset, beta1 0.5, beta2 0.999. */
export function createAdam(config: Pick<TrainConfig, 'learningRate' | 'beta1' | 'beta2' | 'epsilon'>): tf.Optimizer {
  return tf.train.adam(config.learningRate, config.beta1, config.beta2, config.epsilon);
}
