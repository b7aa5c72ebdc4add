/**
 * Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs"),
 * computed as torch-fidelity does: the unbiased estimate of the squared maximum
 * mean discrepancy with the cubic polynomial kernel
 *
 *   k(x, y) = (x·y / d + 1)^3
 *
 * on `subsets` random subsets of `subsetSize` vectors from each set (drawn
 * without replacement within a subset), reporting the mean and the standard
 * deviation (numpy's default, ddof = 0) over subsets.
 *
 * Unlike FID, the estimate is unbiased: its expectation is 0 when both sets
 * come from one distribution, whatever the set size, so small negative values
 * are expected then.
 */
import { FeatureMatrixError, UsageError } from '../errors.js';
import { Rng } from '../train/rng.js';
import { type Features, type Matrix, toMatrix } from './linalg.js';

export interface KernelInceptionDistanceOptions {
  /** Number of random subsets averaged. @default 100 */
  subsets?: number;
  /** Vectors drawn from each set per subset; capped at the size of the smaller set. @default 1000 */
  subsetSize?: number;
  /** Seed of the subset draws; the same seed gives the same result. @default 0 */
  seed?: number;
  /**
   * Compute every kernel value once and reuse it across subsets (fast when
   * subsets overlap, at 8 bytes per pair of vectors), or evaluate the kernel
   * per subset. Both give the same numbers. @default chosen by cost, within 64 MiB
   */
  precompute?: boolean;
}

export interface KernelInceptionDistance {
  /** Mean of the per-subset MMD^2 estimates. */
  mean: number;
  /** Their standard deviation (ddof = 0, as torch-fidelity). */
  std: number;
  subsets: number;
  /** Vectors per set in each subset, after capping. */
  subsetSize: number;
  /** The per-subset MMD^2 estimates. */
  values: Float64Array;
}

/** Kernel values cached at most: 2^23 doubles = 64 MiB (two sets of 2000 vectors fit). */
const PRECOMPUTE_LIMIT = 2 ** 23;

/** KID between two feature sets. */
export function kernelInceptionDistance(
  a: Features,
  b: Features,
  options: KernelInceptionDistanceOptions = {},
): KernelInceptionDistance {
  const { subsets = 100, subsetSize = 1000, seed = 0 } = options;
  if (!Number.isInteger(subsets) || subsets < 1) throw new UsageError(`KID subsets must be a positive integer, got ${subsets}`);
  if (!Number.isInteger(subsetSize) || subsetSize < 2) {
    throw new UsageError(`KID subsetSize must be an integer >= 2, got ${subsetSize}`);
  }
  const x = toMatrix(a, 'first set');
  const y = toMatrix(b, 'second set');
  if (x.cols !== y.cols) {
    throw new FeatureMatrixError(`cannot compare features of dimension ${x.cols} with features of dimension ${y.cols}`);
  }
  const m = Math.min(subsetSize, x.rows, y.rows);
  if (m < 2) {
    throw new FeatureMatrixError(`KID needs at least 2 feature vectors in each set, got ${x.rows} and ${y.rows}`);
  }

  const cachedEntries = (x.rows * (x.rows - 1)) / 2 + (y.rows * (y.rows - 1)) / 2 + x.rows * y.rows;
  const perSubsetEntries = m * (m - 1) + m * m;
  const precompute =
    options.precompute ?? (cachedEntries <= PRECOMPUTE_LIMIT && cachedEntries < subsets * perSubsetEntries);
  const mmd2 = precompute ? cachedKernelMmd2(x, y, m) : directMmd2(x, y, m);

  const rng = new Rng(seed);
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    const ia = sampleWithoutReplacement(rng, x.rows, m);
    const ib = sampleWithoutReplacement(rng, y.rows, m);
    values[s] = mmd2(ia, ib);
  }
  let total = 0;
  for (const v of values) total += v;
  const meanValue = total / subsets;
  let squares = 0;
  for (const v of values) squares += (v - meanValue) ** 2;
  return { mean: meanValue, std: Math.sqrt(squares / subsets), subsets, subsetSize: m, values };
}

type SubsetMmd2 = (ia: Int32Array, ib: Int32Array) => number;

/**
 * Unbiased MMD^2 from kernel sums over one subset pair of size m:
 * sum_{i != j} k(x_i, x_j) / (m (m-1)) + the same for y - 2 sum_{i,j} k(x_i, y_j) / m^2.
 */
function unbiasedMmd2(sumXX: number, sumYY: number, sumXY: number, m: number): number {
  return (sumXX + sumYY) / (m * (m - 1)) - (2 * sumXY) / (m * m);
}

function cubicKernel(u: Float64Array, uStart: number, v: Float64Array, vStart: number, d: number): number {
  let dot = 0;
  for (let k = 0; k < d; k++) dot += u[uStart + k]! * v[vStart + k]!;
  const base = dot / d + 1;
  return base * base * base;
}

/** Kernel evaluated per subset: m^2 + m(m-1) kernel values per call. */
function directMmd2(x: Matrix, y: Matrix, m: number): SubsetMmd2 {
  const d = x.cols;
  const withinSum = (data: Float64Array, idx: Int32Array): number => {
    let sum = 0;
    for (let i = 1; i < m; i++) for (let j = 0; j < i; j++) sum += cubicKernel(data, idx[i]! * d, data, idx[j]! * d, d);
    return 2 * sum;
  };
  return (ia, ib) => {
    let sumXY = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) sumXY += cubicKernel(x.data, ia[i]! * d, y.data, ib[j]! * d, d);
    return unbiasedMmd2(withinSum(x.data, ia), withinSum(y.data, ib), sumXY, m);
  };
}

/** Every kernel value computed once; each subset then only adds up table entries. */
function cachedKernelMmd2(x: Matrix, y: Matrix, m: number): SubsetMmd2 {
  const d = x.cols;
  // strictly lower triangle: k(v_i, v_j) for j < i at i(i-1)/2 + j
  const lowerTriangle = (v: Matrix): Float64Array => {
    const table = new Float64Array((v.rows * (v.rows - 1)) / 2);
    for (let i = 1; i < v.rows; i++) {
      const row = (i * (i - 1)) / 2;
      for (let j = 0; j < i; j++) table[row + j] = cubicKernel(v.data, i * d, v.data, j * d, d);
    }
    return table;
  };
  const kxx = lowerTriangle(x);
  const kyy = lowerTriangle(y);
  const kxy = new Float64Array(x.rows * y.rows);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < y.rows; j++) kxy[i * y.rows + j] = cubicKernel(x.data, i * d, y.data, j * d, d);
  }
  // indices come sorted, so idx[i] > idx[j] for i > j
  const withinSum = (table: Float64Array, idx: Int32Array): number => {
    let sum = 0;
    for (let i = 1; i < m; i++) {
      const row = (idx[i]! * (idx[i]! - 1)) / 2;
      for (let j = 0; j < i; j++) sum += table[row + idx[j]!]!;
    }
    return 2 * sum;
  };
  return (ia, ib) => {
    let sumXY = 0;
    for (let i = 0; i < m; i++) {
      const row = ia[i]! * y.rows;
      for (let j = 0; j < m; j++) sumXY += kxy[row + ib[j]!]!;
    }
    return unbiasedMmd2(withinSum(kxx, ia), withinSum(kyy, ib), sumXY, m);
  };
}

/** `count` distinct indices from [0, n), sorted ascending (partial Fisher-Yates). */
function sampleWithoutReplacement(rng: Rng, n: number, count: number): Int32Array {
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    const tmp = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = tmp;
  }
  return pool.slice(0, count).sort();
}
