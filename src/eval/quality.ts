/**
 * How good a generator's faces are, measured the way the field measures it and
 * not by the discriminator's accuracy: FID, KID and a classifier two-sample
 * test between generated faces and real faces, on 128-d face descriptors
 * (FACE_FEATURE_NETWORK), each beside its real-vs-real floor.
 *
 * The reference set holds 2N real faces, split once (fixed seed) into two
 * halves A and B of N. Every number is measured against half A:
 *
 *   fid = FID(generated N, A)      fidFloor = FID(B, A)
 *   kid = KID(generated N, A)      kidFloor = KID(B, A)
 *   twoSample = C2ST(A, generated) twoSampleFloor = C2ST(A, B)
 *
 * so the floor is what a perfect generator would score at the same set size
 * (FID on 128-d features is strongly biased at a few hundred vectors: compare
 * numbers only at equal N, and only with the floor beside them). The floors
 * of one reference set are computed once and shared by every generator
 * evaluated against it.
 *
 * The faces are already face crops (training images and generator outputs
 * alike), so they go to the descriptor net as they are, resized to its input.
 * Descriptors run on the current tfjs backend (~50-100 ms per face on two CPU cores).
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { TrainConfig } from '../config/index.js';
import { decodeImage, IMAGE_EXTENSIONS } from '../data/index.js';
import { DatasetNotFoundError, EmptyDatasetError, ImageDecodeError, UsageError } from '../errors.js';
import { faceDescriptors, FACE_FEATURE_NETWORK } from '../faces/index.js';
import { Rng } from '../train/rng.js';
import { generateImages } from '../train/samples.js';
import { realVsRealFloor } from './floor.js';
import { frechetDistance } from './frechet.js';
import { kernelInceptionDistance, type KernelInceptionDistance } from './kid.js';
import type { Features } from './linalg.js';
import { twoSampleTest, type TwoSampleTest } from './two-sample.js';

export { FACE_FEATURE_NETWORK };

/** Real faces to compare generated ones with: 2N images at the generator's resolution. */
export interface ReferenceFaces {
  /** count x size x size x 3 values, RGB, in [-1, 1]. */
  images: Float32Array;
  count: number;
  /** Side in pixels (the generator's resolution). */
  size: number;
  /** File names, in image order. */
  files: string[];
  /** Where the faces come from, in words (for reports). */
  source: string;
}

export interface ReferenceOptions {
  /** Side to decode the faces at: the resolution of the generators they will judge. */
  size: number;
  /** Faces to draw: twice the number of generated faces each evaluation uses. */
  count: number;
  /** Seed of the random draw. @default 0 */
  seed?: number;
  /** File names never drawn (e.g. the images a model trained on). */
  exclude?: ReadonlySet<string>;
  /** Hears about unreadable files (they are replaced by the next in the draw). */
  warn?: (message: string) => void;
}

export interface QualityOptions {
  /** Generated faces, and real faces per half: at most half the reference set. @default reference.count / 2 */
  count?: number;
  /** Seed of the generator's input noise. @default 0 */
  seed?: number;
  /** A conditional generator's labels, one-hot (count x CONDITION_SIZE); default: labels drawn uniformly from a fixed seed. */
  conditions?: Float32Array;
}

/** What evaluateGenerator measured. Lower is better for FID and KID; 0.5 is best for the two-sample accuracy. */
export interface GeneratorQuality {
  /** FID(generated, real half A) on face descriptors. */
  fid: number;
  /** KID(generated, real half A): mean over subsets. */
  kid: number;
  /** KID's standard deviation over subsets. */
  kidStd: number;
  /** Held-out accuracy of a classifier telling real half A from generated faces. */
  twoSampleAccuracy: number;
  /** Its 95% Wilson interval. */
  twoSampleInterval: { low: number; high: number };
  /** FID(real half B, real half A): what a perfect generator would score. */
  fidFloor: number;
  kidFloor: number;
  kidFloorStd: number;
  twoSampleFloor: number;
  twoSampleFloorInterval: { low: number; high: number };
  /** Generated faces, = real faces in each half. */
  count: number;
  /** KID subset size used (half the set, so that its std means something). */
  kidSubsetSize: number;
  /** The network the features come from: these are not Inception-FID numbers. */
  featureNetwork: string;
}

