import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/index.js';
import { Rng } from '../train/rng.js';
import { buildGan, countParams, modelSize } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const seeds = (seed: number) => {
  const rng = new Rng(seed);
  return () => rng.childSeed();
};

describe('MLP GAN', () => {
  it("has the paper's layer sizes at 120x120 (43,200 outputs)", () => {
    const { generator, discriminator } = buildGan(resolveConfig('model1'), seeds(1));
    const denseUnits = (m: tf.serialization.Serializable & { layers: { getClassName(): string; getConfig(): Record<string, unknown> }[] }) =>
      m.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.getConfig().units);
    expect(denseUnits(generator as never)).toEqual([256, 512, 1024, 2048, 43200]);
    expect(denseUnits(discriminator as never)).toEqual([1024, 512, 256, 1]);
    expect(generator.outputs[0]!.shape).toEqual([null, 120, 120, 3]);
    expect(discriminator.inputs[0]!.shape).toEqual([null, 120, 120, 3]);
    expect(countParams(generator)).toBe(91_306_432);
    expect(countParams(discriminator)).toBe(44_894_209);
    const bn = generator.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    expect(bn.map((l) => l.getConfig().momentum)).toEqual([0.8, 0.8, 0.8, 0.8]);
    generator.dispose();
    discriminator.dispose();
  });

  it('uses the configured activation and outputs tanh images and sigmoid verdicts', () => {
    const config = resolveConfig('tiny', { activation: 'relu' });
    const { generator, discriminator } = buildGan(config, seeds(2));
    const classes = generator.layers.map((l) => l.getClassName());
    expect(classes).toContain('ReLU');
    expect(classes).not.toContain('LeakyReLU');
    const [images, verdicts] = tf.tidy(() => {
      const fakes = generator.predict(tf.randomNormal([4, config.latentDim], 0, 1, 'float32', 3)) as tf.Tensor;
      return [fakes.arraySync() as number[][][][], (discriminator.predict(fakes) as tf.Tensor).dataSync()];
    });
    const flat = images.flat(3);
    expect(Math.max(...flat)).toBeLessThanOrEqual(1);
    expect(Math.min(...flat)).toBeGreaterThanOrEqual(-1);
    expect([...verdicts!].every((p) => p > 0 && p < 1)).toBe(true);
    generator.dispose();
    discriminator.dispose();
  });

  it('is reproducible from the seed', () => {
    const config = resolveConfig('tiny');
    const a = buildGan(config, seeds(5));
    const b = buildGan(config, seeds(5));
    const c = buildGan(config, seeds(6));
    const first = (m: typeof a) => m.generator.getWeights()[0]!.dataSync();
    expect(first(b)).toEqual(first(a));
    expect(first(c)).not.toEqual(first(a));
    for (const gan of [a, b, c]) {
      gan.generator.dispose();
      gan.discriminator.dispose();
    }
  });
});

describe('modelSize', () => {
  it('matches the built models', () => {
    for (const config of [resolveConfig('tiny'), resolveConfig('tiny', { generatorUnits: '16', discriminatorUnits: '8,4', resolution: 16 })]) {
      const gan = buildGan(config, seeds(1));
      expect(modelSize(config).params).toBe(countParams(gan.generator) + countParams(gan.discriminator));
      gan.generator.dispose();
      gan.discriminator.dispose();
    }
    expect(modelSize(resolveConfig('model2')).params).toBe(91_306_432 + 44_894_209);
  });
});
