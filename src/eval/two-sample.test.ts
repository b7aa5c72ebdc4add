import { describe, expect, it } from 'vitest';
import { FeatureMatrixError, UsageError } from '../errors.js';
import { Rng } from '../train/rng.js';
import { twoSampleTest, wilsonInterval } from './two-sample.js';

function gaussianSet(rng: Rng, n: number, d: number, shift = 0, scale = 1): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => shift + scale * rng.normal()));
}

describe('wilsonInterval', () => {
  it('matches known values', () => {
    const half = wilsonInterval(50, 100);
    expect(half.low).toBeCloseTo(0.40383, 5);
    expect(half.high).toBeCloseTo(0.59617, 5);
    // no successes: the upper end is z^2/n / (1 + z^2/n)
    const none = wilsonInterval(0, 10);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.27753, 5); // 3.8415 / 13.8415
    expect(wilsonInterval(10, 10).high).toBeCloseTo(1, 12);
  });
});

describe('twoSampleTest', () => {
  it('sits at chance for one distribution: the interval holds 0.5', () => {
    const rng = new Rng(1);
    const result = twoSampleTest(gaussianSet(rng, 500, 8), gaussianSet(rng, 500, 8), { seed: 2 });
    expect(result.total).toBe(300);
    expect(result.trainCount).toBe(700);
    expect(result.correct / result.total).toBe(result.accuracy);
    expect(result.interval.low).toBeLessThan(0.5);
    expect(result.interval.high).toBeGreaterThan(0.5);
  });

  it('tells well-separated sets apart', () => {
    const rng = new Rng(3);
    const result = twoSampleTest(gaussianSet(rng, 300, 8), gaussianSet(rng, 300, 8, 2));
    expect(result.accuracy).toBeGreaterThan(0.98);
    expect(result.interval.low).toBeGreaterThan(0.9);
    expect(result.realAccuracy).toBeGreaterThan(0.95);
    expect(result.fakeAccuracy).toBeGreaterThan(0.95);
  });

  it('sees a narrower spread with the right mean through the squared features', () => {
    const rng = new Rng(4);
    const real = gaussianSet(rng, 500, 16);
    const collapsed = gaussianSet(rng, 500, 16, 0, 0.6);
    const withSquares = twoSampleTest(real, collapsed);
    expect(withSquares.interval.low).toBeGreaterThan(0.8);
    // a linear boundary on the features alone has nothing to go on
    const linear = twoSampleTest(real, collapsed, { squaredFeatures: false });
    expect(linear.accuracy).toBeLessThan(0.65);
  });

  it('subsamples the larger set so that chance stays 0.5', () => {
    const rng = new Rng(5);
    const result = twoSampleTest(gaussianSet(rng, 300, 4), gaussianSet(rng, 100, 4, 3), { heldOutFraction: 0.5 });
    expect(result.usedPerSet).toBe(100);
    expect(result.total).toBe(100);
    expect(result.trainCount).toBe(100);
  });

  it('repeats its result for a seed', () => {
    const rng = new Rng(6);
    const [real, fake] = [gaussianSet(rng, 200, 6), gaussianSet(rng, 200, 6, 0.3)];
    const first = twoSampleTest(real, fake, { seed: 9, epochs: 20 });
    expect(twoSampleTest(real, fake, { seed: 9, epochs: 20 })).toEqual(first);
    const others = [10, 11, 12].map((seed) => twoSampleTest(real, fake, { seed, epochs: 20 }).correct);
    expect(others.some((correct) => correct !== first.correct)).toBe(true);
  });

  it('refuses bad options and unusable sets', () => {
    const x = [[1, 2], [3, 4], [5, 6], [7, 8]];
    expect(() => twoSampleTest(x, x, { heldOutFraction: 1 })).toThrow(UsageError);
    expect(() => twoSampleTest(x, x, { epochs: -1 })).toThrow(UsageError);
    expect(() => twoSampleTest(x, [[1], [2]])).toThrow(FeatureMatrixError);
    expect(() => twoSampleTest(x, [[1, 2]])).toThrow('1 vectors per set leave 1 to train on and 0 to test');
  });
});