/** The metric keys evaluateGenerator adds to a metrics.jsonl line during training. */
export const QUALITY_METRIC_KEYS = ['fid', 'kid', 'kidStd', 'twoSampleAccuracy', 'fidFloor', 'kidFloor', 'twoSampleFloor'] as const;

/** Fixed seed of the A/B split and of the KID subsets and two-sample classifier: every evaluation of one reference set uses the same ones. */
const METRIC_SEED = 0;
/** KID subsets averaged (torch-fidelity: 100). */
const KID_SUBSETS = 100;
/** Generated faces per forward pass of G: bounds the activations' memory. */
const GENERATE_CHUNK = 64;

// ---------------------------------------------------------------------------
// Reference faces

/**
 * Image files of a folder as loadFaceFolder sees them: JPEG/PNG/WebP, not hidden,
 * sorted by code unit. Throws DatasetNotFoundError when `dir` is not a folder.
 */
export async function listFaceFiles(dir: string): Promise<string[]> {
  const folder = resolve(dir);
  try {
    if (!(await stat(folder)).isDirectory()) throw new DatasetNotFoundError(`data folder ${dir} is a file, not a folder`);
  } catch (error) {
    if (error instanceof DatasetNotFoundError) throw error;
    throw new DatasetNotFoundError(`data folder ${dir} does not exist`, 'point --data at a folder of face images (JPEG, PNG or WebP)');
  }
  const entries = await readdir(folder, { withFileTypes: true });
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .filter((name) => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase()))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The names in a seeded random order (Fisher-Yates): the same seed, the same order. */
export function shuffledNames(names: readonly string[], seed: number): string[] {
  const order = [...names];
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Draws `count` faces at random (seeded) from a folder and decodes them at
 * size x size. Deterministic: the same folder, seed and count give the same
 * faces. Unreadable files are skipped and the draw goes on to the next name.
 */
export async function loadReferenceFaces(dir: string, options: ReferenceOptions): Promise<ReferenceFaces> {
  const { size, count, seed = 0, exclude, warn } = options;
  if (!Number.isInteger(count) || count < 4) throw new UsageError(`reference faces: count must be an integer >= 4, got ${count}`);
  const all = await listFaceFiles(dir);
  const candidates = exclude ? all.filter((name) => !exclude.has(name)) : all;
  if (candidates.length < count) {
    throw new EmptyDatasetError(
      `${dir} holds ${candidates.length} usable images${exclude ? ` (after excluding ${all.length - candidates.length})` : ''}; the evaluation needs ${count}`,
      'lower --eval-count / --count (the evaluation draws twice as many real faces as it generates)',
    );
  }
  const imageSize = size * size * 3;
  const images = new Float32Array(count * imageSize);
  const files: string[] = [];
  const skipped: string[] = [];
  for (const name of shuffledNames(candidates, seed)) {
    if (files.length === count) break;
    try {
      images.set(await decodeImage(join(dir, name), size, size, name), files.length * imageSize);
      files.push(name);
    } catch (error) {
      if (!(error instanceof ImageDecodeError)) throw error;
      skipped.push(`${name} (${error.problem})`);
    }
  }
  if (files.length < count) {
    throw new EmptyDatasetError(`${dir}: only ${files.length} of the ${count} faces the evaluation needs could be read`, 'lower --eval-count / --count');
  }
  if (skipped.length) warn?.(`reference faces: skipped ${skipped.length} unreadable file(s) in ${dir}: ${skipped.slice(0, 3).join(', ')}`);
  const excluded = exclude ? `, excluding ${all.length - candidates.length} training images` : '';
  return {
    images,
    count,
    size,
    files,
    source: `${count} faces drawn at random (seed ${seed}) from the ${all.length} images in ${dir}${excluded}`,
  };
}

// ---------------------------------------------------------------------------
// Metrics

/** Face descriptors of count faces packed NHWC in [-1, 1]. */
export async function descriptorsOf(images: Float32Array, count: number, size: number): Promise<Float32Array[]> {
  const imageSize = size * size * 3;
  if (images.length < count * imageSize) throw new UsageError(`descriptorsOf: ${count} faces of ${size}x${size}x3 need ${count * imageSize} values, got ${images.length}`);
  const crops = Array.from({ length: count }, (_, i) => images.subarray(i * imageSize, (i + 1) * imageSize));
  return faceDescriptors(crops, size);
}

/** The floors of one real set at one set size: computed once, shared by every generator compared with it. */
export interface QualityFloors {
  halfA: Float32Array[];
  fid: number;
  kid: KernelInceptionDistance;
  twoSample: TwoSampleTest;
}

const referenceDescriptors = new WeakMap<ReferenceFaces, Promise<Float32Array[]>>();
const referenceFloors = new WeakMap<ReferenceFaces, Map<number, QualityFloors>>();

function descriptorsOfReference(reference: ReferenceFaces): Promise<Float32Array[]> {
  let pending = referenceDescriptors.get(reference);
  if (!pending) {
    pending = descriptorsOf(reference.images, reference.count, reference.size);
    referenceDescriptors.set(reference, pending);
    pending.catch(() => referenceDescriptors.delete(reference));
  }
  return pending;
}

/** KID on half-size subsets: with subsets as large as the sets every subset would be the whole set, and the std 0. */
function kidSubsetSize(count: number): number {
  return Math.min(1000, Math.max(2, Math.floor(count / 2)));
}

function kid(a: Features, b: Features, count: number): KernelInceptionDistance {
  return kernelInceptionDistance(a, b, { subsets: KID_SUBSETS, subsetSize: kidSubsetSize(count), seed: METRIC_SEED });
}

/**
 * The quality metrics of `generated` descriptors against 2N `real` ones (N =
 * generated.length): real half A is the reference, real half B gives the floor.
 * `floorsCache` (optional) keeps the floors of one real set between calls.
 */
export function compareFeatures(real: Float32Array[], generated: Float32Array[], floorsCache?: Map<number, QualityFloors>): GeneratorQuality {
  const count = generated.length;
  if (2 * count > real.length) {
    throw new UsageError(`${count} generated faces need ${2 * count} real ones (two halves of ${count}), got ${real.length}`, 'draw more reference faces, or generate fewer');
  }
  let floors: QualityFloors | undefined = floorsCache?.get(count);
  if (!floors) {
    const [halfA, halfB] = realVsRealFloor(real, (a, b) => [a as Float32Array[], b as Float32Array[]], { seed: METRIC_SEED, halfSize: count });
    floors = {
      halfA: halfA!,
      fid: frechetDistance(halfB!, halfA!).fid,
      kid: kid(halfB!, halfA!, count),
      twoSample: twoSampleTest(halfA!, halfB!, { seed: METRIC_SEED }),
    };
    floorsCache?.set(count, floors);
  }
  const kidValue = kid(generated, floors.halfA, count);
  const twoSample = twoSampleTest(floors.halfA, generated, { seed: METRIC_SEED });
  return {
    fid: frechetDistance(generated, floors.halfA).fid,
    kid: kidValue.mean,
    kidStd: kidValue.std,
    twoSampleAccuracy: twoSample.accuracy,
    twoSampleInterval: twoSample.interval,
    fidFloor: floors.fid,
    kidFloor: floors.kid.mean,
    kidFloorStd: floors.kid.std,
    twoSampleFloor: floors.twoSample.accuracy,
    twoSampleFloorInterval: floors.twoSample.interval,
    count,
    kidSubsetSize: kidSubsetSize(count),
    featureNetwork: FACE_FEATURE_NETWORK,
  };
}

/** Quality of ready-made faces (NHWC in [-1, 1], at the reference's size) against the reference set. */
export async function evaluateImages(images: Float32Array, count: number, reference: ReferenceFaces): Promise<GeneratorQuality> {
  const real = await descriptorsOfReference(reference);
  const generated = await descriptorsOf(images, count, reference.size);
  let floors = referenceFloors.get(reference);
  if (!floors) referenceFloors.set(reference, (floors = new Map()));
  return compareFeatures(real, generated, floors);
}

/**
 * Generates `count` faces from seeded noise and measures them against the
 * held-out real faces: FID, KID and two-sample accuracy, each with its
 * real-vs-real floor at the same set size. The generator runs in inference
 * mode and is not disposed.
 */
export async function evaluateGenerator(
  generator: tfl.LayersModel,
  latentDim: number,
  realHeldOut: ReferenceFaces,
  options: QualityOptions = {},
): Promise<GeneratorQuality> {
  const { count = Math.floor(realHeldOut.count / 2), seed = 0 } = options;
  if (!Number.isInteger(count) || count < 2 || 2 * count > realHeldOut.count) {
    throw new UsageError(`cannot evaluate ${count} generated faces against ${realHeldOut.count} real ones`, 'the real set needs two halves of the generated count');
  }
  const images = generateEvaluationFaces(generator, latentDim, count, realHeldOut.size, seed, options.conditions);
  return evaluateImages(images, count, realHeldOut);
}

/**
 * `count` faces from seeded noise (NHWC in [-1, 1], size x size), in chunks of
 * GENERATE_CHUNK; a conditional generator gets `conditions` (one-hot rows) when given.
 */
export function generateEvaluationFaces(generator: tfl.LayersModel, latentDim: number, count: number, size: number, seed = 0, conditions?: Float32Array): Float32Array {
  const noise = new Rng(seed).normals(count * latentDim);
  const imageSize = size * size * 3;
  const images = new Float32Array(count * imageSize);
  const labelSize = conditions ? conditions.length / count : 0;
  for (let start = 0; start < count; start += GENERATE_CHUNK) {
    const n = Math.min(GENERATE_CHUNK, count - start);
    const chunk = generateImages(generator, noise.subarray(start * latentDim, (start + n) * latentDim), latentDim, conditions?.subarray(start * labelSize, (start + n) * labelSize));
    if (chunk.height !== size || chunk.width !== size) {
      throw new UsageError(`the generator makes ${chunk.height}x${chunk.width} faces; the reference faces are ${size}x${size}`);
    }
    images.set(chunk.pixels, start * imageSize);
  }
  return images;
}

export interface RunEvaluatorOptions {
  /** Generated faces per evaluation (the reference holds twice as many). @default 200 */
  count?: number;
  /** Seed of the reference draw and of the generator's noise. @default 0 */
  seed?: number;
  /** A reference set already loaded (at config.resolution); otherwise drawn from dataDir on first use. */
  reference?: ReferenceFaces;
  /** Told once, when the reference set is ready. */
  onReference?: (reference: ReferenceFaces) => void;
  warn?: (message: string) => void;
}

/**
 * The `evaluate` hook of train() (--eval-every): every call measures the
 * generator against the same reference faces and returns the numbers that
 * join that iteration's metrics.jsonl line (QUALITY_METRIC_KEYS). The
 * reference is drawn from `dataDir` (2 x count faces at random, seeded) and
 * its descriptors computed on the first call.
 */
export function createRunEvaluator(
  config: Pick<TrainConfig, 'resolution' | 'latentDim'>,
  dataDir: string,
  options: RunEvaluatorOptions = {},
): (generator: tfl.LayersModel, iteration: number) => Promise<Record<string, number>> {
  const { count = 200, seed = 0 } = options;
  let reference: Promise<ReferenceFaces> | undefined = options.reference ? Promise.resolve(options.reference) : undefined;
  return async (generator) => {
    reference ??= loadReferenceFaces(dataDir, { size: config.resolution, count: 2 * count, seed, warn: options.warn }).then((loaded) => {
      options.onReference?.(loaded);
      return loaded;
    });
    const quality = await evaluateGenerator(generator, config.latentDim, await reference, { count, seed });
    return Object.fromEntries(QUALITY_METRIC_KEYS.map((key) => [key, quality[key]]));
  };
}
