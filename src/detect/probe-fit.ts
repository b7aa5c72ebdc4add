/**
 * Fits the probe detector's parts (./probe.ts) on feature vectors: the
 * standardisation, an L2-regularised logistic regression with per-sample weights
 * (so that every source counts alike, however many images it has), and the range
 * model (principal components of the training features).
 * @internal
 */
import { Rng } from '../train/rng.js';
import { sigmoid, standardise, type ProbeWeights, type RangeModel } from './probe.js';

export interface LabelledFeatures {
  features: Float32Array[];
  /** 1 = fake. */
  labels: number[];
  /** Relative weight of each sample in the loss. @default 1 each */
  weights?: number[];
}

export interface LogisticFit {
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
}

/** Per-feature mean and standard deviation (std floored so constant features stay finite). */
export function featureMoments(features: Float32Array[]): { mean: number[]; std: number[] } {
  const d = features[0]!.length;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (const f of features) for (let i = 0; i < d; i++) mean[i]! += f[i]!;
  for (let i = 0; i < d; i++) mean[i]! /= features.length;
  for (const f of features) for (let i = 0; i < d; i++) sq[i]! += (f[i]! - mean[i]!) ** 2;
  const std = Array.from(sq, (s) => Math.max(1e-6, Math.sqrt(s / Math.max(1, features.length - 1))));
  return { mean: Array.from(mean), std };
}

/**
 * Logistic regression on standardised features by full-batch Adam on the weighted
 * mean log-loss + l2/2 |w|^2. Deterministic. `iterations` 400 converge on ~10^4
 * samples of ~1,600 features in well under a minute.
 */
export function fitLogistic(data: LabelledFeatures, opts: { l2: number; iterations?: number; learningRate?: number }): LogisticFit {
  const n = data.features.length;
  if (n < 2) throw new RangeError('fitLogistic needs at least two samples');
  const { mean, std } = featureMoments(data.features);
  const z = data.features.map((f) => standardise(f, { mean, std }));
  const d = mean.length;
  const sampleWeights = data.weights ?? new Array<number>(n).fill(1);
  const totalWeight = sampleWeights.reduce((a, b) => a + b, 0);
  const w = new Float64Array(d + 1); // last: bias
  const m = new Float64Array(d + 1);
  const v = new Float64Array(d + 1);
  const grad = new Float64Array(d + 1);
  const iterations = opts.iterations ?? 400;
  const lr = opts.learningRate ?? 0.01;
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  for (let t = 1; t <= iterations; t++) {
    grad.fill(0);
    for (let s = 0; s < n; s++) {
      const x = z[s]!;
      let logit = w[d]!;
      for (let i = 0; i < d; i++) logit += w[i]! * x[i]!;
      const g = ((sigmoid(logit) - data.labels[s]!) * sampleWeights[s]!) / totalWeight;
      for (let i = 0; i < d; i++) grad[i]! += g * x[i]!;
      grad[d]! += g;
    }
    for (let i = 0; i < d; i++) grad[i]! += opts.l2 * w[i]!;
    for (let i = 0; i <= d; i++) {
      m[i] = beta1 * m[i]! + (1 - beta1) * grad[i]!;
      v[i] = beta2 * v[i]! + (1 - beta2) * grad[i]! ** 2;
      const mHat = m[i]! / (1 - beta1 ** t);
      const vHat = v[i]! / (1 - beta2 ** t);
      w[i]! -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
  return { mean, std, weights: Array.from(w.subarray(0, d)), bias: w[d]! };
}

/** Raw probe probabilities of feature vectors under a fit. */
export function logisticScores(fit: LogisticFit, features: Float32Array[]): number[] {
  return features.map((f) => {
    let logit = fit.bias;
    for (let i = 0; i < fit.weights.length; i++) logit += (fit.weights[i]! * (f[i]! - fit.mean[i]!)) / fit.std[i]!;
    return sigmoid(logit);
  });
}

function normalise(v: Float64Array): number {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return norm;
}

/**
 * The top `k` principal components of standardised features, by block power
 * iteration with Gram-Schmidt (deterministic seed), and the residual scale off them.
 */
export function fitRange(standardised: Float64Array[], k: number, percentile: number, scoreOf: (z: Float64Array, r: Omit<RangeModel, 'threshold' | 'percentile'>) => number, iterations = 30): RangeModel {
  const d = standardised[0]!.length;
  const n = standardised.length;
  const rng = new Rng(7);
  let basis = Array.from({ length: k }, () => Float64Array.from(rng.normals(d)));
  const covTimes = (v: Float64Array) => {
    const out = new Float64Array(d);
    for (const z of standardised) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += z[i]! * v[i]!;
      for (let i = 0; i < d; i++) out[i]! += dot * z[i]!;
    }
    for (let i = 0; i < d; i++) out[i]! /= Math.max(1, n - 1);
    return out;
  };
  const orthonormalise = (vs: Float64Array[]) => {
    for (let c = 0; c < vs.length; c++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += vs[c]![i]! * vs[p]![i]!;
        for (let i = 0; i < d; i++) vs[c]![i]! -= dot * vs[p]![i]!;
      }
      normalise(vs[c]!);
    }
  };
  orthonormalise(basis);
  let variances = new Array<number>(k).fill(1);
  for (let it = 0; it < iterations; it++) {
    basis = basis.map(covTimes);
    variances = basis.map((b) => Math.sqrt(b.reduce((s, x) => s + x * x, 0)));
    orthonormalise(basis);
  }
  // Rayleigh quotients give the variances along the final directions.
  variances = basis.map((b) => {
    const cb = covTimes(b);
    return Math.max(1e-6, cb.reduce((s, x, i) => s + x * b[i]!, 0));
  });
  let residual = 0;
  for (const z of standardised) {
    let norm = 0;
    let projected = 0;
    for (let i = 0; i < d; i++) norm += z[i]! * z[i]!;
    for (const b of basis) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += b[i]! * z[i]!;
      projected += dot * dot;
    }
    residual += Math.max(0, norm - projected) / d;
  }
  const partial = { components: basis.flatMap((b) => Array.from(b)), variances, residualScale: Math.max(1e-9, residual / n) };
  const scores = standardised.map((z) => scoreOf(z, partial)).sort((a, b) => a - b);
  const threshold = scores[Math.min(n - 1, Math.floor((percentile / 100) * n))]!;
  return { ...partial, threshold, percentile };
}

/** Round to float32-ish precision for a compact JSON file. */
export const compact = (values: ArrayLike<number>): number[] => Array.from(values, (x) => Number(x.toPrecision(6)));

export function packProbe(fit: LogisticFit, rest: Omit<ProbeWeights, 'format' | 'featureLength' | 'mean' | 'std' | 'weights' | 'bias'>): ProbeWeights {
  return {
    format: 'fakeface-probe/1',
    featureLength: fit.mean.length,
    mean: compact(fit.mean),
    std: compact(fit.std),
    weights: compact(fit.weights),
    bias: fit.bias,
    ...rest,
    range: { ...rest.range, components: compact(rest.range.components), variances: compact(rest.range.variances) },
  };
}
