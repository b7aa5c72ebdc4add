import { describe, expect, it } from 'vitest';
import { FeatureMatrixError, UsageError } from '../errors.js';
import { Rng } from '../train/rng.js';
import { kernelInceptionDistance } from './kid.js';

function gaussianSet(rng: Rng, n: number, d: number, shift = 0, scale = 1): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => shift + scale * rng.normal()));
}

const kernel = (x: number[], y: number[]): number => (x.reduce((s, v, i) => s + v * y[i]!, 0) / x.length + 1) ** 3;

/** MMD^2 over whole sets, straight from the definition; `biased` keeps the i = j terms (the V-statistic). */
function mmd2(x: number[][], y: number[][], biased = false): number {
  const within = (s: number[][]): number => {
    let sum = 0;
    for (let i = 0; i < s.length; i++) for (let j = 0; j < s.length; j++) if (biased || i !== j) sum += kernel(s[i]!, s[j]!);
    return sum / (biased ? s.length ** 2 : s.length * (s.length - 1));
  };
  let cross = 0;
  for (const a of x) for (const b of y) cross += kernel(a, b);
  return within(x) + within(y) - (2 * cross) / (x.length * y.length);
}

describe('kernelInceptionDistance', () => {
  it('matches a value computed by hand', () => {
    // k(x, y) = (xy + 1)^3 in d = 1. Within x: k(0,1) = 1 twice; within y: k(2,3) = 343 twice;
    // across: k(0,2) = k(0,3) = 1, k(1,2) = 27, k(1,3) = 64. (2 + 686)/2 - 2 * 93/4 = 297.5
    const result = kernelInceptionDistance([[0], [1]], [[2], [3]], { subsets: 3 });
    expect(result.subsetSize).toBe(2);
    expect(Array.from(result.values)).toEqual([297.5, 297.5, 297.5]);
    expect(result.mean).toBe(297.5);
    expect(result.std).toBe(0);
  });

  it('equals the unbiased MMD^2 of the whole sets when a subset holds every vector', () => {
    const rng = new Rng(1);
    const x = gaussianSet(rng, 30, 5);
    const y = gaussianSet(rng, 30, 5, 0.3);
    const result = kernelInceptionDistance(x, y, { subsets: 4, subsetSize: 500 });
    expect(result.subsetSize).toBe(30);
    expect(result.mean).toBeCloseTo(mmd2(x, y), 12);
    expect(result.std).toBeLessThan(1e-12);
  });

  it('gives the same values with and without the precomputed kernel table', () => {
    const rng = new Rng(2);
    const x = gaussianSet(rng, 120, 6);
    const y = gaussianSet(rng, 90, 6, 0.2);
    const options = { subsets: 20, subsetSize: 50, seed: 3 };
    const cached = kernelInceptionDistance(x, y, { ...options, precompute: true });
    const direct = kernelInceptionDistance(x, y, { ...options, precompute: false });
    for (let i = 0; i < 20; i++) expect(cached.values[i]).toBeCloseTo(direct.values[i]!, 12);
    expect(new Set(cached.values).size).toBe(20); // the subsets differ
  });

  it('is near 0 for two samples of one distribution and clearly positive for shifted ones', () => {
    const rng = new Rng(4);
    const real = gaussianSet(rng, 600, 8);
    const same = kernelInceptionDistance(real, gaussianSet(rng, 600, 8), { subsets: 50, subsetSize: 200 });
    expect(Math.abs(same.mean)).toBeLessThan(3 * same.std);
    const shifted = kernelInceptionDistance(real, gaussianSet(rng, 600, 8, 0.5), { subsets: 50, subsetSize: 200 });
    expect(shifted.mean).toBeGreaterThan(5 * shifted.std);
    // a narrower spread with the right mean (a collapsed generator) is caught too
    const collapsed = kernelInceptionDistance(real, gaussianSet(rng, 600, 8, 0, 0.5), { subsets: 50, subsetSize: 200 });
    expect(collapsed.mean).toBeGreaterThan(5 * collapsed.std);
  });

  it('is unbiased: over many independent sample pairs of one distribution it averages to 0', () => {
    const rng = new Rng(5);
    const pairs = 300;
    const m = 40;
    const unbiased: number[] = [];
    const biased: number[] = [];
    for (let p = 0; p < pairs; p++) {
      const [x, y] = [gaussianSet(rng, m, 4), gaussianSet(rng, m, 4)];
      unbiased.push(kernelInceptionDistance(x, y, { subsets: 1, subsetSize: m, seed: p }).mean);
      biased.push(mmd2(x, y, true));
    }
    const meanOf = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    const average = meanOf(unbiased);
    const standardError = Math.sqrt(unbiased.reduce((s, v) => s + (v - average) ** 2, 0) / (pairs - 1) / pairs);
    expect(Math.abs(average)).toBeLessThan(3 * standardError);
    // the same check catches the biased V-statistic, whose bias 2 (E k(x,x) - E k(x,y)) / m is ~0.19 here
    expect(meanOf(biased)).toBeGreaterThan(10 * standardError);
  });

  it('repeats its result for a seed and draws other subsets for another', () => {
    const rng = new Rng(6);
    const x = gaussianSet(rng, 100, 4);
    const y = gaussianSet(rng, 100, 4, 0.1);
    const first = kernelInceptionDistance(x, y, { subsets: 10, subsetSize: 30, seed: 11 });
    expect(kernelInceptionDistance(x, y, { subsets: 10, subsetSize: 30, seed: 11 })).toEqual(first);
    expect(kernelInceptionDistance(x, y, { subsets: 10, subsetSize: 30, seed: 12 }).mean).not.toBe(first.mean);
  });

  it('refuses bad options and unusable sets', () => {
    const x = [[1, 2], [3, 4], [5, 6]];
    expect(() => kernelInceptionDistance(x, x, { subsets: 0 })).toThrow(UsageError);
    expect(() => kernelInceptionDistance(x, x, { subsetSize: 1.5 })).toThrow(UsageError);
    expect(() => kernelInceptionDistance(x, [[1], [2]])).toThrow(FeatureMatrixError);
    expect(() => kernelInceptionDistance(x, [[1, 2]])).toThrow('KID needs at least 2 feature vectors in each set, got 3 and 1');
  });
});
