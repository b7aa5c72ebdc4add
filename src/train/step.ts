import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { GanLoss } from '../config/index.js';
import type { Gan } from '../models/index.js';
import { applyDiffAugment, type DiffAugmentDraw } from './diff-augment.js';
import { conditionCrossEntropy, discriminatorLoss, generatorLoss } from './losses.js';

export { binaryCrossEntropyWithLogits } from './losses.js';

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
  /** B real images, NHWC, values in [-1, 1]: on the host, or a tensor already on the backend (not disposed here). */
  real: Float32Array | tf.Tensor4D;
  /** B latent vectors for the fakes D trains on. */
  noiseForD: Float32Array;
  /** B latent vectors for G's own step (fresh noise, as in Keras-GAN). */
  noiseForG: Float32Array;
  /** Std of the Gaussian instance noise added to every image D sees this step (0 = none). */
  instanceNoise?: number;
  /** Seed of this step's instance noise, drawn from the run's RNG so a resumed run repeats it. */
  instanceNoiseSeed?: number;
  /**
   * DiffAugment draws (see diff-augment.ts) for the three batches D sees: the real one,
   * the fakes D trains on, and the fakes of G's step. Absent: no augmentation.
   */
  augment?: { real: DiffAugmentDraw; fakeForD: DiffAugmentDraw; fakeForG: DiffAugmentDraw };
  /**
   * Conditional runs: the one-hot labels (B x CONDITION_SIZE) of the real batch, of D's
   * fakes and of G's fakes, for D's projection term. The noise vectors already end in
   * the fakes' labels (G's input is [z | labels]).
   */
  conditions?: { real: Float32Array; fakeForD: Float32Array; fakeForG: Float32Array };
}

/** Tricks GAN tools offer on top of the plain recipe. */
export interface StepOptions {
  /** One-sided label smoothing: D's target for real images is 1 - this. */
  labelSmoothing?: number;
  /**
   * How G makes the fakes D trains on: 'inference' (Keras' `predict`, the paper's
   * Keras-GAN recipe) or 'training' (batch statistics, as PyTorch's DCGAN does). With
   * BatchNorm in G the two differ a lot early on, and D trained on inference-mode
   * fakes never sees what G's own step produces.
   */
  fakesFor?: 'inference' | 'training';
  /** The adversarial loss (default: non-saturating, the paper's). */
  loss?: GanLoss;
  /** Weight of the class loss when the GAN has a class head (Gan.classifier; config auxClassifier). @default 1 */
  auxClassifier?: number;
  /** What turns a DiffAugment draw into D's input; the default applies it (tests watch it through this). */
  augmenter?: (images: tf.Tensor4D, draw: DiffAugmentDraw, batch: 'real' | 'fakeForD' | 'fakeForG') => tf.Tensor4D;
}

/** Share of verdicts on the right side of 0.5 (logit 0). */
function accuracy(logits: tf.Tensor, label: 0 | 1): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(label === 1 ? tf.greater(logits, 0) : tf.lessEqual(logits, 0), 'float32')));
}

/**
 * D's pre-sigmoid output: every layer but the last, then the last Dense(1)'s
 * kernel and bias without its sigmoid. Same variables, so gradients reach them.
 * A conditional run's projection discriminator adds <embed(y), features>
 * (Miyato & Koyama 2018): D then judges whether the face fits its labels too.
 */
export function discriminatorLogits(discriminator: tfl.LayersModel, images: tf.Tensor, projection?: Projection): tf.Tensor {
  return discriminatorForward(discriminator, images, projection).logits;
}

/** What a conditional run's D adds to its logit: the projection term's embedding and the batch's one-hot labels. */
export interface Projection {
  model: tfl.LayersModel;
  conditions: tf.Tensor2D;
}

