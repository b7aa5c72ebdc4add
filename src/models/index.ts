import * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';
import { CONDITION_SIZE } from '../data/conditions.js';
import { ConfigError } from '../errors.js';
import { buildDcganDiscriminator, buildDcganGenerator, dcganStages } from './dcgan.js';
import { activationFloatsPerImage as mlpActivationFloats, buildMlpDiscriminator, buildMlpGenerator, type SeedSource } from './mlp.js';
import { buildPaperCnnDiscriminator, buildPaperCnnGenerator } from './paper-cnn.js';

export { buildMlpGenerator, buildMlpDiscriminator, countParams } from './mlp.js';
export { buildDcganGenerator, buildDcganDiscriminator, dcganStages } from './dcgan.js';
export { buildPaperCnnGenerator, buildPaperCnnDiscriminator } from './paper-cnn.js';

export interface Gan {
  generator: tfl.LayersModel;
  discriminator: tfl.LayersModel;
  /**
   * Conditional runs: the projection discriminator's class embedding (Miyato & Koyama
   * 2018), Dense(CONDITION_SIZE -> D's feature width, no bias). D's logit gains
   * <embed(y), features(x)>; see discriminatorLogits in train/step.ts.
   */
  projection?: tfl.LayersModel;
  /**
   * Conditional runs with --aux-classifier: AC-GAN's class head (Odena et al. 2017),
   * Dense(D's feature width -> CONDITION_SIZE): one logit per age bucket, gender and
   * race, read per group with a softmax (see conditionCrossEntropy in train/losses.ts).
   */
  classifier?: tfl.LayersModel;
}

/** Length of G's input: the noise, plus a conditional run's one-hot labels (appended; G's first layer learns their embedding). */
export function generatorInputSize(config: Pick<TrainConfig, 'latentDim' | 'conditional'>): number {
  return config.latentDim + (config.conditional ? CONDITION_SIZE : 0);
}

/** Builds the generator a config describes (also the shell an EMA copy is loaded into). */
export function buildGenerator(config: TrainConfig, nextSeed: SeedSource): tfl.LayersModel {
  const shaped = { ...config, latentDim: generatorInputSize(config) };
  switch (config.architecture) {
    case 'mlp':
      return buildMlpGenerator(shaped, nextSeed);
    case 'dcgan':
      return buildDcganGenerator(shaped, nextSeed);
    case 'paper-cnn':
      return buildPaperCnnGenerator(shaped, nextSeed);
  }
}

function buildDiscriminator(config: TrainConfig, nextSeed: SeedSource): tfl.LayersModel {
  switch (config.architecture) {
    case 'mlp':
      return buildMlpDiscriminator(config, nextSeed);
    case 'dcgan':
      return buildDcganDiscriminator(config, nextSeed);
    case 'paper-cnn':
      return buildPaperCnnDiscriminator(config, nextSeed);
  }
}

/** The width of D's features: the input of its last Dense(1). */
export function discriminatorFeatureWidth(discriminator: tfl.LayersModel): number {
  const out = discriminator.layers[discriminator.layers.length - 1] as tfl.layers.Layer & { kernel?: tfl.LayerVariable };
  if (!out.kernel) throw new Error(`discriminator must end in a Dense layer, not ${out.getClassName()}`);
  return out.kernel.shape[0]!;
}

function buildProjection(discriminator: tfl.LayersModel, seed: number): tfl.LayersModel {
  const model = tfl.sequential({ name: 'projection' });
  model.add(
    tfl.layers.dense({
      units: discriminatorFeatureWidth(discriminator),
      useBias: false,
      inputShape: [CONDITION_SIZE],
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      name: 'd_projection',
    }),
  );
  return model;
}

function buildClassifier(discriminator: tfl.LayersModel, seed: number): tfl.LayersModel {
  const model = tfl.sequential({ name: 'classifier' });
  model.add(
    tfl.layers.dense({
      units: CONDITION_SIZE,
      inputShape: [discriminatorFeatureWidth(discriminator)],
      kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      name: 'd_classifier',
    }),
  );
  return model;
}

/** Builds the generator and discriminator a config describes (and a conditional run's projection and class head). */
export function buildGan(config: TrainConfig, nextSeed: SeedSource): Gan {
  const generator = buildGenerator(config, nextSeed);
  const discriminator = buildDiscriminator(config, nextSeed);
  if (!config.conditional) return { generator, discriminator };
  const gan: Gan = { generator, discriminator, projection: buildProjection(discriminator, nextSeed()) };
  if (config.auxClassifier > 0) gan.classifier = buildClassifier(discriminator, nextSeed());
  return gan;
}

