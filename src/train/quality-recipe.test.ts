// The quality recipe's pieces on their own: hinge loss, DiffAugment, G's moving average, the conditional labels.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, validateStoredConfig } from '../config/index.js';
import { CONDITION_SIZE, conditionOf, oneHotConditions, parseConditionRequest, resolveConditions, withConditions } from '../data/conditions.js';
import { initEngine } from '../engine/index.js';
import { buildGan, buildGenerator } from '../models/index.js';
import { applyDiffAugment, drawDiffAugment } from './diff-augment.js';
import { GeneratorEma } from './ema.js';
import { binaryCrossEntropyWithLogits, conditionCrossEntropy, discriminatorLoss, generatorLoss, hingeDiscriminatorLoss, hingeGeneratorLoss } from './losses.js';
import { createAdam } from './optimizer.js';
import { Rng } from './rng.js';
import { generatorInput } from './samples.js';
import { GanStepper, type StepInputs } from './step.js';

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

const seeds = (seed: number) => {
  const rng = new Rng(seed);
  return () => rng.childSeed();
};
const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};
const disposeModels = (...models: { dispose(): unknown }[]) => models.forEach((m) => m.dispose());
/** Largest absolute difference of two tensors (no tensors left behind). */
const maxDifference = (a: tf.Tensor, b: tf.Tensor) => value(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b)))));

describe('hinge loss', () => {
  it('has the known values on known logits, and the non-saturating loss stays the default', () => {
    const logits = tf.tensor1d([-2, -0.5, 0, 0.5, 2]);
    // real: relu(1 - x) = 3, 1.5, 1, 0.5, 0 -> 1.2; fake: relu(1 + x) = 0, 0.5, 1, 1.5, 3 -> 1.2
    expect(value(hingeDiscriminatorLoss(logits, 1))).toBeCloseTo(1.2, 6);
    expect(value(hingeDiscriminatorLoss(tf.tensor1d([3, 1, 0.5]), 1))).toBeCloseTo(0.5 / 3, 6);
    expect(value(hingeDiscriminatorLoss(tf.tensor1d([-3, -1, 0.5]), 0))).toBeCloseTo(1.5 / 3, 6);
    expect(value(hingeGeneratorLoss(tf.tensor1d([1, 2, 6])))).toBeCloseTo(-3, 6);
    expect(value(discriminatorLoss('hinge', logits, 0, 0))).toBeCloseTo(1.2, 6);
    expect(value(generatorLoss('hinge', logits))).toBeCloseTo(0, 6);
    // the default: BCE on logits; log(2) at logit 0
    expect(value(discriminatorLoss('nonsaturating', tf.zeros([4]), 1, 1))).toBeCloseTo(Math.log(2), 6);
    expect(value(generatorLoss('nonsaturating', logits))).toBeCloseTo(value(binaryCrossEntropyWithLogits(logits, 1)), 6);
    logits.dispose();
    expect(resolveConfig('tiny').loss).toBe('nonsaturating');
    expect(() => resolveConfig('tiny', { loss: 'wasserstein' })).toThrow(/invalid value for loss: "wasserstein" \(expected one of nonsaturating, hinge\)/);
  });
});

