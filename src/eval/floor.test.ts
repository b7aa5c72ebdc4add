import { describe, expect, it } from 'vitest';
import { FeatureMatrixError } from '../errors.js';
import { Rng } from '../train/rng.js';
import { frechetDistance } from './frechet.js';
import { realVsRealFloor } from './floor.js';
import type { Features } from './linalg.js';

describe('realVsRealFloor', () => {
  // vector i is [i, -i], so the halves can be read back as indices
  const real = Array.from({ length: 11 }, (_, i) => [i, -i]);
  const indices = (half: Features): number[] => half.map((v) => v[0]!);

  it('hands the metric two disjoint random halves', () => {
    const [first, second] = realVsRealFloor(real, (a, b) => [indices(a), indices(b)]);
    expect(first).toHaveLength(5);
    expect(second).toHaveLength(5);
    expect(new Set([...first!, ...second!]).size).toBe(10);
    expect(first).not.toEqual([0, 1, 2, 3, 4]); // shuffled, not the first rows
  });

  it('repeats its split for a seed and takes halfSize vectors per half', () => {
    const split = (seed: number): number[][] => realVsRealFloor(real, (a, b) => [indices(a), indices(b)], { seed });
    expect(split(3)).toEqual(split(3));
    expect(split(3)).not.toEqual(split(4));
    const small = realVsRealFloor(real, (a, b) => [a.length, b.length], { halfSize: 2 });
    expect(small).toEqual([2, 2]);
  });

  it('refuses halves that cannot be disjoint', () => {
    expect(() => realVsRealFloor(real, () => 0, { halfSize: 6 })).toThrow(FeatureMatrixError);
    expect(() => realVsRealFloor([[1]], () => 0)).toThrow('cannot take two disjoint halves of 0 from 1 real vectors');
  });

  it('gives an FID floor well below the distance to a shifted set', () => {
    const rng = new Rng(8);
    const gaussian = (shift: number): number[][] =>
      Array.from({ length: 400 }, () => Array.from({ length: 6 }, () => shift + rng.normal()));
    const realSet = gaussian(0);
    const floor = realVsRealFloor(realSet, frechetDistance).fid;
    const fake = frechetDistance(realSet.slice(0, 200), gaussian(0.5).slice(0, 200)).fid;
    expect(floor).toBeGreaterThan(0); // finite samples: FID is biased upwards
    expect(fake).toBeGreaterThan(5 * floor);
  });
});