export interface ModelSize {
  /** Trainable parameters of G and D. */
  params: number;
  /** Floats of all layer outputs for one image through G and D (a training-memory estimate). */
  activationFloatsPerImage: number;
}

/** A layer's parameter and output-float counts, for the size formulas below. */
interface LayerSize {
  params: number;
  outputs: number;
}

const sum = (layers: LayerSize[]): ModelSize => ({
  params: layers.reduce((total, l) => total + l.params, 0),
  // forward outputs, plus their gradients and one temporary each during training
  activationFloatsPerImage: 3 * layers.reduce((total, l) => total + l.outputs, 0),
});

function mlpLayers(config: TrainConfig): LayerSize[] {
  const pixels = config.resolution * config.resolution * 3;
  const dense = (inputs: number, units: number): LayerSize => ({ params: (inputs + 1) * units, outputs: units });
  const g = [config.latentDim, ...config.generatorUnits, pixels];
  const d = [pixels, ...config.discriminatorUnits, 1];
  return [
    ...g.slice(1).map((units, i) => dense(g[i]!, units)),
    ...config.generatorUnits.map((units) => ({ params: 2 * units, outputs: 2 * units })), // activation + BatchNorm
    ...d.slice(1).map((units, i) => dense(d[i]!, units)),
    ...config.discriminatorUnits.map((units) => ({ params: 0, outputs: units })),
  ];
}

function dcganLayers(config: TrainConfig): LayerSize[] {
  const stages = dcganStages(config.resolution);
  const layers: LayerSize[] = [];
  const gChannels = (stage: number) => config.baseFilters * 2 ** (stages - 1 - stage);
  layers.push({ params: config.latentDim * 16 * gChannels(0), outputs: 16 * gChannels(0) });
  layers.push({ params: 2 * gChannels(0), outputs: 2 * 16 * gChannels(0) });
  for (let stage = 1; stage < stages; stage++) {
    const area = (4 * 2 ** stage) ** 2;
    layers.push({ params: 16 * gChannels(stage - 1) * gChannels(stage) + 2 * gChannels(stage), outputs: 3 * area * gChannels(stage) });
  }
  layers.push({ params: 16 * gChannels(stages - 1) * 3, outputs: config.resolution ** 2 * 3 });
  for (let stage = 0; stage < stages; stage++) {
    const channels = config.baseFilters * 2 ** stage;
    const inputs = stage === 0 ? 3 : channels / 2;
    const area = (config.resolution / 2 ** (stage + 1)) ** 2;
    layers.push({ params: 16 * inputs * channels + (stage > 0 ? 2 * channels : 0), outputs: (stage > 0 ? 3 : 2) * area * channels });
  }
  layers.push({ params: 16 * config.baseFilters * 2 ** (stages - 1) + 1, outputs: 1 });
  return layers;
}

function paperCnnLayers(config: TrainConfig): LayerSize[] {
  const start = config.resolution / 4;
  const conv = (inputs: number, filters: number, area: number, batchNorm: boolean): LayerSize => ({
    params: 9 * inputs * filters + filters + (batchNorm ? 2 * filters : 0),
    outputs: (batchNorm ? 3 : 2) * area * filters,
  });
  let side = config.resolution;
  const discriminator: LayerSize[] = [];
  let inputs = 3;
  for (const [i, [filters, strides]] of ([[32, 2], [64, 2], [128, 2], [256, 1]] as const).entries()) {
    side = Math.ceil(side / strides);
    discriminator.push(conv(inputs, filters, side * side, i > 0));
    inputs = filters;
  }
  return [
    { params: (config.latentDim + 1) * 128 * start * start, outputs: 128 * start * start },
    conv(128, 128, (2 * start) ** 2, true),
    conv(128, 64, (4 * start) ** 2, true),
    conv(64, 3, config.resolution ** 2, false),
    ...discriminator,
    { params: side * side * 256 + 1, outputs: 1 },
  ];
}

/** Size of a config's models, from their layer shapes: no model is built and no backend is needed. */
export function modelSize(config: TrainConfig): ModelSize {
  switch (config.architecture) {
    case 'mlp':
      return { ...sum(mlpLayers(config)), activationFloatsPerImage: mlpActivationFloats(config) };
    case 'dcgan':
      return sum(dcganLayers(config));
    case 'paper-cnn':
      if (config.resolution % 4 !== 0) throw new ConfigError(`paper-cnn needs a resolution divisible by 4, not ${config.resolution}`);
      return sum(paperCnnLayers(config));
  }
}
