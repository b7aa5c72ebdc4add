import { describe, expect, it } from 'vitest';
import {
  applyPlatt,
  balancedAccuracyThreshold,
  classificationReport,
  confusionMatrix,
  fitPlatt,
  rocAuc,
  rocCurve,
} from '../src/detect/metrics.js';

describe('real-vs-fake metrics', () => {
  const scores = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2];
  const labels = [0, 0, 1, 1, 1, 0];

  it('counts the confusion matrix with score >= threshold called fake', () => {
    expect(confusionMatrix(scores, labels, 0.5)).toEqual({ truePositives: 2, falsePositives: 0, trueNegatives: 3, falseNegatives: 1 });
    expect(confusionMatrix(scores, labels, 0.4)).toEqual({ truePositives: 2, falsePositives: 1, trueNegatives: 2, falseNegatives: 1 });
  });

  it('computes AUC as the share of (fake, real) pairs ranked right, ties a half', () => {
    // Pairs: fakes {0.35, 0.8, 0.7} vs reals {0.1, 0.4, 0.2}: 0.35 loses to 0.4 only -> 8/9.
    expect(rocAuc(scores, labels)).toBeCloseTo(8 / 9, 12);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(rocAuc([0.9, 0.1], [0, 1])).toBe(0);
    expect(rocAuc([0.3, 0.4], [1, 1])).toBeNull();
  });

  it('the ROC curve runs from (0,0) to (1,1) and its area equals the AUC', () => {
    const roc = rocCurve(scores, labels);
    expect(roc[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(roc.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    let area = 0;
    for (let i = 1; i < roc.length; i++) area += ((roc[i]!.fpr - roc[i - 1]!.fpr) * (roc[i]!.tpr + roc[i - 1]!.tpr)) / 2;
    expect(area).toBeCloseTo(rocAuc(scores, labels)!, 12);
  });

  it('reports precision, recall and balanced accuracy', () => {
    const report = classificationReport(scores, labels, 0.5);
    expect(report.accuracy).toBeCloseTo(5 / 6, 12);
    expect(report.precision).toBe(1);
    expect(report.recall).toBeCloseTo(2 / 3, 12);
    expect(report.falsePositiveRate).toBe(0);
    expect(report.balancedAccuracy).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(report.count).toEqual({ real: 3, fake: 3 });
  });

  it('picks the threshold with the best balanced accuracy, between two scores', () => {
    const t = balancedAccuracyThreshold(scores, labels);
    const best = classificationReport(scores, labels, t).balancedAccuracy;
    for (const other of [0, 0.15, 0.3, 0.38, 0.5, 0.75, 0.9]) expect(best).toBeGreaterThanOrEqual(classificationReport(scores, labels, other).balancedAccuracy);
    // Perfectly separable: the threshold falls strictly between the classes.
    const sep = balancedAccuracyThreshold([0.1, 0.2, 0.6, 0.9], [0, 0, 1, 1]);
    expect(sep).toBeGreaterThan(0.2);
    expect(sep).toBeLessThanOrEqual(0.6);
    expect(balancedAccuracyThreshold([0.3], [1])).toBe(0.5);
  });

  it('Platt scaling moves miscalibrated scores towards the truth and keeps their order', () => {
    // A classifier that says ~0.9 for everything, right 60% of the time on fakes.
    const raw: number[] = [];
    const truth: number[] = [];
    for (let i = 0; i < 200; i++) {
      const fake = i % 2;
      raw.push(fake ? 0.9 + (i % 10) / 200 : 0.85 + (i % 10) / 200);
      truth.push(fake);
    }
    const platt = fitPlatt(raw, truth);
    expect(Number.isFinite(platt.a) && Number.isFinite(platt.b)).toBe(true);
    const meanCal = raw.reduce((s, p) => s + applyPlatt(p, platt), 0) / raw.length;
    expect(meanCal).toBeCloseTo(0.5, 1);
    expect(applyPlatt(0.95, platt)).toBeGreaterThan(applyPlatt(0.86, platt));
    expect(fitPlatt([0.2, 0.3], [1, 1])).toEqual({ a: 1, b: 0 });
  });

  it('rejects ragged or bad input', () => {
    expect(() => rocAuc([0.1], [0, 1])).toThrow(/1 scores but 2 labels/);
    expect(() => rocAuc([NaN], [0])).toThrow(/finite/);
    expect(() => rocAuc([0.1], [2])).toThrow(/labels are 0/);
  });
});

describe('threshold preference', () => {
  it('keeps 0.5 when it separates the classes as well as any other threshold', () => {
    expect(balancedAccuracyThreshold([0.1, 0.2, 0.6, 0.9], [0, 0, 1, 1], 0.5)).toBe(0.5);
    expect(balancedAccuracyThreshold([0.1, 0.7, 0.8, 0.9], [0, 0, 1, 1], 0.5)).toBeCloseTo(0.75, 12);
  });
});
