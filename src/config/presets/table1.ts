import type { TrainConfig } from '../defaults.js';

/**
 * Table 1 of the paper: six configurations of its MLP GAN at 120x120,
 * 20,000 iterations each. Only learning rate, batch size and activation vary;
 * everything else is the default (Adam beta1 0.5, BatchNorm momentum 0.8).
 */
export const table1: Record<string, Partial<TrainConfig>> = {
  model1: { learningRate: 1e-4, batchSize: 128, activation: 'leakyrelu' },
  model2: { learningRate: 1e-4, batchSize: 256, activation: 'leakyrelu' },
  model3: { learningRate: 1e-4, batchSize: 512, activation: 'leakyrelu' },
  model4: { learningRate: 2e-4, batchSize: 128, activation: 'relu' },
  model5: { learningRate: 2e-4, batchSize: 256, activation: 'relu' },
  model6: { learningRate: 2e-4, batchSize: 512, activation: 'relu' },
};
