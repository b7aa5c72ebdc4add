import { ConfigError } from '../errors.js';
import { defaults, LATER_KEYS, type TrainConfig } from './defaults.js';
import { table1 } from './presets/table1.js';
import { tiny } from './presets/tiny.js';
import { convPresets } from './presets/conv.js';
import { faces64 } from './presets/faces64.js';

export { defaults, type TrainConfig, type Activation, type Architecture, type GanLoss, type DiffAugmentOp } from './defaults.js';

/** Every preset by name: the paper's Table 1 (`model1`…`model6`), `tiny`, and the conv nets (`paper-cnn`, `dcgan64`, `dcgan-tiny`). */
export const presets: Readonly<Record<string, Partial<TrainConfig>>> = { ...table1, tiny, ...convPresets, faces64 };

export function presetNames(): string[] {
  return Object.keys(presets);
}

/** Option values as they arrive from flags (strings) or from JSON (typed). */
export type Overrides = Record<string, unknown>;

type Kind = 'int' | 'number' | 'intList' | 'enum' | 'enumList' | 'string' | 'boolean';
interface Rule {
  kind: Kind;
  min?: number;
  max?: number;
  values?: readonly string[];
}

/** How each key is checked; `min`/`max` are inclusive. */
const rules: Record<keyof TrainConfig, Rule> = {
  preset: { kind: 'string' },
  architecture: { kind: 'enum', values: ['mlp', 'dcgan', 'paper-cnn'] },
  resolution: { kind: 'int', min: 8, max: 1024 },
  latentDim: { kind: 'int', min: 1, max: 4096 },
  generatorUnits: { kind: 'intList', min: 1 },
  discriminatorUnits: { kind: 'intList', min: 1 },
  activation: { kind: 'enum', values: ['leakyrelu', 'relu'] },
  leakyAlpha: { kind: 'number', min: 0, max: 1 },
  batchNormMomentum: { kind: 'number', min: 0, max: 1 },
  baseFilters: { kind: 'int', min: 1, max: 1024 },
  dropout: { kind: 'number', min: 0, max: 0.95 },
  labelSmoothing: { kind: 'number', min: 0, max: 0.5 },
  instanceNoise: { kind: 'number', min: 0, max: 10 },
  flipAugment: { kind: 'boolean' },
  learningRate: { kind: 'number', min: Number.MIN_VALUE, max: 1 },
  beta1: { kind: 'number', min: 0, max: 0.999999 },
  beta2: { kind: 'number', min: 0, max: 0.999999 },
  epsilon: { kind: 'number', min: Number.MIN_VALUE, max: 1 },
  batchSize: { kind: 'int', min: 1, max: 65536 },
  iterations: { kind: 'int', min: 1 },
  sampleEvery: { kind: 'int', min: 0 },
  sampleCount: { kind: 'int', min: 1, max: 1024 },
  evalEvery: { kind: 'int', min: 0 },
  checkpointEvery: { kind: 'int', min: 1 },
  keepCheckpoints: { kind: 'int', min: 1 },
  earlyStopPatience: { kind: 'int', min: 0 },
  seed: { kind: 'int', min: 0, max: 2 ** 32 - 1 },
  limit: { kind: 'int', min: 0 },
  ema: { kind: 'number', min: 0, max: 0.999999 },
  diffAugment: { kind: 'enumList', values: ['color', 'translation', 'cutout'] },
  loss: { kind: 'enum', values: ['nonsaturating', 'hinge'] },
  conditional: { kind: 'boolean' },
  auxClassifier: { kind: 'number', min: 0, max: 100 },
};

/** `batch-size` and `batch_size` are accepted for `batchSize`. */
export function toConfigKey(name: string): string {
  return name.replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function fail(key: string, expected: string, value: unknown): never {
  throw new ConfigError(`invalid value for ${key}: ${JSON.stringify(value)} (expected ${expected})`);
}

function parseNumber(key: string, value: unknown, rule: Rule, integer: boolean): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  const expected = integer ? 'an integer' : 'a number';
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) fail(key, expected, value);
  if (rule.min !== undefined && n < rule.min) fail(key, `${expected} >= ${rule.min}`, value);
  if (rule.max !== undefined && n > rule.max) fail(key, `${expected} <= ${rule.max}`, value);
  return n;
}

function parseValue(key: string, value: unknown, rule: Rule): unknown {
  switch (rule.kind) {
    case 'int':
      return parseNumber(key, value, rule, true);
    case 'number':
      return parseNumber(key, value, rule, false);
    case 'intList': {
      const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : fail(key, 'a comma-separated list of integers', value);
      if (items.length === 0) fail(key, 'at least one width', value);
      return items.map((item) => parseNumber(key, item, rule, true));
    }
    case 'enumList': {
      // "color,translation", a JSON list, or "" / "none" for off; each value once, in the order given.
      const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter((v) => v !== '' && v.toLowerCase() !== 'none') : fail(key, `a comma-separated list of ${rule.values!.join(', ')}`, value);
      const parsed = items.map((item) => {
        if (typeof item !== 'string' || !rule.values!.includes(item.toLowerCase())) fail(key, `a comma-separated list of ${rule.values!.join(', ')}`, value);
        return item.toLowerCase();
      });
      return [...new Set(parsed)];
    }
    case 'enum':
      if (typeof value !== 'string' || !rule.values!.includes(value.toLowerCase())) fail(key, `one of ${rule.values!.join(', ')}`, value);
      return (value as string).toLowerCase();
    case 'string':
      if (typeof value !== 'string') fail(key, 'a string', value);
      return value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1' || value === 'yes') return true;
      if (value === 'false' || value === '0' || value === 'no') return false;
      return fail(key, 'true or false', value);
  }
}

/**
 * Defaults, then the preset, then the overrides (flags win). Unknown preset
 * names, unknown keys and ill-typed values are errors.
 */
export function resolveConfig(presetName: string | undefined, overrides: Overrides = {}): Readonly<TrainConfig> {
  const name = presetName ?? 'default';
  if (name !== 'default' && !(name in presets)) {
    throw new ConfigError(`unknown preset "${name}"`, `presets: ${presetNames().join(', ')}`);
  }
  const config: Record<string, unknown> = { ...defaults, ...(presets[name] ?? {}), preset: name };
  for (const [rawKey, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const key = toConfigKey(rawKey);
    const rule = rules[key as keyof TrainConfig];
    if (!rule) throw new ConfigError(`unknown option "${rawKey}"`, `options: ${Object.keys(rules).join(', ')}`);
    config[key] = parseValue(key, value, rule);
  }
  if ((config.auxClassifier as number) > 0 && !config.conditional) {
    throw new ConfigError(`auxClassifier ${String(config.auxClassifier)} needs a conditional run: the classifier learns UTKFace's labels`, 'add --conditional (or use --preset faces64)');
  }
  return Object.freeze(config as unknown as TrainConfig);
}

/** Checks a config read back from a run folder (every key present and valid). */
export function validateStoredConfig(stored: unknown, source: string): Readonly<TrainConfig> {
  if (typeof stored !== 'object' || stored === null) throw new ConfigError(`${source}: not a config object`);
  const entries = { ...Object.fromEntries(LATER_KEYS.map((key) => [key, defaults[key]])), ...(stored as Record<string, unknown>) };
  for (const key of Object.keys(rules)) {
    if (!(key in entries)) throw new ConfigError(`${source}: missing "${key}"`);
  }
  const { preset, ...rest } = entries;
  return resolveConfig(typeof preset === 'string' && (preset in presets || preset === 'default') ? preset : 'default', { ...rest, preset });
}
