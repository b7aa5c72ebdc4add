import { describe, expect, it } from 'vitest';
import { FeatureMatrixError } from '../errors.js';
import { Rng } from '../train/rng.js';
import { covariance, matmul, mean, sqrtmPsd, symmetricEigen, toMatrix, transpose } from './linalg.js';

function randomSymmetric(rng: Rng, d: number): Float64Array {
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const value = rng.normal();
      a[i * d + j] = value;
      a[j * d + i] = value;
    }
  }
  return a;
}

/** B B^T with B of size d x rank: PSD, singular when rank < d. */
function randomPsd(rng: Rng, d: number, rank = d): Float64Array {
  const b = new Float64Array(d * rank);
  for (let i = 0; i < b.length; i++) b[i] = rng.normal();
  return matmul(b, transpose(b, d, rank), d, rank, d);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function maxAbs(a: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]!));
  return max;
}

function identity(d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) out[i * d + i] = 1;
  return out;
}

describe('toMatrix', () => {
  it('packs number[][] and Float32Array[] row-major', () => {
    expect(Array.from(toMatrix([[1, 2], [3, 4]]).data)).toEqual([1, 2, 3, 4]);
    const m = toMatrix([new Float32Array([0.5, 1]), new Float32Array([2, 3])]);
    expect([m.rows, m.cols, ...m.data]).toEqual([2, 2, 0.5, 1, 2, 3]);
  });

  it('refuses empty, ragged and non-finite input, naming the vector', () => {
    expect(() => toMatrix([])).toThrow(FeatureMatrixError);
    expect(() => toMatrix([[1, 2], [3]], 'fake set')).toThrow('fake set: vector 1 has dimension 1, vector 0 has 2');
    expect(() => toMatrix([[1, Number.NaN]])).toThrow('vector 0 holds a non-finite value (NaN) at 1');
  });
});

describe('mean and covariance', () => {
  it('match hand-computed values with the unbiased (n - 1) estimator', () => {
    // x: 1, 2, 3, 6 (mean 3); y = 2x -> var x = (4 + 1 + 0 + 9) / 3 = 14/3
    const m = toMatrix([[1, 2], [2, 4], [3, 6], [6, 12]]);
    expect(Array.from(mean(m))).toEqual([3, 6]);
    const cov = covariance(m);
    expect(maxAbsDiff(cov, [14 / 3, 28 / 3, 28 / 3, 56 / 3])).toBeLessThan(1e-12);
  });

  it('needs two vectors', () => {
    expect(() => covariance(toMatrix([[1, 2]]))).toThrow(FeatureMatrixError);
  });
});

describe('symmetricEigen', () => {
  it('finds the eigenvalues of small matrices known by hand, largest first', () => {
    expect(Array.from(symmetricEigen(new Float64Array([2, 1, 1, 2]), 2).values)).toEqual([3, 1]);
    const diagonal = symmetricEigen(new Float64Array([1, 0, 0, 0, 5, 0, 0, 0, -2]), 3);
    expect(Array.from(diagonal.values)).toEqual([5, 1, -2]);
    expect(diagonal.sweeps).toBe(0);
    // 1 + ones(3): eigenvalues 4, 1, 1 (a repeated pair)
    const repeated = symmetricEigen(new Float64Array([2, 1, 1, 1, 2, 1, 1, 1, 2]), 3);
    expect(maxAbsDiff(repeated.values, [4, 1, 1])).toBeLessThan(1e-14);
  });

  it.each([1, 2, 3, 8, 40, 128])('reconstructs A = V diag(λ) V^T with orthonormal V (d = %i)', (d) => {
    const rng = new Rng(100 + d);
    for (const a of [randomSymmetric(rng, d), randomPsd(rng, d, Math.max(1, d >> 2))]) {
      const { values, vectors } = symmetricEigen(a, d);
      for (let i = 1; i < d; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]!);
      const scaled = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) scaled[i * d + j] = vectors[i * d + j]! * values[j]!;
      const rebuilt = matmul(scaled, transpose(vectors, d, d), d, d, d);
      expect(maxAbsDiff(rebuilt, a) / maxAbs(a)).toBeLessThan(1e-12);
      const gram = matmul(transpose(vectors, d, d), vectors, d, d, d);
      expect(maxAbsDiff(gram, identity(d))).toBeLessThan(1e-12);
    }
  });
});

describe('sqrtmPsd', () => {
  it.each([
    [4, 4],
    [30, 30],
    [30, 7], // singular: round-off makes some eigenvalues slightly negative
  ])('squares back to A (d = %i, rank %i)', (d, rank) => {
    const a = randomPsd(new Rng(d * 31 + rank), d, rank);
    const root = sqrtmPsd(a, d);
    expect(maxAbsDiff(root, transpose(root, d, d))).toBe(0);
    expect(maxAbsDiff(matmul(root, root, d, d, d), a) / maxAbs(a)).toBeLessThan(1e-12);
    expect(Math.min(...symmetricEigen(root, d).values)).toBeGreaterThan(-1e-7 * maxAbs(root));
  });

  it('gives the known root of a 2 x 2 matrix', () => {
    // [[5, 4], [4, 5]] = R^2 with R = [[2, 1], [1, 2]]
    expect(maxAbsDiff(sqrtmPsd(new Float64Array([5, 4, 4, 5]), 2), [2, 1, 1, 2])).toBeLessThan(1e-14);
  });
});