/** D's logits and its features (the input of its last Dense), for the class head of --aux-classifier. */
function discriminatorForward(discriminator: tfl.LayersModel, images: tf.Tensor, projection?: Projection): { logits: tf.Tensor; features: tf.Tensor } {
  const layers = discriminator.layers;
  const out = layers[layers.length - 1] as tfl.layers.Layer & { kernel?: tfl.LayerVariable; bias?: tfl.LayerVariable };
  if (out.getClassName() !== 'Dense' || !out.kernel || !out.bias || out.getConfig().activation !== 'sigmoid') {
    throw new Error(`discriminator must end in Dense(1, sigmoid), not ${out.getClassName()}`);
  }
  let h = images;
  for (const layer of layers.slice(0, -1)) h = layer.apply(h, { training: true }) as tf.Tensor;
  const logits = tf.add(tf.matMul(h, out.kernel.read()), out.bias.read());
  if (!projection) return { logits, features: h };
  const embedded = projection.model.apply(projection.conditions) as tf.Tensor;
  return { logits: tf.add(logits, tf.sum(tf.mul(h, embedded), 1, true)), features: h };
}

function toMetrics(values: ArrayLike<number>): StepMetrics {
  const [dLossReal, dLossFake, dAccReal, dAccFake, gLoss] = Array.from(values) as [number, number, number, number, number];
  return { dLossReal, dLossFake, dAccReal, dAccFake, dAcc: (dAccReal + dAccFake) / 2, gLoss };
}

function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => weight.read() as tf.Variable);
}

