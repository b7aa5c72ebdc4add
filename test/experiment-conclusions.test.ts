import { describe, expect, it } from 'vitest';
import { checkConclusions, compareQuality } from '../src/experiment/conclusions.js';
import type { ConfigSummary } from '../src/experiment/summary.js';

/** A summary carrying only what the conclusions read: the name and the quality numbers. */
function summary(name: string, fid: number, kid: number, kidStd = 0.0005): ConfigSummary {
  return { name, quality: { quality: { fid, kid, kidStd } } } as unknown as ConfigSummary;
}

describe('checking the paper\'s conclusions', () => {
  it('calls a difference clear only when FID and KID agree and KID differs by more than both stds', () => {
    const a = { name: 'a', fid: 0.3, kid: 0.004, kidStd: 0.0005 };
    expect(compareQuality(a, { name: 'b', fid: 0.4, kid: 0.006, kidStd: 0.0005 })).toBe('first');
    expect(compareQuality(a, { name: 'b', fid: 0.2, kid: 0.002, kidStd: 0.0005 })).toBe('second');
    expect(compareQuality(a, { name: 'b', fid: 0.4, kid: 0.0045, kidStd: 0.0005 })).toBe('unclear'); // KID within noise
    expect(compareQuality(a, { name: 'b', fid: 0.25, kid: 0.006, kidStd: 0.0005 })).toBe('unclear'); // FID and KID disagree
  });

  it('marks each claim held, did not hold or inconclusive from all its comparisons', () => {
    // 1e-4/LeakyReLU better in every pair; batch 256 best in both triples
    const paperRight = [
      summary('model1', 0.4, 0.008),
      summary('model2', 0.3, 0.004),
      summary('model3', 0.45, 0.009),
      summary('model4', 0.6, 0.012),
      summary('model5', 0.5, 0.010),
      summary('model6', 0.7, 0.014),
    ];
    expect(checkConclusions(paperRight).map((c) => [c.id, c.verdict])).toEqual([
      ['a', 'held'],
      ['b', 'held'],
      ['c', 'held'],
    ]);
    const [a, , c] = checkConclusions(paperRight);
    expect(a!.evidence).toEqual([
      'model1 FID 0.400, KID 8.00±0.50e-3 vs model4 FID 0.600, KID 12.00±0.50e-3: model1 clearly better',
      'model2 FID 0.300, KID 4.00±0.50e-3 vs model5 FID 0.500, KID 10.00±0.50e-3: model2 clearly better',
      'model3 FID 0.450, KID 9.00±0.50e-3 vs model6 FID 0.700, KID 14.00±0.50e-3: model3 clearly better',
    ]);
    expect(a!.note).toMatch(/learning rate and the activation change together/);
    expect(c!.evidence[0]).toMatch(/: model2 clearly best$/);

    // 2e-4/ReLU better everywhere; 256 beaten in one triple, unclear in the other
    const paperWrong = [
      summary('model1', 0.6, 0.012),
      summary('model2', 0.6, 0.0125),
      summary('model3', 0.5, 0.010),
      summary('model4', 0.4, 0.008),
      summary('model5', 0.39, 0.0079),
      summary('model6', 0.41, 0.0081),
    ];
    expect(checkConclusions(paperWrong).map((c) => c.verdict)).toEqual(['did not hold', 'did not hold', 'inconclusive']);

    // a pair within noise makes the claim inconclusive; missing configurations leave it untested
    const mixed = [summary('model1', 0.4, 0.008), summary('model4', 0.6, 0.012), summary('model2', 0.5, 0.0101), summary('model5', 0.5, 0.01)];
    expect(checkConclusions(mixed).map((c) => c.verdict)).toEqual(['inconclusive', 'inconclusive', 'not tested']);
    expect(checkConclusions([summary('model2', 0.3, 0.004)]).map((c) => c.verdict)).toEqual(['not tested', 'not tested', 'not tested']);
  });
});
