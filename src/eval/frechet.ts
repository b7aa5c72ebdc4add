/**
 * Fréchet distance between two sets of feature vectors (the FID formula, after
 * Heusel et al. 2017 and pytorch-fid), each set summarised by a Gaussian:
 *
 *   ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})
 *
 * Tr((S_a S_b)^{1/2}) is computed without the non-symmetric square root that
 * makes scipy's sqrtm return complex noise: S_a S_b is similar to the symmetric
 * PSD matrix S_a^{1/2} S_b S_a^{1/2}, so the trace is the sum of the square
 * roots of that matrix's eigenvalues.
 *
 * Like FID, the value is biased upwards for small n; compare only numbers made
 * from sets of the same sizes, and show the real-vs-real floor beside them.
 */
import { FeatureMatrixError } from '../errors.js';
import {
  covariance,
  type Features,
  matmul,
  mean,
  sqrtmPsd,
  symmetricEigen,
  symmetrize,
  toMatrix,
  trace,
} from './linalg.js';

/** The Gaussian summary of a feature set that FID compares. */
export interface FeatureStatistics {
  /** Number of vectors the statistics were made from. */
  n: number;
  /** Dimension. */
  d: number;
  mean: Float64Array;
  /** d x d row-major, unbiased (n - 1) estimator. */
  covariance: Float64Array;
}

export interface FrechetDistance {
  /** meanTerm + traceTerm. */
  fid: number;
  /** ||mu_a - mu_b||^2. */
  meanTerm: number;
  /** Tr(S_a) + Tr(S_b) - 2 Tr((S_a S_b)^{1/2}). */
  traceTerm: number;
}

/** Mean and covariance of a feature set; keep the real set's to compare many fake sets against it. */
export function featureStatistics(features: Features, what = 'features'): FeatureStatistics {
  const m = toMatrix(features, what);
  if (m.rows < 2) {
    throw new FeatureMatrixError(
      `${what}: FID needs at least 2 feature vectors, got ${m.rows}`,
      'FID is strongly biased for small sets; use hundreds of images or more',
    );
  }
  const mu = mean(m);
  return { n: m.rows, d: m.cols, mean: mu, covariance: covariance(m, mu) };
}

/** Fréchet distance between two feature sets. */
export function frechetDistance(a: Features, b: Features): FrechetDistance {
  return frechetDistanceFromStatistics(featureStatistics(a, 'first set'), featureStatistics(b, 'second set'));
}

/** Fréchet distance between two Gaussian summaries. */
export function frechetDistanceFromStatistics(a: FeatureStatistics, b: FeatureStatistics): FrechetDistance {
  if (a.d !== b.d) {
    throw new FeatureMatrixError(`cannot compare features of dimension ${a.d} with features of dimension ${b.d}`);
  }
  const d = a.d;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;

  const sqrtA = sqrtmPsd(a.covariance, d);
  const inner = symmetrize(matmul(matmul(sqrtA, b.covariance, d, d, d), sqrtA, d, d, d), d);
  const { values } = symmetricEigen(inner, d);
  // With n <= d the matrix is singular, and round-off leaves its zero eigenvalues at about
  // ±eps·max; their square roots (~1e-8·scale each) would add up to a visible error, so
  // everything below d·eps·max counts as zero, as in a numerical rank.
  const floor = d * Number.EPSILON * Math.max(values[0]!, 0);
  let traceSqrt = 0;
  for (const value of values) if (value > floor) traceSqrt += Math.sqrt(value);

  const traceTerm = trace(a.covariance, d) + trace(b.covariance, d) - 2 * traceSqrt;
  return { fid: meanTerm + traceTerm, meanTerm, traceTerm };
}
