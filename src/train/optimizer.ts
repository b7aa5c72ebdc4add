import type * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config/index.js';
import { FusedAdamOptimizer } from '../engine/fused-adam.js';

/**
 * Adam as the paper configures it: learning rate from the preset, beta1 0.5,
 * beta2 0.999. The fused optimizer gives tf.train.adam's exact arithmetic, and
 * updates in place through the native addon on the cpu backend.
 */
export function createAdam(config: Pick<TrainConfig, 'learningRate' | 'beta1' | 'beta2' | 'epsilon'>): tf.Optimizer {
  return new FusedAdamOptimizer(config.learningRate, config.beta1, config.beta2, config.epsilon);
}
