/**
 * Real-vs-fake classification metrics on scores, pure maths. Labels: 1 = fake
 * (the positive class), 0 = real; scores are p(fake), higher = more likely fake.
 */

export interface ConfusionMatrix {
  /** Fakes called fake. */
  truePositives: number;
  /** Reals called fake. */
  falsePositives: number;
  /** Reals called real. */
  trueNegatives: number;
  /** Fakes called real. */
  falseNegatives: number;
}

export interface ClassificationReport {
  count: { real: number; fake: number };
  threshold: number;
  accuracy: number;
  /** Mean of the accuracy on reals and the accuracy on fakes: what accuracy means when the classes are unbalanced. */
  balancedAccuracy: number;
  /** Of the images called fake, the share that are fake (null when none is called fake). */
  precision: number | null;
  /** Of the fakes, the share called fake (true positive rate). */
  recall: number | null;
  /** Of the reals, the share called fake. */
  falsePositiveRate: number | null;
  /** Area under the ROC curve; 0.5 is chance. Null unless both classes are present. */
  auc: number | null;
  confusion: ConfusionMatrix;
}

export interface RocPoint {
  /** Calling fake at score >= threshold gives this false positive and true positive rate. */
  threshold: number;
  fpr: number;
  tpr: number;
}

function checkInputs(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) throw new RangeError(`score ${i} is ${scores[i]}, not a finite number`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`label ${i} is ${labels[i]}; labels are 0 (real) or 1 (fake)`);
  }
}

/** Counts at a threshold: score >= threshold is called fake. */
export function confusionMatrix(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): ConfusionMatrix {
  checkInputs(scores, labels);
  const m: ConfusionMatrix = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  for (let i = 0; i < scores.length; i++) {
    const calledFake = scores[i]! >= threshold;
    if (labels[i] === 1) calledFake ? m.truePositives++ : m.falseNegatives++;
    else calledFake ? m.falsePositives++ : m.trueNegatives++;
  }
  return m;
}

/**
 * ROC AUC as the Mann-Whitney statistic: the probability that a random fake
 * scores above a random real, ties counting a half. Null without both classes.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  checkInputs(scores, labels);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  // Average ranks (1-based) over runs of tied scores.
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += rank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * The ROC curve: one point per distinct score (calling fake at score >= it), from
 * (0, 0) (threshold +Infinity) to (1, 1). Empty without both classes.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): RocPoint[] {
  checkInputs(scores, labels);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return [];
  const points: RocPoint[] = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    labels[order[k]!] === 1 ? tp++ : fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[order[k]!]) points.push({ threshold: scores[order[k]!]!, fpr: fp / negatives, tpr: tp / positives });
  }
  return points;
}

/** Accuracy, balanced accuracy, precision/recall, AUC and the confusion matrix at a threshold. */
export function classificationReport(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): ClassificationReport {
  const confusion = confusionMatrix(scores, labels, threshold);
  const { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } = confusion;
  const fake = tp + fn;
  const real = tn + fp;
  const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
  const recall = ratio(tp, fake);
  const specificity = ratio(tn, real);
  return {
    count: { real, fake },
    threshold,
    accuracy: ratio(tp + tn, fake + real) ?? 0,
    balancedAccuracy: recall !== null && specificity !== null ? (recall + specificity) / 2 : (recall ?? specificity ?? 0),
    precision: ratio(tp, tp + fp),
    recall,
    falsePositiveRate: ratio(fp, real),
    auc: rocAuc(scores, labels),
    confusion,
  };
}

/**
 * The threshold that maximises balanced accuracy on these scores: `prefer` when it
 * lies in a best interval of thresholds, else the midpoint of the best interval
 * (between two neighbouring distinct scores, so it generalises a little) nearest to
 * `prefer`. Without both classes, returns `prefer`.
 */
export function balancedAccuracyThreshold(scores: ArrayLike<number>, labels: ArrayLike<number>, prefer = 0.5): number {
  const points = rocCurve(scores, labels);
  if (points.length === 0) return prefer;
  const distinct = [...new Set(Array.from(scores))].sort((a, b) => b - a);
  let best = prefer;
  let bestValue = -1;
  for (let k = 1; k < points.length; k++) {
    const p = points[k]!;
    // Point k calls fake at score >= distinct[k - 1]; any threshold in (distinct[k], distinct[k - 1]] does the same.
    const below = distinct[k];
    const inside = prefer <= p.threshold && (below === undefined || prefer > below);
    const threshold = inside ? prefer : below === undefined ? p.threshold : (p.threshold + below) / 2;
    const value = (p.tpr + 1 - p.fpr) / 2;
    if (value > bestValue + 1e-12 || (Math.abs(value - bestValue) <= 1e-12 && Math.abs(threshold - prefer) < Math.abs(best - prefer))) {
      best = threshold;
      bestValue = value;
    }
  }
  // Calling nothing fake (threshold above every score) balances to exactly 0.5: only better thresholds replace prefer.
  return bestValue > 0.5 ? best : prefer;
}

export interface PlattScaling {
  /** p_calibrated = sigmoid(a * logit(p) + b). */
  a: number;
  b: number;
}

const clampP = (p: number) => Math.min(1 - 1e-7, Math.max(1e-7, p));
export const logit = (p: number) => Math.log(clampP(p) / (1 - clampP(p)));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Applies Platt scaling to a raw p(fake). */
export function applyPlatt(p: number, platt: PlattScaling): number {
  return sigmoid(platt.a * logit(p) + platt.b);
}

/**
 * Platt scaling (Platt 1999, with its smoothed targets): fits a and b so that
 * sigmoid(a * logit(p) + b) minimises the log loss on held-out scores, by Newton's
 * method. The smoothed targets (n+1)/(n+2) and 1/(n+2) keep a and b finite when the
 * classes are perfectly separated. Without both classes it returns the identity.
 */
export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>): PlattScaling {
  checkInputs(scores, labels);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return { a: 1, b: 0 };
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (negatives + 2);
  const x = Array.from(scores, logit);
  const t = Array.from(labels, (l) => (l === 1 ? hi : lo));
  let a = 1;
  let b = 0;
  const loss = (a: number, b: number) => {
    let sum = 0;
    for (let i = 0; i < x.length; i++) {
      const z = a * x[i]! + b;
      // log(1 + e^z) - t z, computed without overflow
      sum += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - t[i]! * z;
    }
    return sum;
  };
  let current = loss(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let gA = 0, gB = 0, hAA = 1e-9, hAB = 0, hBB = 1e-9;
    for (let i = 0; i < x.length; i++) {
      const p = sigmoid(a * x[i]! + b);
      const d = p - t[i]!;
      const w = p * (1 - p);
      gA += d * x[i]!;
      gB += d;
      hAA += w * x[i]! * x[i]!;
      hAB += w * x[i]!;
      hBB += w;
    }
    const det = hAA * hBB - hAB * hAB;
    if (!(Math.abs(det) > 1e-15)) break;
    let stepA = (hBB * gA - hAB * gB) / det;
    let stepB = (hAA * gB - hAB * gA) / det;
    // Backtrack until the loss goes down.
    let scale = 1;
    let next = loss(a - stepA, b - stepB);
    while (next > current && scale > 1e-6) {
      scale /= 2;
      next = loss(a - stepA * scale, b - stepB * scale);
    }
    stepA *= scale;
    stepB *= scale;
    a -= stepA;
    b -= stepB;
    const improved = current - next;
    current = next;
    if (Math.abs(stepA) + Math.abs(stepB) < 1e-9 || improved < 1e-12) break;
  }
  return { a, b };
}
