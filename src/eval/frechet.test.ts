import { describe, expect, it } from 'vitest';
import { FeatureMatrixError } from '../errors.js';
import { Rng } from '../train/rng.js';
import { featureStatistics, frechetDistance, frechetDistanceFromStatistics } from './frechet.js';

/** n draws of mu + L z, z ~ N(0, I): covariance L L^T. L is row-major d x d. */
function sampleGaussian(rng: Rng, n: number, mu: number[], l: number[]): number[][] {
  const d = mu.length;
  return Array.from({ length: n }, () => {
    const z = Array.from({ length: d }, () => rng.normal());
    return mu.map((m, i) => m + z.reduce((sum, zk, k) => sum + l[i * d + k]! * zk, 0));
  });
}

type Square = number[][];
const mul = (a: Square, b: Square): Square => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const tr = (a: Square): number => a.reduce((s, row, i) => s + row[i]!, 0);
const eye = (d: number): Square => Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));

/** Gauss-Jordan inverse with partial pivoting. */
function inverse(a: Square): Square {
  const d = a.length;
  const m = a.map((row, i) => [...row, ...eye(d)[i]!]);
  for (let c = 0; c < d; c++) {
    let pivot = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    const p = m[c]![c]!;
    m[c] = m[c]!.map((v) => v / p);
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      m[r] = m[r]!.map((v, j) => v - f * m[c]![j]!);
    }
  }
  return m.map((row) => row.slice(d));
}

/**
 * Principal square root of a (non-symmetric) matrix with real positive eigenvalues,
 * by the Denman-Beavers iteration: independent of the eigen route the library takes.
 */
function sqrtmGeneral(a: Square): Square {
  let y = a;
  let z = eye(a.length);
  for (let i = 0; i < 50; i++) {
    const [yInv, zInv] = [inverse(y), inverse(z)];
    y = y.map((row, r) => row.map((v, c) => (v + zInv[r]![c]!) / 2));
    z = z.map((row, r) => row.map((v, c) => (v + yInv[r]![c]!) / 2));
  }
  return y;
}

/** ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) from the true parameters. */
function closedForm(mu1: number[], s1: Square, mu2: number[], s2: Square): number {
  const meanTerm = mu1.reduce((s, v, i) => s + (v - mu2[i]!) ** 2, 0);
  return meanTerm + tr(s1) + tr(s2) - 2 * tr(sqrtmGeneral(mul(s1, s2)));
}

const toSquare = (l: number[], d: number): Square => Array.from({ length: d }, (_, i) => l.slice(i * d, i * d + d));
const transposeSquare = (a: Square): Square => a[0]!.map((_, j) => a.map((row) => row[j]!));

