import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Gan } from '../models/index.js';

/** What one training iteration measured, as Keras-GAN reports it. */
export interface StepMetrics {
  /** D's binary cross-entropy on the real batch (label 1). */
  dLossReal: number;
  /** D's binary cross-entropy on the generated batch (label 0). */
  dLossFake: number;
  /** Share of real images D called real (p > 0.5). */
  dAccReal: number;
  /** Share of generated images D called fake. */
  dAccFake: number;
  /** Mean of the two: the paper's "accuracy". */
  dAcc: number;
  /** G's loss: cross-entropy of D's verdict on fresh fakes against target 1. */
  gLoss: number;
}

/** Inputs of one iteration, drawn by the caller from the run's RNG. */
export interface StepInputs {
  /** B real images, NHWC, values in [-1, 1]. */
  real: Float32Array;
  /** B latent vectors for the fakes D trains on. */
  noiseForD: Float32Array;
  /** B latent vectors for G's own step (fresh noise, as in Keras-GAN). */
  noiseForG: Float32Array;
}

/** Keras' binary cross-entropy on probabilities: p is clipped to [1e-7, 1 - 1e-7]. */
export function binaryCrossEntropy(probabilities: tf.Tensor, label: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.clipByValue(probabilities, 1e-7, 1 - 1e-7);
    return tf.neg(tf.mean(label === 1 ? tf.log(p) : tf.log1p(tf.neg(p)))) as tf.Scalar;
  });
}

/** Share of verdicts on the right side of 0.5. */
function accuracy(probabilities: tf.Tensor, label: 0 | 1): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(label === 1 ? tf.greater(probabilities, 0.5) : tf.lessEqual(probabilities, 0.5), 'float32')));
}

function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => weight.read() as tf.Variable);
}

/**
 * The paper's iteration, step by step as Keras-GAN's `train()` runs it:
 * 1. fakes = G.predict(noise) (inference mode, as Keras' `predict`);
 * 2. one Adam step of D on the real batch with label 1, then one on the fakes with label 0;
 * 3. one Adam step of G through the frozen D on fresh noise with target 1.
 * Each step minimises over an explicit variable list, so freezing D never
 * leaks into D's own updates (a tfjs pitfall of Keras' `trainable = false`).
 */
export class GanStepper {
  private readonly generatorVariables: tf.Variable[];
  private readonly discriminatorVariables: tf.Variable[];

  constructor(
    private readonly gan: Gan,
    private readonly generatorOptimizer: tf.Optimizer,
    private readonly discriminatorOptimizer: tf.Optimizer,
    private readonly imageShape: [number, number, number],
    private readonly latentDim: number,
  ) {
    this.generatorVariables = trainableVariables(gan.generator);
    this.discriminatorVariables = trainableVariables(gan.discriminator);
  }

  step(inputs: StepInputs): StepMetrics {
    const batch = inputs.noiseForD.length / this.latentDim;
    const [dLossReal, dAccReal] = this.trainDiscriminatorStep(() => tf.tensor4d(inputs.real, [batch, ...this.imageShape]), 1);
    const [dLossFake, dAccFake] = this.trainDiscriminatorStep(() => this.generate(inputs.noiseForD, batch), 0);
    const gLoss = this.trainGeneratorStep(inputs.noiseForG, batch);
    const values = tf.tidy(() => tf.stack([dLossReal, dLossFake, dAccReal, dAccFake, gLoss]).dataSync());
    tf.dispose([dLossReal, dLossFake, dAccReal, dAccFake, gLoss]);
    const [lossReal, lossFake, accReal, accFake, lossG] = Array.from(values) as [number, number, number, number, number];
    return { dLossReal: lossReal, dLossFake: lossFake, dAccReal: accReal, dAccFake: accFake, dAcc: (accReal + accFake) / 2, gLoss: lossG };
  }

  /** G in inference mode, as Keras' `predict` runs it. */
  generate(noise: Float32Array, batch: number): tf.Tensor4D {
    return tf.tidy(() => this.gan.generator.predict(tf.tensor2d(noise, [batch, this.latentDim])) as tf.Tensor4D);
  }

  private trainDiscriminatorStep(makeImages: () => tf.Tensor4D, label: 0 | 1): [tf.Scalar, tf.Scalar] {
    return tf.tidy(() => {
      const images = makeImages();
      let batchAccuracy: tf.Scalar | undefined;
      const loss = this.discriminatorOptimizer.minimize(
        () => {
          const verdicts = this.gan.discriminator.apply(images, { training: true }) as tf.Tensor;
          batchAccuracy = tf.keep(accuracy(verdicts, label));
          return binaryCrossEntropy(verdicts, label);
        },
        true,
        this.discriminatorVariables,
      )!;
      return [loss, batchAccuracy!];
    });
  }

  private trainGeneratorStep(noise: Float32Array, batch: number): tf.Scalar {
    return tf.tidy(() => {
      const z = tf.tensor2d(noise, [batch, this.latentDim]);
      return this.generatorOptimizer.minimize(
        () => {
          const fakes = this.gan.generator.apply(z, { training: true }) as tf.Tensor;
          return binaryCrossEntropy(this.gan.discriminator.apply(fakes, { training: true }) as tf.Tensor, 1);
        },
        true,
        this.generatorVariables,
      )!;
    });
  }
}
