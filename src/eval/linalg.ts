/**
 * Dense linear algebra in Float64 for the metrics in this folder: feature
 * matrices, mean, covariance, matrix products, the symmetric eigendecomposition
 * (cyclic Jacobi) and the square root of a positive semi-definite matrix.
 *
 * Plain arrays, no tfjs: FID subtracts numbers of similar size, and float32
 * tensors would lose the digits that the answer is made of.
 *
 * Square matrices are row-major Float64Arrays of length d*d; `size` is d.
 */
import { FeatureMatrixError } from '../errors.js';

/** n feature vectors of dimension d, as the metrics accept them. */
export type Features = readonly ArrayLike<number>[];

/** n x d matrix packed row-major in Float64 (row i is data[i*d .. i*d+d)). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/**
 * Packs feature vectors into a Float64 matrix, refusing an empty set, rows of
 * different lengths and non-finite values. `what` names the set in errors.
 */
export function toMatrix(features: Features, what = 'features'): Matrix {
  const rows = features.length;
  if (rows === 0) throw new FeatureMatrixError(`${what}: no feature vectors`);
  const cols = features[0]!.length;
  if (cols === 0) throw new FeatureMatrixError(`${what}: feature vectors have dimension 0`);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = features[i]!;
    if (row.length !== cols) {
      throw new FeatureMatrixError(`${what}: vector ${i} has dimension ${row.length}, vector 0 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) {
      const value = row[j]!;
      if (!Number.isFinite(value)) {
        throw new FeatureMatrixError(`${what}: vector ${i} holds a non-finite value (${value}) at ${j}`);
      }
      data[i * cols + j] = value;
    }
  }
  return { rows, cols, data };
}

/** Rows `indices` of `m`, in that order. */
export function selectRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const { cols } = m;
  const data = new Float64Array(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const start = indices[i]! * cols;
    data.set(m.data.subarray(start, start + cols), i * cols);
  }
  return { rows: indices.length, cols, data };
}

/** Column means (length d). */
export function mean(m: Matrix): Float64Array {
  const { rows, cols, data } = m;
  const mu = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const offset = i * cols;
    for (let j = 0; j < cols; j++) mu[j]! += data[offset + j]!;
  }
  for (let j = 0; j < cols; j++) mu[j]! /= rows;
  return mu;
}

/**
 * Sample covariance (d x d) with the unbiased 1/(n-1) estimator, as numpy's
 * `np.cov(rowvar=False)` that pytorch-fid uses. Needs n >= 2.
 */
export function covariance(m: Matrix, mu: Float64Array = mean(m)): Float64Array {
  const { rows, cols, data } = m;
  if (rows < 2) throw new FeatureMatrixError(`covariance needs at least 2 feature vectors, got ${rows}`);
  const d = cols;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const offset = i * d;
    for (let j = 0; j < d; j++) centred[j] = data[offset + j]! - mu[j]!;
    // upper triangle only; mirrored below
    for (let j = 0; j < d; j++) {
      const cj = centred[j]!;
      if (cj === 0) continue;
      const rowStart = j * d;
      for (let k = j; k < d; k++) cov[rowStart + k]! += cj * centred[k]!;
    }
  }
  const scale = 1 / (rows - 1);
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const value = cov[j * d + k]! * scale;
      cov[j * d + k] = value;
      cov[k * d + j] = value;
    }
  }
  return cov;
}

/** (m x k) times (k x n), all row-major. */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  if (a.length !== m * k || b.length !== k * n) {
    throw new RangeError(`matmul: expected ${m}x${k} and ${k}x${n}, got lengths ${a.length} and ${b.length}`);
  }
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const outRow = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const bRow = p * n;
      for (let j = 0; j < n; j++) out[outRow + j]! += aip * b[bRow + j]!;
    }
  }
  return out;
}

/** A^T (a is rows x cols). */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/** Sum of the diagonal of a size x size matrix. */
export function trace(a: Float64Array, size: number): number {
  let sum = 0;
  for (let i = 0; i < size; i++) sum += a[i * size + i]!;
  return sum;
}

/** (A + A^T) / 2: removes the round-off asymmetry of a product that is symmetric in exact arithmetic. */
export function symmetrize(a: Float64Array, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    out[i * size + i] = a[i * size + i]!;
    for (let j = i + 1; j < size; j++) {
      const value = 0.5 * (a[i * size + j]! + a[j * size + i]!);
      out[i * size + j] = value;
      out[j * size + i] = value;
    }
  }
  return out;
}

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Row-major size x size; column j is the unit eigenvector of values[j], so A = V diag(values) V^T. */
  vectors: Float64Array;
  /** Jacobi sweeps it took. */
  sweeps: number;
}

const MAX_SWEEPS = 100;

/**
 * Eigendecomposition of a symmetric matrix by the cyclic Jacobi method: plane
 * rotations zero the off-diagonal entries one pair at a time until none is
 * left that changes the diagonal. Accurate to round-off (also for the small
 * eigenvalues of nearly singular covariances) and O(d^3) per sweep; a sweep
 * count in single digits is typical. Only the upper triangle of `a` is read.
 */
export function symmetricEigen(a: Float64Array, size: number): SymmetricEigen {
  const d = size;
  if (a.length !== d * d) throw new RangeError(`symmetricEigen: expected ${d}x${d}, got length ${a.length}`);
  // work on a symmetric copy; keep V transposed (row p = eigenvector p) so rotations walk contiguous memory
  const w = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const value = a[i * d + j]!;
      if (!Number.isFinite(value)) throw new RangeError(`symmetricEigen: non-finite entry at (${i}, ${j})`);
      w[i * d + j] = value;
      w[j * d + i] = value;
    }
  }
  const vt = new Float64Array(d * d);
  for (let i = 0; i < d; i++) vt[i * d + i] = 1;

  let sweeps = 0;
  for (; sweeps < MAX_SWEEPS; sweeps++) {
    let offDiagonal = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) offDiagonal += Math.abs(w[p * d + q]!);
    if (offDiagonal === 0) break;
    // early sweeps skip entries far below the average, as in Numerical Recipes' jacobi
    const threshold = sweeps < 3 ? (0.2 * offDiagonal) / (d * d) : 0;

    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = w[p * d + q]!;
        const app = w[p * d + p]!;
        const aqq = w[q * d + q]!;
        const g = 100 * Math.abs(apq);
        // once apq no longer changes either diagonal entry, it is round-off: drop it
        if (sweeps > 3 && Math.abs(app) + g === Math.abs(app) && Math.abs(aqq) + g === Math.abs(aqq)) {
          w[p * d + q] = 0;
          w[q * d + p] = 0;
          continue;
        }
        if (Math.abs(apq) <= threshold) continue;
        rotate(w, vt, d, p, q);
      }
    }
  }

  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => w[j * d + j]! - w[i * d + i]!);
  const values = new Float64Array(d);
  const vectors = new Float64Array(d * d);
  order.forEach((from, to) => {
    values[to] = w[from * d + from]!;
    for (let k = 0; k < d; k++) vectors[k * d + to] = vt[from * d + k]!;
  });
  return { values, vectors, sweeps };
}

/** One Jacobi rotation J(p, q, theta) chosen to zero w[p][q]: w <- J^T w J, V^T <- J^T V^T. */
function rotate(w: Float64Array, vt: Float64Array, d: number, p: number, q: number): void {
  const apq = w[p * d + q]!;
  const app = w[p * d + p]!;
  const aqq = w[q * d + q]!;
  const theta = (aqq - app) / (2 * apq);
  // smaller root of t^2 + 2 t theta - 1 = 0, written to avoid cancellation; 1/(2 theta) when theta^2 overflows
  const t = Number.isFinite(theta * theta)
    ? Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
    : 1 / (2 * theta);
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;

  w[p * d + p] = app - t * apq;
  w[q * d + q] = aqq + t * apq;
  w[p * d + q] = 0;
  w[q * d + p] = 0;
  const pRow = p * d;
  const qRow = q * d;
  for (let k = 0; k < d; k++) {
    if (k === p || k === q) continue;
    const akp = w[pRow + k]!;
    const akq = w[qRow + k]!;
    const newP = c * akp - s * akq;
    const newQ = s * akp + c * akq;
    w[pRow + k] = newP;
    w[k * d + p] = newP;
    w[qRow + k] = newQ;
    w[k * d + q] = newQ;
  }
  for (let k = 0; k < d; k++) {
    const vp = vt[pRow + k]!;
    const vq = vt[qRow + k]!;
    vt[pRow + k] = c * vp - s * vq;
    vt[qRow + k] = s * vp + c * vq;
  }
}

/**
 * V diag(f(values)) V^T: a function applied to a symmetric matrix through its
 * eigendecomposition.
 */
export function fromEigen(eigen: SymmetricEigen, f: (value: number) => number): Float64Array {
  const { values, vectors } = eigen;
  const d = values.length;
  const out = new Float64Array(d * d);
  const fv = values.map(f);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let sum = 0;
      for (let k = 0; k < d; k++) sum += vectors[i * d + k]! * fv[k]! * vectors[j * d + k]!;
      out[i * d + j] = sum;
      out[j * d + i] = sum;
    }
  }
  return out;
}

/**
 * Principal square root of a symmetric positive semi-definite matrix.
 * Eigenvalues that round-off pushed slightly below zero count as zero.
 */
export function sqrtmPsd(a: Float64Array, size: number): Float64Array {
  return fromEigen(symmetricEigen(a, size), (value) => Math.sqrt(Math.max(value, 0)));
}
