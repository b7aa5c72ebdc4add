import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { defaults, presetNames, resolveConfig, validateStoredConfig } from './index.js';

describe('resolveConfig', () => {
  it('gives Table 1 exactly for model1 … model6', () => {
    const table = presetNames()
      .filter((n) => n.startsWith('model'))
      .map((n) => {
        const c = resolveConfig(n);
        return [n, c.learningRate, c.batchSize, c.activation, c.iterations, c.resolution];
      });
    expect(table).toEqual([
      ['model1', 1e-4, 128, 'leakyrelu', 20000, 120],
      ['model2', 1e-4, 256, 'leakyrelu', 20000, 120],
      ['model3', 1e-4, 512, 'leakyrelu', 20000, 120],
      ['model4', 2e-4, 128, 'relu', 20000, 120],
      ['model5', 2e-4, 256, 'relu', 20000, 120],
      ['model6', 2e-4, 512, 'relu', 20000, 120],
    ]);
  });

  it("keeps the paper's architecture and Adam settings in every Table 1 preset", () => {
    for (const name of ['model1', 'model4']) {
      const c = resolveConfig(name);
      expect(c.generatorUnits).toEqual([256, 512, 1024, 2048]);
      expect(c.discriminatorUnits).toEqual([1024, 512, 256]);
      expect([c.latentDim, c.beta1, c.beta2, c.batchNormMomentum, c.sampleEvery]).toEqual([100, 0.5, 0.999, 0.8, 500]);
    }
  });

  it('bundles the conditional recipe in faces64: dcgan64 with the options the built-in faces64-utkface trained with', () => {
    const { preset: _a, ...faces } = resolveConfig('faces64');
    const { preset: _b, ...dcgan } = resolveConfig('dcgan64');
    const differs = Object.keys(faces).filter((k) => JSON.stringify(faces[k as keyof typeof faces]) !== JSON.stringify(dcgan[k as keyof typeof dcgan]));
    expect(differs.sort()).toEqual(['auxClassifier', 'baseFilters', 'checkpointEvery', 'conditional', 'diffAugment', 'ema', 'flipAugment', 'iterations', 'sampleCount', 'sampleEvery']);
    expect(faces).toMatchObject({ architecture: 'dcgan', resolution: 64, baseFilters: 32, ema: 0.995, diffAugment: ['translation', 'cutout'], loss: 'nonsaturating', conditional: true, auxClassifier: 2, flipAugment: true, iterations: 2000 });
  });

  it('lets flags override the preset, parsing strings from the command line', () => {
    const c = resolveConfig('model2', { 'batch-size': '64', learningRate: '3e-4', generator_units: '8,16', activation: 'ReLU' });
    expect([c.batchSize, c.learningRate, c.generatorUnits, c.activation, c.preset]).toEqual([64, 3e-4, [8, 16], 'relu', 'model2']);
  });

  it('rejects unknown presets, unknown keys and ill-typed values', () => {
    expect(() => resolveConfig('model9')).toThrow(/unknown preset "model9"/);
    expect(() => resolveConfig('tiny', { batchsize: 3 })).toThrow(ConfigError);
    expect(() => resolveConfig('tiny', { batchsize: 3 })).toThrow(/unknown option "batchsize"/);
    expect(() => resolveConfig('tiny', { batchSize: '-5' })).toThrow(/batchSize.*>= 1/);
    expect(() => resolveConfig('tiny', { batchSize: '2.5' })).toThrow(/an integer/);
    expect(() => resolveConfig('tiny', { learningRate: 'fast' })).toThrow(/learningRate/);
    expect(() => resolveConfig('tiny', { activation: 'gelu' })).toThrow(/leakyrelu, relu/);
    expect(() => resolveConfig('tiny', { generatorUnits: '8,x' })).toThrow(/generatorUnits/);
  });

  it('freezes the result and leaves the defaults untouched', () => {
    const c = resolveConfig('tiny', { seed: 7 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(defaults.seed).toBe(42);
    expect(defaults.resolution).toBe(120);
  });

  it('round-trips a stored config and refuses one with missing keys', () => {
    const c = resolveConfig('tiny', { seed: 9 });
    expect(validateStoredConfig(JSON.parse(JSON.stringify(c)), 'config.json')).toEqual(c);
    const { seed: _seed, ...partial } = c;
    expect(() => validateStoredConfig(partial, 'runs/x/config.json')).toThrow(/runs\/x\/config.json: missing "seed"/);
  });
});
