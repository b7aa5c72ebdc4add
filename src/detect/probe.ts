/**
 * The probe detector: a linear real-vs-fake probe on the pretrained backbone's
 * features (./backbone.ts), the route of Ojha et al. 2023 (UnivFD) with the
 * backbone that ships in npm. Everything but the backbone fits in one JSON file
 * (`probe.json`): the standardisation, the probe, its calibration on outside data
 * and the statistics that say when an input is unlike the training data.
 *
 *   logit(x) = w · (f(x) - μ) / σ + b          f: backbone features, 1,584 values
 *   p(fake)  = sigmoid(a · logit + c)           Platt scaling fitted on outside data
 *   range    = Mahalanobis distance of the standardised features in the top-k
 *              principal components, plus the residual off them (./range.ts)
 * @internal
 */
import { applyPlatt, type PlattScaling } from './metrics.js';

export const PROBE_FORMAT = 'fakeface-probe/1';

export interface RangeModel {
  /** Top principal directions of the standardised training features, k x featureLength, row-major. */
  components: number[];
  /** Their variances. */
  variances: number[];
  /** Mean squared residual per feature off the k components, on the training features. */
  residualScale: number;
  /** A face whose range score is above this is "unlike the training data" (a high percentile of the training scores). */
  threshold: number;
  /** Which percentile the threshold is. */
  percentile: number;
}

export interface ProbeWeights {
  format: typeof PROBE_FORMAT;
  featureLength: number;
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
  platt: PlattScaling;
  /** Calibrated p(fake) at or above which a face is called fake. */
  threshold: number;
  /** Calibrated p(fake) within this of the threshold is "too close to call". */
  uncertainBand: number;
  range: RangeModel;
}

/** The probe as one linear map of the raw features: logit = effectiveWeights · f + effectiveBias. */
export function effectiveLinear(probe: ProbeWeights): { weights: Float32Array; bias: number } {
  const weights = new Float32Array(probe.featureLength);
  let bias = probe.bias;
  for (let i = 0; i < probe.featureLength; i++) {
    weights[i] = probe.weights[i]! / probe.std[i]!;
    bias -= (probe.weights[i]! * probe.mean[i]!) / probe.std[i]!;
  }
  return { weights, bias };
}

export function standardise(features: ArrayLike<number>, probe: Pick<ProbeWeights, 'mean' | 'std'>): Float64Array {
  const out = new Float64Array(features.length);
  for (let i = 0; i < out.length; i++) out[i] = (features[i]! - probe.mean[i]!) / probe.std[i]!;
  return out;
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The probe's raw (uncalibrated) logit of one feature vector. */
export function probeLogit(features: ArrayLike<number>, probe: ProbeWeights): number {
  let z = probe.bias;
  for (let i = 0; i < probe.featureLength; i++) z += (probe.weights[i]! * (features[i]! - probe.mean[i]!)) / probe.std[i]!;
  return z;
}

/** Calibrated p(fake) of one feature vector. */
export function probePFake(features: ArrayLike<number>, probe: ProbeWeights): number {
  return applyPlatt(sigmoid(probeLogit(features, probe)), probe.platt);
}

/**
 * How far a standardised feature vector lies from the training data: the squared
 * Mahalanobis distance in the top-k principal components plus the squared residual
 * off them (in units of the training residual), divided by the number of dimensions,
 * so ~1 is typical of the training data.
 */
export function rangeScore(z: Float64Array, range: Omit<RangeModel, 'threshold' | 'percentile'>): number {
  const k = range.variances.length;
  const d = z.length;
  let inside = 0;
  let projectedNorm = 0;
  for (let c = 0; c < k; c++) {
    let dot = 0;
    const row = c * d;
    for (let i = 0; i < d; i++) dot += range.components[row + i]! * z[i]!;
    inside += (dot * dot) / range.variances[c]!;
    projectedNorm += dot * dot;
  }
  let norm = 0;
  for (let i = 0; i < d; i++) norm += z[i]! * z[i]!;
  const residual = Math.max(0, norm - projectedNorm) / d / range.residualScale;
  return (inside / k + residual) / 2;
}

/** Checks a parsed probe.json; throws a RangeError naming the first problem. */
export function checkProbe(value: unknown): ProbeWeights {
  const p = value as ProbeWeights;
  if (!p || p.format !== PROBE_FORMAT) throw new RangeError(`not a ${PROBE_FORMAT} file`);
  const n = p.featureLength;
  for (const key of ['mean', 'std', 'weights'] as const) {
    if (!Array.isArray(p[key]) || p[key].length !== n) throw new RangeError(`${key} must have ${n} values`);
  }
  if (p.std.some((s) => !(s > 0))) throw new RangeError('std must be positive');
  const k = p.range?.variances?.length ?? 0;
  if (k < 1 || p.range.components.length !== k * n) throw new RangeError(`range.components must be ${k} x ${n}`);
  if (!(p.threshold > 0 && p.threshold < 1)) throw new RangeError('threshold must be in (0, 1)');
  return p;
}
