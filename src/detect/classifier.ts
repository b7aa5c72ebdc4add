/**
 * The two face classifiers `detect` can use, behind one interface: a trained
 * detector folder (./card.ts) or a GAN run's discriminator (the paper's detector).
 * @internal
 */
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../errors.js';
import { builtInDetector } from '../models/builtin.js';
import { loadLayersModel } from '../models/io.js';
import { loadRunModel } from '../train/checkpoint.js';
import { readDetectorCard, type DetectorCard } from './card.js';
import { inputToBytes } from './augment.js';
import { applyPlatt } from './metrics.js';
import { describeProbe, isProbeFolder, PROBE_FILE, probeScorer, readProbeFolder, type FaceAnalysis } from './probe-classifier.js';
import type { DetectorInfo } from './types.js';

/**
 * Margin cropFace adds around a face-api SSD box so the crop is framed like a
 * UTKFace photo (and so like the faces our GANs learn to draw). Measured on 30
 * UTKFace crops spread over the set: the SSD box's longer side is 0.94 of the photo
 * on average (min 0.86), centred within 3%; 5% on each side gives 1.04, which
 * cropFace clamps to the photo itself. Faces in wider shots get the same framing.
 */
export const UTKFACE_CROP_MARGIN = 0.05;

export interface FaceClassifier {
  info: DetectorInfo;
  /** The crop margin around a face box that matches the classifier's training framing. */
  cropMargin: number;
  /** Calibrated p(fake) of each crop: inputSize x inputSize x 3 floats in [-1, 1], HWC. */
  score(crops: Float32Array[]): number[];
  /** The detector's card, for a trained detector. */
  card?: DetectorCard;
  /**
   * Detectors that can say more (the probe): per crop, the calibrated p(fake), whether
   * the face lies outside what the detector was trained on, and optionally the region map.
   */
  analyse?(crops: Float32Array[], withMap: boolean): FaceAnalysis[];
  /** Faces smaller than this (px across, in the image) are too small to judge. */
  minFaceSide?: number;
  /** Calibrated p(fake) within this of the threshold is too close to call. */
  uncertainBand?: number;
  dispose(): void;
}

const BATCH = 32;

function predict(model: tfl.LayersModel, crops: Float32Array[], size: number): Float32Array {
  const out = new Float32Array(crops.length);
  const floats = size * size * 3;
  for (let start = 0; start < crops.length; start += BATCH) {
    const batch = crops.slice(start, start + BATCH);
    const x = new Float32Array(batch.length * floats);
    batch.forEach((crop, i) => {
      if (crop.length !== floats) throw new RangeError(`crop ${start + i} has ${crop.length} values, expected ${size}x${size}x3 = ${floats}`);
      x.set(crop, i * floats);
    });
    out.set(tf.tidy(() => (model.predict(tf.tensor4d(x, [batch.length, size, size, 3])) as tf.Tensor).dataSync()), start);
  }
  return out;
}

/** A trained detector folder: the CNN, calibrated with the card's Platt scaling. */
export async function loadDetectorClassifier(dir: string): Promise<FaceClassifier> {
  const card = await readDetectorCard(dir);
  const model = await loadLayersModel(dir);
  const auc = card.heldOut.auc;
  const builtIn = builtInDetector();
  return {
    info: {
      kind: 'detector',
      source: builtIn && resolve(builtIn.dir) === resolve(dir) ? `builtin:${builtIn.name}` : dir,
      name: `detector ${card.name}${auc === null ? '' : ` (held-out AUC ${auc.toFixed(3)})`}`,
      threshold: card.calibration.threshold,
      inputSize: card.inputSize,
    },
    cropMargin: card.cropMargin,
    card,
    score: (crops) => Array.from(predict(model, crops, card.inputSize), (p) => applyPlatt(p, card.calibration.platt)),
    dispose: () => model.dispose(),
  };
}

