import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from './rng.js';
import { generatorInput } from './samples.js';

/**
 * An exponential moving average of G's weights (Karras et al., Brock et al.): after
 * each iteration every trainable weight moves toward G's by (1 - decay),
 * ema += (1 - decay)·(G - ema); BatchNorm's moving statistics are copied, as
 * StyleGAN2's code copies buffers, and recomputed from the average's own activations
 * before it is used (calibrateBatchNorm: G's statistics do not fit the averaged
 * weights, and a DCGAN's average drew brown mush with them). The average makes smoother faces than G itself,
 * which oscillates around the equilibrium. The model is G's architecture (same layers,
 * same input), so everything that takes a generator takes it.
 */
export class GeneratorEma {
  private constructor(
    readonly model: tfl.LayersModel,
    readonly decay: number,
  ) {}

  /** Starts the average at G's weights, in `shell` (a freshly built model of G's architecture). */
  static startFrom(generator: tfl.LayersModel, shell: tfl.LayersModel, decay: number): GeneratorEma {
    shell.setWeights(generator.getWeights());
    return new GeneratorEma(shell, decay);
  }

  /** An average loaded back from a checkpoint. */
  static restored(model: tfl.LayersModel, decay: number): GeneratorEma {
    return new GeneratorEma(model, decay);
  }

  /** One step toward G's current weights. */
  update(generator: tfl.LayersModel): void {
    const rate = 1 - this.decay;
    tf.tidy(() => {
      pairs(this.model.trainableWeights, generator.trainableWeights).forEach(([average, current]) => {
        const value = average.read();
        average.write(tf.add(value, tf.mul(tf.sub(current.read(), value), rate)));
      });
      pairs(this.model.nonTrainableWeights, generator.nonTrainableWeights).forEach(([copy, current]) => copy.write(tf.clone(current.read())));
    });
  }

  /** The average with BatchNorm statistics of its own (calibrateBatchNorm): what samples, checkpoints and generate use. */
  calibrated(latentDim: number): tfl.LayersModel {
    calibrateBatchNorm(this.model, latentDim);
    return this.model;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Seed of the noise (and labels) BatchNorm statistics are measured on: the same every time, so a calibration repeats exactly. */
const CALIBRATION_SEED = 0xca11b;
const CALIBRATION_BATCHES = 4;
const CALIBRATION_BATCH_SIZE = 128;

type BatchNormLayer = tfl.layers.Layer & { momentum: number };

/**
 * "Standing statistics" (Brock et al. 2019): sets every BatchNorm layer's moving mean
 * and variance to the mean of its batch statistics over CALIBRATION_BATCHES batches of
 * fixed noise run through this very model (momentum k/(k+1) for batch k averages them
 * exactly). A moving average of G's weights needs this: G's own moving statistics
 * describe G's activations, not the average's. Deterministic; a model without
 * BatchNorm is left as it is.
 */
export function calibrateBatchNorm(model: tfl.LayersModel, latentDim: number): void {
  const layers = model.layers.filter((layer) => layer.getClassName() === 'BatchNormalization') as BatchNormLayer[];
  if (layers.length === 0) return;
  const momenta = layers.map((layer) => layer.momentum);
  const rng = new Rng(CALIBRATION_SEED);
  // From zeros, the first batch's update (0 - (0 - value)) is its statistics exactly, whatever was there: a calibration repeats bit for bit.
  tf.tidy(() => layers.forEach((layer) => layer.nonTrainableWeights.forEach((weight) => weight.write(tf.zerosLike(weight.read())))));
  try {
    for (let k = 0; k < CALIBRATION_BATCHES; k++) {
      for (const layer of layers) layer.momentum = k / (k + 1);
      const input = generatorInput(model, rng.normals(CALIBRATION_BATCH_SIZE * latentDim), latentDim);
      tf.tidy(() => {
        model.apply(tf.tensor2d(input, [CALIBRATION_BATCH_SIZE, input.length / CALIBRATION_BATCH_SIZE]), { training: true });
      });
    }
  } finally {
    layers.forEach((layer, i) => (layer.momentum = momenta[i]!));
  }
}

function pairs(a: tfl.LayerVariable[], b: tfl.LayerVariable[]): [tfl.LayerVariable, tfl.LayerVariable][] {
  if (a.length !== b.length) throw new Error(`EMA: the average has ${a.length} weights, G ${b.length}`);
  return a.map((w, i) => {
    if (w.shape.join('x') !== b[i]!.shape.join('x')) throw new Error(`EMA: weight ${i} is ${w.shape.join('x')} in the average, ${b[i]!.shape.join('x')} in G`);
    return [w, b[i]!];
  });
}
