import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = new Rng(1).normals(100);
    expect(new Rng(1).normals(100)).toEqual(a);
    expect(new Rng(2).normals(100)).not.toEqual(a);
  });

  it('continues exactly from a saved state, including a pending Box-Muller value', () => {
    const rng = new Rng(5);
    rng.normals(3); // odd count leaves a spare normal
    const saved = JSON.parse(JSON.stringify(rng.state()));
    const expected = [rng.normals(7), rng.indices(5, 100)];
    const restored = Rng.fromState(saved);
    expect([restored.normals(7), restored.indices(5, 100)]).toEqual(expected);
  });

  it('draws standard normals and in-range indices', () => {
    const values = new Rng(3).normals(200_000);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    const indices = new Rng(3).indices(10_000, 7);
    expect(Math.min(...indices)).toBe(0);
    expect(Math.max(...indices)).toBe(6);
  });
});
