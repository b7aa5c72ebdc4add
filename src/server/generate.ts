import { type ConditionRequest } from '../data/conditions.js';
import { encodePng, tileGrid } from '../data/index.js';
import { generateFromRun, interpolationLabels } from '../generate/index.js';
import { loadRunModel } from '../train/checkpoint.js';
import { Rng } from '../train/rng.js';
import { generateImages } from '../train/samples.js';
import { HttpError } from './http-error.js';

export const MAX_GRID_FACES = 64;
export const MAX_INTERPOLATION_STEPS = 16;
/** Black pixels around and between the faces, as `fakeface generate` draws them; 0 gives bare faces (one face: exactly its pixels). */
export const DEFAULT_PADDING = 2;
export const MAX_PADDING = 16;
const MAX_SEED = 0xffffffff;

export interface GeneratedPng {
  png: Buffer;
  iteration: number;
  count: number;
}

export function checkInteger(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value) ?? 'undefined'}`);
  }
  return value;
}

export const checkSeed = (value: unknown, name: string, fallback?: number) => checkInteger(value, name, 0, MAX_SEED, fallback);

type Faces = { pixels: Float32Array; count: number; height: number; width: number };

/** Faces side by side, `columns` to a row, `padding` px of black around and between them. */
function gridPng(faces: Faces, columns: number | undefined, padding: number): Promise<Buffer> {
  const grid = tileGrid(faces.pixels, faces.count, faces.height, faces.width, columns, padding);
  return encodePng(grid.pixels, grid.height, grid.width);
}

/**
 * A grid of `count` faces from the run's newest checkpoint; the same seed gives the same
 * faces (as `fakeface generate`). A conditional run's faces carry the requested labels.
 */
export async function generateGrid(runDir: string, count: number, seed: number, columns?: number, padding = DEFAULT_PADDING, request: ConditionRequest = {}): Promise<GeneratedPng> {
  const faces = await generateFromRun(runDir, count, seed, request);
  return { png: await gridPng(faces, columns, padding), iteration: faces.iteration, count };
}

/**
 * `steps` faces on the great circle between the latent vectors of two seeds
 * (spherical interpolation: Gaussian noise lives near a sphere, and a straight
 * line between two points cuts through its low-density middle, giving washed-out
 * faces). The ends are exactly the first face of each seed's grid. A conditional run's
 * strip keeps one set of labels throughout: the requested ones, the fields left open
 * as seedA's first face has them (so the seedA end is that face).
 */
export async function generateInterpolation(runDir: string, seedA: number, seedB: number, steps: number, padding = DEFAULT_PADDING, request: ConditionRequest = {}): Promise<GeneratedPng> {
  const { model, config, iteration } = await loadRunModel(runDir, 'generator');
  try {
    const labels = interpolationLabels(runDir, config, seedA, steps, request);
    const latentDim = config.latentDim;
    const a = new Rng(seedA).normals(latentDim);
    const b = new Rng(seedB).normals(latentDim);
    const noise = new Float32Array(steps * latentDim);
    for (let i = 0; i < steps; i++) noise.set(slerp(a, b, i / (steps - 1)), i * latentDim);
    const faces = generateImages(model, noise, latentDim, labels);
    return { png: await gridPng(faces, steps, padding), iteration, count: steps };
  } finally {
    model.dispose();
  }
}

/** Spherical linear interpolation; falls back to a straight line for (anti)parallel vectors. */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  if (t === 0) return a.slice();
  if (t === 1) return b.slice();
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(normA * normB)));
  const omega = Math.acos(cos);
  const sin = Math.sin(omega);
  const out = new Float32Array(a.length);
  if (sin < 1e-6) {
    for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i]! + t * b[i]!;
    return out;
  }
  const wa = Math.sin((1 - t) * omega) / sin;
  const wb = Math.sin(t * omega) / sin;
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i]! + wb * b[i]!;
  return out;
}