describe('frechetDistance', () => {
  it('is 0 for a set against itself, also when the covariance is singular (n < d)', () => {
    for (const [n, d] of [
      [500, 16],
      [300, 128],
      [40, 64],
    ] as const) {
      const rng = new Rng(n + d);
      const mix = Array.from({ length: d * d }, () => rng.normal() / Math.sqrt(d));
      const set = sampleGaussian(rng, n, new Array<number>(d).fill(0.5), mix);
      const result = frechetDistance(set, set);
      expect(Math.abs(result.fid)).toBeLessThan(1e-9);
      expect(result.meanTerm).toBe(0);
    }
  });

  it('matches a closed form computed by hand for diagonal covariances', () => {
    // the four points (±a, ±b) have mean 0 and unbiased covariance diag(4a^2/3, 4b^2/3)
    const corners = (sx: number, sy: number, [mx, my]: number[]): number[][] => {
      const [a, b] = [sx * Math.sqrt(3 / 4), sy * Math.sqrt(3 / 4)];
      return [[a, b], [a, -b], [-a, b], [-a, -b]].map(([x, y]) => [x! + mx!, y! + my!]);
    };
    // N((0,0), diag(1,4)) vs N((1,2), diag(4,9)): (1 + 4) + (1 + 4 - 2*2) + (4 + 9 - 2*6) = 7
    const a = corners(1, 2, [0, 0]);
    const b = corners(2, 3, [1, 2]);
    const result = frechetDistance(a, b);
    expect(result.meanTerm).toBeCloseTo(5, 12);
    expect(result.traceTerm).toBeCloseTo(2, 12);
    expect(result.fid).toBeCloseTo(7, 12);

    // the same sets turned by one rotation: non-diagonal covariances that commute, same distance
    const angle = 0.7;
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    const turn = (set: number[][]): number[][] => set.map(([x, y]) => [c * x! - s * y!, s * x! + c * y!]);
    const turned = frechetDistance(turn(a), turn(b));
    expect(turned.fid).toBeCloseTo(7, 12);
    expect(turned.traceTerm).toBeCloseTo(2, 12);
  });

  it('is symmetric and agrees with the statistics form', () => {
    const rng = new Rng(7);
    const a = sampleGaussian(rng, 300, [0, 1, 2], [1, 0, 0, 0.3, 1, 0, 0.2, -0.5, 1]);
    const b = sampleGaussian(rng, 200, [0.5, 1, 2], [2, 0, 0, 0, 1, 0, 0, 0.4, 0.5]);
    const ab = frechetDistance(a, b);
    expect(frechetDistance(b, a).fid).toBeCloseTo(ab.fid, 10);
    expect(frechetDistanceFromStatistics(featureStatistics(a), featureStatistics(b))).toEqual(ab);
  });

  it('estimates the distance between two correlated Gaussians from 20k samples each (d = 4)', () => {
    const d = 4;
    const n = 20_000;
    const mu1 = [0, 0, 0, 0];
    const mu2 = [1, -0.5, 0.25, 0];
    // Cholesky-style factors: S = L L^T, both non-diagonal and not commuting
    const l1 = [1, 0, 0, 0, 0.5, 1, 0, 0, -0.3, 0.4, 0.8, 0, 0.2, -0.1, 0.3, 0.6];
    const l2 = [1.5, 0, 0, 0, -0.4, 0.7, 0, 0, 0.6, 0.2, 1.1, 0, 0, 0.5, -0.2, 0.9];
    const [s1, s2] = [l1, l2].map((l) => mul(toSquare(l, d), transposeSquare(toSquare(l, d))));
    const truth = closedForm(mu1, s1!, mu2, s2!); // 3.27601...

    const rng = new Rng(2024);
    const estimate = frechetDistance(sampleGaussian(rng, n, mu1, l1), sampleGaussian(rng, n, mu2, l2));

    // Sampling error is dominated by the mean term's cross term 2 (mu1 - mu2) . (noise in the sample
    // means), whose standard deviation is 2 sqrt(dmu^T (S1 + S2) dmu / n) = 0.029 here. Estimating the
    // covariances adds about 20% (over 40 seeds the estimate's SD was 0.034) and the O(1/n) bias is
    // ~0.005. 7 x 0.029 = 0.20 is about 6 SDs: a wrong factor or a wrong square root lands far outside.
    const dmu = mu1.map((v, i) => v - mu2[i]!);
    let quadratic = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) quadratic += dmu[i]! * (s1![i]![j]! + s2![i]![j]!) * dmu[j]!;
    const meanTermSd = 2 * Math.sqrt(quadratic / n);
    expect(Math.abs(estimate.fid - truth)).toBeLessThan(7 * meanTermSd);
    expect(Math.abs(estimate.meanTerm - 1.3125)).toBeLessThan(7 * meanTermSd);
  });

  it('refuses sets of different dimension and sets of one vector', () => {
    expect(() => frechetDistance([[1, 2], [3, 4]], [[1], [2]])).toThrow(FeatureMatrixError);
    expect(() => frechetDistance([[1, 2]], [[1, 2], [3, 4]])).toThrow('first set: FID needs at least 2 feature vectors, got 1');
  });
});