/**
 * The paper's iteration, step by step as Keras-GAN's `train()` runs it:
 * 1. fakes = G.predict(noise) (inference mode, as Keras' `predict`; DCGAN: training mode);
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
    private readonly options: StepOptions = {},
  ) {
    this.generatorVariables = trainableVariables(gan.generator);
    this.discriminatorVariables = [gan.discriminator, gan.projection, gan.classifier].flatMap((model) => (model ? trainableVariables(model) : []));
  }

  /** One iteration; reads the metrics back synchronously (cpu and wasm backends). */
  step(inputs: StepInputs): StepMetrics {
    const values = this.issue(inputs);
    const read = values.dataSync();
    values.dispose();
    return toMetrics(read);
  }

  /**
   * The same iteration, reading the metrics back with `await data()`: GPU backends
   * (webgpu in Node) cannot read synchronously, and the host queues the next work
   * while it waits.
   */
  async stepAsync(inputs: StepInputs): Promise<StepMetrics> {
    const values = this.issue(inputs);
    const read = await values.data();
    values.dispose();
    return toMetrics(read);
  }

  /** Queues the iteration's work; returns [dLossReal, dLossFake, dAccReal, dAccFake, gLoss]. */
  private issue(inputs: StepInputs): tf.Tensor1D {
    const batch = inputs.noiseForD.length / this.latentDim;
    const noise = inputs.instanceNoise ?? 0;
    const seed = inputs.instanceNoiseSeed ?? 0;
    // Instance noise blurs the line between real and fake for D (and for G's view through D).
    const noisy = (images: tf.Tensor, offset: number) => (noise > 0 ? tf.add(images, tf.randomNormal(images.shape, 0, noise, 'float32', seed + offset)) : images);
    const realTarget = 1 - (this.options.labelSmoothing ?? 0);
    const real = () => (inputs.real instanceof tf.Tensor ? inputs.real : tf.tensor4d(inputs.real, [batch, ...this.imageShape]));
    // DiffAugment after instance noise, inside each step's tape: G's step differentiates through it.
    const augmenter = this.options.augmenter ?? applyDiffAugment;
    const augmented = (images: tf.Tensor, which: 'real' | 'fakeForD' | 'fakeForG') => (inputs.augment ? augmenter(images as tf.Tensor4D, inputs.augment[which], which) : images);
    const conditions = inputs.conditions;
    const [dLossReal, dAccReal] = this.trainDiscriminatorStep(() => augmented(noisy(real(), 0), 'real'), 1, realTarget, conditions?.real);
    const [dLossFake, dAccFake] = this.trainDiscriminatorStep(() => augmented(noisy(this.generate(inputs.noiseForD, batch), 1), 'fakeForD'), 0, 0, conditions?.fakeForD);
    const gLoss = this.trainGeneratorStep(inputs.noiseForG, batch, (fakes) => augmented(noisy(fakes, 2), 'fakeForG'), conditions?.fakeForG);
    const values = tf.stack([dLossReal, dLossFake, dAccReal, dAccFake, gLoss]) as tf.Tensor1D;
    tf.dispose([dLossReal, dLossFake, dAccReal, dAccFake, gLoss]);
    return values;
  }

  /** G's fakes for D: in inference mode as Keras' `predict` runs it, or with batch statistics (see StepOptions). */
  generate(noise: Float32Array, batch: number): tf.Tensor4D {
    return tf.tidy(() => {
      const z = tf.tensor2d(noise, [batch, this.latentDim]);
      if (this.options.fakesFor === 'training') return this.gan.generator.apply(z, { training: true }) as tf.Tensor4D;
      // The whole batch at once (Keras' predict runs 32 at a time, then concatenates).
      return this.gan.generator.predict(z, { batchSize: batch }) as tf.Tensor4D;
    });
  }

  /** A loss plus the --aux-classifier term (the class head's cross-entropy on D's features against the labels), where the GAN has a class head. */
  private withClassLoss(loss: tf.Scalar, features: tf.Tensor, projection: Projection | undefined): tf.Scalar {
    const classifier = this.gan.classifier;
    if (!classifier || !projection) return loss;
    const classLoss = conditionCrossEntropy(classifier.apply(features) as tf.Tensor2D, projection.conditions);
    return tf.add(loss, tf.mul(classLoss, this.options.auxClassifier ?? 1)) as tf.Scalar;
  }

  /** The projection term's inputs for a batch with these labels (conditional runs only). */
  private projectionFor(conditions: Float32Array | undefined, batch: number): Projection | undefined {
    if (!this.gan.projection) return undefined;
    if (!conditions) throw new Error('a conditional GAN needs the labels of every batch (StepInputs.conditions)');
    return { model: this.gan.projection, conditions: tf.tensor2d(conditions, [batch, conditions.length / batch]) };
  }

  private trainDiscriminatorStep(makeImages: () => tf.Tensor, label: 0 | 1, target: number, conditions?: Float32Array): [tf.Scalar, tf.Scalar] {
    return tf.tidy(() => {
      const images = makeImages();
      const projection = this.projectionFor(conditions, images.shape[0]!);
      let batchAccuracy: tf.Scalar | undefined;
      const loss = this.discriminatorOptimizer.minimize(
        () => {
          const { logits, features } = discriminatorForward(this.gan.discriminator, images, projection);
          batchAccuracy = tf.keep(accuracy(logits, label));
          const loss = discriminatorLoss(this.options.loss ?? 'nonsaturating', logits, label, target);
          // AC-GAN's class head learns the labels of real photos only (fakes' labels are what G was asked, not what it drew).
          return label === 1 ? this.withClassLoss(loss, features, projection) : loss;
        },
        true,
        this.discriminatorVariables,
      )!;
      return [loss, batchAccuracy!];
    });
  }

  private trainGeneratorStep(noise: Float32Array, batch: number, toDiscriminator: (fakes: tf.Tensor) => tf.Tensor, conditions?: Float32Array): tf.Scalar {
    return tf.tidy(() => {
      const z = tf.tensor2d(noise, [batch, this.latentDim]);
      const projection = this.projectionFor(conditions, batch);
      return this.generatorOptimizer.minimize(
        () => {
          const fakes = this.gan.generator.apply(z, { training: true }) as tf.Tensor;
          const { logits, features } = discriminatorForward(this.gan.discriminator, toDiscriminator(fakes), projection);
          const loss = generatorLoss(this.options.loss ?? 'nonsaturating', logits);
          // AC-GAN: G also wants D's class head to name the labels it was asked for.
          return this.withClassLoss(loss, features, projection);
        },
        true,
        this.generatorVariables,
      )!;
    });
  }
}
