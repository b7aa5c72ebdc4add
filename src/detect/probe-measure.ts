/**
 * How the probe detector's card numbers are summed up, shared by the training
 * script (scripts/train-probe-detector.ts) and the end-to-end measurement
 * (scripts/measure-probe-detector.ts): one scored test view per photo, summed up per
 * evaluation set as AUC, accuracy at the threshold, true positives at 5% false
 * positives, and the share left uncertain with its reasons.
 * @internal
 */
import { rocAuc } from './metrics.js';
import type { SourceImage } from './probe-sources.js';
import type { MeasuredSummary } from './probe-classifier.js';

export type MeasuredReason = 'no-face' | 'face-too-small' | 'out-of-range' | 'near-threshold';

export interface ScoredView {
  label: number;
  /** Calibrated p(fake), or null when no face was scored. */
  p: number | null;
  reason: MeasuredReason | null;
}

/** The share of positives scored above the score that lets `fpr` of the negatives through. */
export function tprAtFpr(scores: number[], labels: number[], fpr: number): number | null {
  const negatives = scores.filter((_, i) => labels[i] === 0).sort((a, b) => b - a);
  const positives = scores.filter((_, i) => labels[i] === 1);
  if (negatives.length === 0 || positives.length === 0) return null;
  const cut = negatives[Math.floor(fpr * negatives.length)] ?? -Infinity;
  return positives.filter((p) => p > cut).length / positives.length;
}

export function summarise(scored: ScoredView[], threshold: number): MeasuredSummary {
  const withScore = scored.filter((s): s is ScoredView & { p: number } => s.p !== null);
  const p = withScore.map((s) => s.p);
  const labels = withScore.map((s) => s.label);
  const decided = scored.filter((s) => s.reason === null && s.p !== null);
  const correct = decided.filter((s) => (s.p! >= threshold ? 1 : 0) === s.label).length;
  const allCorrect = withScore.filter((s) => (s.p >= threshold ? 1 : 0) === s.label).length;
  const reasons: Record<string, number> = {};
  for (const s of scored) if (s.reason) reasons[s.reason] = (reasons[s.reason] ?? 0) + 1;
  const r = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    real: scored.filter((s) => s.label === 0).length,
    fake: scored.filter((s) => s.label === 1).length,
    auc: r(rocAuc(p, labels)),
    accuracy: r(withScore.length ? allCorrect / withScore.length : null),
    accuracyDecided: r(decided.length ? correct / decided.length : null),
    tprAt5Fpr: r(tprAtFpr(p, labels, 0.05)),
    uncertain: r(scored.length ? (scored.length - decided.length) / scored.length : null),
    reasons,
  };
}

export interface EvalSet {
  name: string;
  family: string;
  select: (image: SourceImage) => boolean;
}

/** The card's evaluation sets: each outside set's fakes against its own reals (or every outside set's reals when it has none), ours, and each family. */
export function evaluationSets(outside: { name: string; real: number; fake: number; family: string }[]): EvalSet[] {
  const outsideReal = (i: SourceImage) => i.label === 0 && i.set !== 'utkface' && i.set !== 'own';
  const sets: EvalSet[] = [];
  for (const s of outside) {
    if (s.fake > 0) sets.push({ name: s.name, family: s.family, select: (i) => (i.set === s.name && i.label === 1) || (s.real > 0 ? i.set === s.name && i.label === 0 : outsideReal(i)) });
  }
  sets.push({ name: 'own-generator vs utkface', family: 'own-gan', select: (i) => i.set === 'own' || i.set === 'utkface' });
  for (const family of ['gan', 'diffusion']) sets.push({ name: `all outside ${family}`, family, select: (i) => (i.label === 1 && i.family === family) || outsideReal(i) });
  return sets;
}

/** The first `perSource` test photos of each source: those that go through the whole pipeline. */
export function pipelineTestPhotos(images: SourceImage[], perSource: number): Set<SourceImage> {
  const chosen = new Set<SourceImage>();
  const counts = new Map<string, number>();
  for (const image of images) {
    if (image.split !== 'test') continue;
    const n = counts.get(image.source) ?? 0;
    counts.set(image.source, n + 1);
    if (n < perSource) chosen.add(image);
  }
  return chosen;
}