/** A probe detector folder (probe.json): the shipped backbone plus a calibrated linear probe. */
export async function loadProbeClassifier(dir: string): Promise<FaceClassifier> {
  const probe = await readProbeFolder(dir);
  const scorer = await probeScorer(probe);
  const builtIn = builtInDetector();
  const toBytes = (crops: Float32Array[]) => crops.map((crop) => inputToBytes(crop));
  const outside = probe.card.measured.test['all outside gan']?.['pipeline/clean']?.auc;
  return {
    info: {
      kind: 'detector',
      source: builtIn && resolve(builtIn.dir) === resolve(dir) ? `builtin:${builtIn.name}` : dir,
      name: `detector ${probe.card.name}${outside === null || outside === undefined ? '' : ` (outside-data AUC ${outside.toFixed(3)})`}`,
      threshold: probe.threshold,
      inputSize: probe.card.inputSize,
      about: describeProbe(probe.card),
    },
    cropMargin: probe.card.cropMargin,
    minFaceSide: probe.card.minFaceSide,
    uncertainBand: probe.uncertainBand,
    score: (crops) => scorer.analyse(toBytes(crops), false).map((a) => a.pFake),
    analyse: (crops, withMap) => scorer.analyse(toBytes(crops), withMap),
    dispose: () => {},
  };
}

/** A run's newest discriminator: p(fake) = 1 - D(crop), threshold 0.5 (D's own decision rule). */
export async function loadDiscriminatorClassifier(runDir: string): Promise<FaceClassifier> {
  const { model, config, iteration } = await loadRunModel(runDir, 'discriminator');
  const size = config.resolution;
  return {
    info: {
      kind: 'discriminator',
      source: runDir,
      name: `discriminator of ${basename(resolve(runDir))} (iteration ${iteration}, ${config.architecture} ${size}x${size})`,
      threshold: 0.5,
      inputSize: size,
    },
    cropMargin: UTKFACE_CROP_MARGIN,
    score: (crops) => Array.from(predict(model, crops, size), (pReal) => 1 - pReal),
    dispose: () => model.dispose(),
  };
}

export interface ClassifierChoice {
  detector?: string;
  run?: string;
}

const cache = new Map<string, Promise<FaceClassifier>>();

async function cacheKey(choice: ClassifierChoice): Promise<string> {
  const path = resolve(choice.detector ?? choice.run!);
  // A detector retrained in place (or a run that checkpointed since) is reloaded.
  const marker = choice.detector ? join(path, isProbeFolder(path) ? PROBE_FILE : 'detector.json') : join(path, 'checkpoints', 'latest.json');
  const mtime = await stat(marker).then((s) => s.mtimeMs, () => 0);
  return `${choice.detector ? 'detector' : 'run'}\0${path}\0${mtime}\0${tf.getBackend()}`;
}

/**
 * The classifier chosen by `detector` or `run` (at most one), loaded once per
 * process and backend; with neither, the built-in detector (models/). Throws
 * UsageError when both are given, or neither and this install ships no detector.
 */
export async function loadClassifier(choice: ClassifierChoice): Promise<FaceClassifier> {
  if (choice.detector && choice.run) throw new UsageError('give a detector or a run, not both');
  if (!choice.detector && !choice.run) {
    const builtIn = builtInDetector();
    if (!builtIn) throw new UsageError('no classifier chosen', 'pass --detector DIR (from `fakeface detector train`) or --run RUN (a GAN run\'s discriminator)');
    choice = { detector: builtIn.dir };
  }
  const key = await cacheKey(choice);
  let loading = cache.get(key);
  if (!loading) {
    loading = choice.detector
      ? isProbeFolder(choice.detector)
        ? loadProbeClassifier(choice.detector)
        : loadDetectorClassifier(choice.detector)
      : loadDiscriminatorClassifier(choice.run!);
    cache.set(key, loading);
    loading.catch(() => cache.delete(key));
  }
  return loading;
}

/** Frees every cached classifier's weights. */
export async function disposeClassifiers(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const loading of all) (await loading.catch(() => null))?.dispose();
}
