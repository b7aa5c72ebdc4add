import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/index.js';
import { createAdam } from '../train/optimizer.js';
import { Rng } from '../train/rng.js';
import { GanStepper } from '../train/step.js';
import { buildGan, countParams, modelSize } from './index.js';

beforeAll(async () => {
  // cpu with the native kernels when built (pure-JS conv gradients are slow, but correct, without them)
  await initEngine({ backend: 'cpu' });
});

const seeds = (seed: number) => {
  const rng = new Rng(seed);
  return () => rng.childSeed();
};

describe('convolutional GANs', () => {
  it("dcgan64 has PyTorch examples/dcgan's shapes and parameter counts", () => {
    const { generator, discriminator } = buildGan(resolveConfig('dcgan64'), seeds(1));
    expect(generator.outputs[0]!.shape).toEqual([null, 64, 64, 3]);
    expect(discriminator.inputs[0]!.shape).toEqual([null, 64, 64, 3]);
    const shapes = generator.layers.filter((l) => l.getClassName() === 'ReLU').map((l) => l.outputShape);
    expect(shapes).toEqual([
      [null, 4, 4, 512],
      [null, 8, 8, 256],
      [null, 16, 16, 128],
      [null, 32, 32, 64],
    ]);
    // PyTorch's netG has 3,576,704 parameters; its netD 2,765,568 (its last layer, a 4x4 conv, has no bias; our dense has one).
    expect(countParams(generator)).toBe(3_576_704);
    expect(countParams(discriminator)).toBe(2_765_568 + 1);
    expect(modelSize(resolveConfig('dcgan64')).params).toBe(3_576_704 + 2_765_569);
    generator.dispose();
    discriminator.dispose();
  });

  it('dcgan follows the resolution, and refuses one that is not 4·2^k', () => {
    for (const resolution of [16, 32, 128]) {
      const gan = buildGan(resolveConfig('dcgan-tiny', { resolution }), seeds(1));
      expect(gan.generator.outputs[0]!.shape).toEqual([null, resolution, resolution, 3]);
      expect(gan.discriminator.outputs[0]!.shape).toEqual([null, 1]);
      gan.generator.dispose();
      gan.discriminator.dispose();
    }
    expect(() => buildGan(resolveConfig('dcgan-tiny', { resolution: 48 }), seeds(1))).toThrow(/4·2\^k/);
  });

  it("paper-cnn's generator output is exactly its discriminator's input (the paper's mismatch fixed)", () => {
    for (const resolution of [120, 32]) {
      const gan = buildGan(resolveConfig('paper-cnn', { resolution }), seeds(2));
      expect(gan.generator.outputs[0]!.shape).toEqual([null, resolution, resolution, 3]);
      expect(gan.discriminator.inputs[0]!.shape).toEqual([null, resolution, resolution, 3]);
      const classes = gan.discriminator.layers.map((l) => l.getClassName());
      expect(classes.filter((c) => c === 'Dropout')).toHaveLength(4);
      expect(classes.filter((c) => c === 'LeakyReLU')).toHaveLength(4);
      gan.generator.dispose();
      gan.discriminator.dispose();
    }
    expect(() => buildGan(resolveConfig('paper-cnn', { resolution: 30 }), seeds(1))).toThrow(/divisible by 4/);
    expect(() => modelSize(resolveConfig('paper-cnn', { resolution: 30 }))).toThrow(/divisible by 4/);
  });

  it('computes parameter counts without building, equal to the built models', () => {
    for (const config of [
      resolveConfig('dcgan64'),
      resolveConfig('dcgan-tiny', { resolution: 16, baseFilters: 8 }),
      resolveConfig('paper-cnn'),
      resolveConfig('paper-cnn', { resolution: 36 }),
    ]) {
      const gan = buildGan(config, seeds(1));
      expect(modelSize(config).params).toBe(countParams(gan.generator) + countParams(gan.discriminator));
      gan.generator.dispose();
      gan.discriminator.dispose();
    }
  });

  it('trains a few steps with finite losses and no tensor leak', () => {
    // Small sizes: without the native kernels the cpu backend's conv gradients are pure JS and slow.
    for (const [preset, size] of [['dcgan-tiny', 8], ['paper-cnn', 8]] as const) {
      const config = resolveConfig(preset, { resolution: size, batchSize: 4, baseFilters: 8, labelSmoothing: 0.1 });
      const rng = new Rng(3);
      const gan = buildGan(config, () => rng.childSeed());
      const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [size, size, 3], config.latentDim, { labelSmoothing: 0.1 });
      const real = Float32Array.from({ length: 4 * size * size * 3 }, () => rng.uniform() * 2 - 1);
      const step = () => stepper.step({ real, noiseForD: rng.normals(4 * config.latentDim), noiseForG: rng.normals(4 * config.latentDim), instanceNoise: 0.1, instanceNoiseSeed: 7 });
      step();
      const before = tf.memory().numTensors;
      const metrics = [step(), step()];
      expect(tf.memory().numTensors).toBe(before);
      for (const m of metrics) expect(Number.isFinite(m.dLossReal + m.dLossFake + m.gLoss)).toBe(true);
      gan.generator.dispose();
      gan.discriminator.dispose();
    }
  });
});