describe('DiffAugment', () => {
  const [batch, side] = [3, 16];
  const images = () => tf.randomUniform([batch, side, side, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const rng = () => {
    const r = new Rng(5);
    return () => r.uniform();
  };

  it('keeps shapes, changes the images, and draws nothing when off', () => {
    const x = images();
    const before = tf.memory().numTensors;
    for (const ops of [['color'], ['translation'], ['cutout'], ['color', 'translation', 'cutout']] as const) {
      const out = applyDiffAugment(x, drawDiffAugment(ops, batch, side, side, rng()));
      expect(out.shape).toEqual([batch, side, side, 3]);
      expect(maxDifference(out, x)).toBeGreaterThan(0.1);
      out.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    let draws = 0;
    expect(drawDiffAugment([], batch, side, side, () => (draws++, 0.5))).toEqual({});
    expect(draws).toBe(0);
    x.dispose();
  });

  it('translates by whole pixels with zero fill, and cuts out a square of half the side', () => {
    const x = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
    const shifted = applyDiffAugment(x, { shiftY: Int32Array.of(1), shiftX: Int32Array.of(-1) });
    const rows = shifted.arraySync()[0]!.map((row) => row.map((p) => p[0]));
    expect(rows[0]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // shifted down by one: the top row is empty
    expect(rows[3]).toEqual([1, 1, 1, 1, 1, 1, 1, 0]); // shifted left by one: the right column is empty
    const draw = drawDiffAugment(['cutout'], 4, 16, 16, rng());
    for (let b = 0; b < 4; b++) {
      const cut = draw.cutoutMask!.subarray(b * 256, (b + 1) * 256).filter((m) => m === 0).length;
      expect(cut).toBeGreaterThan(0);
      expect(cut).toBeLessThanOrEqual(64); // 8x8, less where the square leaves the image
    }
    tf.dispose([x, shifted]);
  });

  it('lets gradients through: zero inside the cutout, scaled by the colour factors elsewhere', () => {
    const x = images();
    const draw = drawDiffAugment(['color', 'translation', 'cutout'], batch, side, side, rng());
    const gradient = tf.grad((input: tf.Tensor) => tf.sum(applyDiffAugment(input as tf.Tensor4D, draw)))(x);
    expect(gradient.shape).toEqual(x.shape);
    expect(value(tf.max(tf.abs(gradient)))).toBeGreaterThan(0);
    // Cutout alone: the gradient of the sum is exactly the mask.
    const cutout = { cutoutMask: draw.cutoutMask };
    const maskGradient = tf.grad((input: tf.Tensor) => tf.sum(applyDiffAugment(input as tf.Tensor4D, cutout)))(x);
    const mask = tf.tile(tf.tensor4d(draw.cutoutMask!, [batch, side, side, 1]), [1, 1, 1, 3]);
    expect(maxDifference(maskGradient, mask)).toBe(0);
    tf.dispose([x, gradient, maskGradient, mask]);
  });
});

describe("the moving average of G's weights", () => {
  it('starts at G, differs from it after G moves, and moves toward it at 1 - decay per update', () => {
    const config = resolveConfig('tiny', { generatorUnits: [16], latentDim: 8, resolution: 8 });
    const { generator, discriminator } = buildGan(config, seeds(1));
    const ema = GeneratorEma.startFrom(generator, buildGenerator(config, () => 0), 0.9);
    const kernel = (model: typeof generator) => model.trainableWeights[0]!.read().dataSync().slice();
    expect(kernel(ema.model)).toEqual(kernel(generator));
    // G takes a step: the average moves a tenth of the way.
    const before = kernel(ema.model);
    tf.tidy(() => {
      generator.trainableWeights[0]!.write(tf.add(generator.trainableWeights[0]!.read(), 1));
    });
    const target = kernel(generator);
    ema.update(generator);
    const after = kernel(ema.model);
    expect(after).not.toEqual(target);
    after.forEach((v, i) => expect(v).toBeCloseTo(before[i]! + 0.1 * (target[i]! - before[i]!), 5));
    // Ten more updates: the gap shrinks by 0.9 each.
    for (let i = 0; i < 10; i++) ema.update(generator);
    kernel(ema.model).forEach((v, i) => expect(target[i]! - v).toBeCloseTo(0.9 ** 11, 4));
    // BatchNorm's moving statistics are copied, not averaged.
    const g = generator.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()));
    expect(ema.model.nonTrainableWeights.map((w) => Array.from(w.read().dataSync()))).toEqual(g);
    const tensors = tf.memory().numTensors;
    ema.update(generator);
    expect(tf.memory().numTensors).toBe(tensors);
    disposeModels(generator, discriminator);
    ema.dispose();
  });
});

describe('conditional labels and models', () => {
  it('reads labels, rejects unknown values in one line, and encodes [age | gender | race] one-hot', () => {
    expect(conditionOf({ age: 65, gender: 1, race: 2 })).toEqual({ ageBucket: 5, gender: 1, race: 2 });
    expect(conditionOf({ age: 61, gender: 1, race: null })).toBeNull(); // the malformed name without race
    expect(conditionOf(null)).toBeNull();
    expect(parseConditionRequest({ age: '60-80', gender: 'Female', race: 'asian' })).toEqual({ ageBucket: 5, gender: 1, race: 2 });
    expect(parseConditionRequest({ age: '25', gender: 'any' })).toEqual({ ageBucket: 2 });
    expect(() => parseConditionRequest({ age: '50-70' })).toThrow(/^unknown --age "50-70": an age from 1 to 116 or one of 1-12, 13-19, 20-30, 31-45, 46-59, 60-80, 81-116$/);
    expect(() => parseConditionRequest({ gender: 'x' })).toThrow(/^unknown --gender "x": one of male, female$/);
    expect(() => parseConditionRequest({ race: 'martian' })).toThrow(/^unknown --race "martian": one of white, black, asian, indian, others$/);
    const oneHot = oneHotConditions([{ ageBucket: 5, gender: 1, race: 2 }]);
    expect(Array.from(oneHot)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(Array.from(withConditions(Float32Array.of(7, 8), 2, oneHot))).toEqual([7, 8, ...oneHot]);
    const drawn = resolveConditions({ gender: 0 }, 50, () => 0.99);
    expect(drawn.every((c) => c.gender === 0 && c.ageBucket === 6 && c.race === 4)).toBe(true);
  });

  it('builds G on [z | labels] and D with a projection; the label changes the face for the same z', () => {
    const config = resolveConfig('tiny', { generatorUnits: [16], discriminatorUnits: [8], latentDim: 8, resolution: 8, conditional: true });
    const gan = buildGan(config, seeds(2));
    expect(gan.generator.inputs[0]!.shape).toEqual([null, 8 + CONDITION_SIZE]);
    expect(gan.projection!.outputs[0]!.shape).toEqual([null, 8]);
    const z = new Rng(1).normals(2 * 8);
    const faces = (conditions: Float32Array) => tf.tidy(() => gan.generator.predict(tf.tensor2d(generatorInput(gan.generator, z, 8, conditions), [2, 8 + CONDITION_SIZE])) as tf.Tensor);
    const women = faces(oneHotConditions([{ ageBucket: 5, gender: 1, race: 2 }, { ageBucket: 5, gender: 1, race: 2 }]));
    const men = faces(oneHotConditions([{ ageBucket: 5, gender: 0, race: 2 }, { ageBucket: 5, gender: 0, race: 2 }]));
    expect(women.shape).toEqual([2, 8, 8, 3]);
    expect(maxDifference(women, men)).toBeGreaterThan(1e-3);
    // Without labels, a conditional generator gets the same random labels every time.
    expect(Array.from(generatorInput(gan.generator, z, 8))).toEqual(Array.from(generatorInput(gan.generator, z, 8)));
    const plain = buildGan(resolveConfig('tiny', { generatorUnits: [16], latentDim: 8, resolution: 8 }), seeds(2));
    expect(() => generatorInput(plain.generator, z, 8, oneHotConditions([]))).toThrow(/unconditional/);
    tf.dispose([women, men]);
    disposeModels(gan.generator, gan.discriminator, gan.projection!, plain.generator, plain.discriminator);
  });

  it('reads configs written before the options existed as today\'s recipe', () => {
    const stored = JSON.parse(JSON.stringify(resolveConfig('tiny')));
    for (const key of ['ema', 'diffAugment', 'loss', 'conditional']) delete stored[key];
    expect(validateStoredConfig(stored, 'config.json')).toMatchObject({ ema: 0, diffAugment: [], loss: 'nonsaturating', conditional: false });
    expect(resolveConfig('tiny', { diffAugment: 'cutout,color' }).diffAugment).toEqual(['cutout', 'color']);
    expect(resolveConfig('tiny', { diffAugment: 'none' }).diffAugment).toEqual([]);
    expect(() => resolveConfig('tiny', { diffAugment: 'color,blur' })).toThrow(/invalid value for diffAugment/);
  });
});

describe('one step with every option on', () => {
  it('augments real and fake batches alike, feeds the labels to the projection, and leaks no tensors', () => {
    const config = resolveConfig('tiny', { generatorUnits: [16], discriminatorUnits: [16], latentDim: 8, resolution: 8, conditional: true, loss: 'hinge', diffAugment: 'color,translation,cutout' });
    const gan = buildGan(config, seeds(3));
    const seen: { which: string; shape: number[] }[] = [];
    const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [8, 8, 3], 8 + CONDITION_SIZE, {
      loss: 'hinge',
      augmenter: (images, draw, which) => {
        seen.push({ which, shape: images.shape });
        return applyDiffAugment(images, draw);
      },
    });
    const rng = new Rng(9);
    const uniform = () => rng.uniform();
    const inputs = (): StepInputs => {
      const labels = () => oneHotConditions(resolveConditions({}, 4, uniform));
      const conditions = { real: labels(), fakeForD: labels(), fakeForG: labels() };
      const draw = () => drawDiffAugment(config.diffAugment, 4, 8, 8, uniform);
      return {
        real: new Float32Array(4 * 8 * 8 * 3).map(() => uniform() * 2 - 1),
        noiseForD: withConditions(rng.normals(32), 8, conditions.fakeForD),
        noiseForG: withConditions(rng.normals(32), 8, conditions.fakeForG),
        augment: { real: draw(), fakeForD: draw(), fakeForG: draw() },
        conditions,
      };
    };
    const projectionBefore = gan.projection!.getWeights()[0]!.dataSync().slice();
    stepper.step(inputs());
    expect(seen).toEqual(['real', 'fakeForD', 'fakeForG'].map((which) => ({ which, shape: [4, 8, 8, 3] })));
    // the projection is trained with D
    expect(gan.projection!.getWeights()[0]!.dataSync()).not.toEqual(projectionBefore);
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const m = stepper.step(inputs());
      expect(Number.isFinite(m.dLossReal + m.dLossFake + m.gLoss)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(() => stepper.step({ ...inputs(), conditions: undefined })).toThrow(/needs the labels/);
    disposeModels(gan.generator, gan.discriminator, gan.projection!);
  });
});

describe('the class head (--aux-classifier, AC-GAN)', () => {
  it('scores each label group with its own softmax: log(7) + log(2) + log(5) on flat logits, ~0 when sure and right', () => {
    const labels = tf.tensor2d(oneHotConditions([{ ageBucket: 3, gender: 1, race: 2 }]), [1, CONDITION_SIZE]);
    expect(value(conditionCrossEntropy(tf.zeros([1, CONDITION_SIZE]) as tf.Tensor2D, labels))).toBeCloseTo(Math.log(7) + Math.log(2) + Math.log(5), 5);
    const sure = tf.tidy(() => tf.mul(labels, 30) as tf.Tensor2D);
    expect(value(conditionCrossEntropy(sure, labels))).toBeLessThan(1e-6);
    // Sure and wrong about the gender only: that group's loss alone, ~30.
    const wrongGender = tf.tensor2d(oneHotConditions([{ ageBucket: 3, gender: 0, race: 2 }]), [1, CONDITION_SIZE]);
    expect(value(conditionCrossEntropy(sure, wrongGender))).toBeCloseTo(30, 3);
    tf.dispose([labels, sure, wrongGender]);
  });

  it('needs a conditional run, and is built only when asked for', () => {
    expect(() => resolveConfig('tiny', { auxClassifier: 1 })).toThrow(/auxClassifier 1 needs a conditional run/);
    const small = { generatorUnits: [16], discriminatorUnits: [8], latentDim: 8, resolution: 8, conditional: true };
    const withHead = buildGan(resolveConfig('tiny', { ...small, auxClassifier: 0.5 }), seeds(2));
    const without = buildGan(resolveConfig('tiny', small), seeds(2));
    expect(withHead.classifier!.inputs[0]!.shape).toEqual([null, 8]);
    expect(withHead.classifier!.outputs[0]!.shape).toEqual([null, CONDITION_SIZE]);
    expect(without.classifier).toBeUndefined();
    disposeModels(withHead.generator, withHead.discriminator, withHead.projection!, withHead.classifier!, without.generator, without.discriminator, without.projection!);
  });

  it("adds weight x the class loss of real photos to D's loss, trains the head with D, and leaks no tensors", () => {
    const config = resolveConfig('tiny', { generatorUnits: [16], discriminatorUnits: [16], latentDim: 8, resolution: 8, conditional: true, auxClassifier: 1 });
    const rng = new Rng(4);
    const labels = oneHotConditions(resolveConditions({}, 4, () => rng.uniform()));
    const inputs: StepInputs = {
      real: new Float32Array(4 * 8 * 8 * 3).map(() => rng.uniform() * 2 - 1),
      noiseForD: withConditions(rng.normals(32), 8, labels),
      noiseForG: withConditions(rng.normals(32), 8, labels),
      conditions: { real: labels, fakeForD: labels, fakeForG: labels },
    };
    // Two identical GANs (same seeds), one step each: the class weight 2.5 against 0.
    const run = (weight: number) => {
      const gan = buildGan(config, seeds(6));
      // The head's loss on the real batch at the initial weights, computed here from D's features.
      const expected = value(
        tf.tidy(() => {
          let h: tf.Tensor = tf.tensor4d(inputs.real as Float32Array, [4, 8, 8, 3]);
          for (const layer of gan.discriminator.layers.slice(0, -1)) h = layer.apply(h, { training: true }) as tf.Tensor;
          return conditionCrossEntropy(gan.classifier!.apply(h) as tf.Tensor2D, tf.tensor2d(labels, [4, CONDITION_SIZE]));
        }),
      );
      const headBefore = gan.classifier!.getWeights()[0]!.dataSync().slice();
      const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [8, 8, 3], 8 + CONDITION_SIZE, { auxClassifier: weight });
      const metrics = stepper.step(inputs);
      const headMoved = gan.classifier!.getWeights()[0]!.dataSync().some((v, i) => v !== headBefore[i]);
      const tensors = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) stepper.step(inputs);
      const flat = tf.memory().numTensors === tensors;
      disposeModels(gan.generator, gan.discriminator, gan.projection!, gan.classifier!);
      return { metrics, expected, headMoved, flat };
    };
    const [off, on] = [run(0), run(2.5)];
    expect(on.expected).toBeGreaterThan(0.5);
    expect(on.metrics.dLossReal - off.metrics.dLossReal).toBeCloseTo(2.5 * on.expected, 4);
    // The fake batch's D loss has no class term (it differs only by D's first update, far less
    // than a class loss); G's loss has one, on the labels its fakes were asked for.
    expect(Math.abs(on.metrics.dLossFake - off.metrics.dLossFake)).toBeLessThan(0.05);
    expect(on.metrics.gLoss).toBeGreaterThan(off.metrics.gLoss + 0.5);
    expect([off.headMoved, on.headMoved]).toEqual([false, true]);
    expect([off.flat, on.flat]).toEqual([true, true]);
  });
});
