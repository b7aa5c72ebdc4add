import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_DIR, UTKFACE_MISSING } from '../../test/helpers/data.js';
import { initEngine } from '../engine/index.js';
import { Rng } from '../train/rng.js';
import {
  compareFeatures,
  createRunEvaluator,
  evaluateGenerator,
  evaluateImages,
  FACE_FEATURE_NETWORK,
  loadReferenceFaces,
  QUALITY_METRIC_KEYS,
  shuffledNames,
  type ReferenceFaces,
} from './quality.js';

const gaussian = (rng: Rng, n: number, d: number, shift = 0, scale = 1): Float32Array[] =>
  Array.from({ length: n }, () => Float32Array.from({ length: d }, () => shift + scale * rng.normal()));

describe('compareFeatures (synthetic features)', () => {
  const rng = new Rng(3);
  const real = gaussian(rng, 400, 8);

  it('puts a sample of the real distribution at the floor and a shifted one far above it', () => {
    const same = compareFeatures(real, gaussian(rng, 200, 8));
    expect(same.fid).toBeGreaterThan(0);
    expect(same.fid).toBeLessThan(2.5 * same.fidFloor);
    expect(same.twoSampleAccuracy).toBeLessThan(0.65);
    const shifted = compareFeatures(real, gaussian(rng, 200, 8, 0.7));
    expect(shifted.fid).toBeGreaterThan(10 * shifted.fidFloor);
    expect(shifted.kid).toBeGreaterThan(shifted.kidFloor + 5 * shifted.kidStd);
    expect(shifted.twoSampleAccuracy).toBeGreaterThan(0.85);
    expect(Math.abs(same.kid)).toBeLessThan(0.1 * shifted.kid); // KID is unbiased: ~0 on one distribution
    expect(shifted).toMatchObject({ count: 200, kidSubsetSize: 100, featureNetwork: FACE_FEATURE_NETWORK });
  });

  it('gives the same floor to every generated set of one size', () => {
    const cache = new Map();
    const a = compareFeatures(real, gaussian(rng, 100, 8), cache);
    const b = compareFeatures(real, gaussian(rng, 100, 8, 1), cache);
    expect([b.fidFloor, b.kidFloor, b.twoSampleFloor]).toEqual([a.fidFloor, a.kidFloor, a.twoSampleFloor]);
    expect(compareFeatures(real, gaussian(new Rng(9), 100, 8)).fidFloor).toBe(a.fidFloor);
  });

  it('refuses a real set without two halves of the generated count', () => {
    expect(() => compareFeatures(real.slice(0, 150), gaussian(rng, 100, 8))).toThrow('100 generated faces need 200 real ones');
  });

  it('shuffles names deterministically', () => {
    const names = Array.from({ length: 20 }, (_, i) => `f${i}.jpg`);
    expect(shuffledNames(names, 1)).toEqual(shuffledNames(names, 1));
    expect(shuffledNames(names, 1)).not.toEqual(names);
    expect([...shuffledNames(names, 1)].sort()).toEqual([...names].sort());
  });
});

describe.skipIf(!UTKFACE_DIR)('quality of faces on face descriptors (UTKFace)', () => {
  if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);
  const N = 40;
  const SIZE = 32;
  let reference: ReferenceFaces;

  beforeAll(async () => {
    await initEngine({ backend: (process.env.FAKEFACE_TEST_BACKEND as never) ?? 'auto' });
    reference = await loadReferenceFaces(UTKFACE_DIR!, { size: SIZE, count: 2 * N, seed: 1 });
  });

  /** A "generator" that maps noise through one random dense layer: images of pure noise. */
  function noiseGenerator(latentDim: number): tfl.LayersModel {
    return tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [latentDim], units: SIZE * SIZE * 3, activation: 'tanh', kernelInitializer: tfl.initializers.randomNormal({ seed: 5 }) }),
        tfl.layers.reshape({ targetShape: [SIZE, SIZE, 3] }),
      ],
    });
  }

  it('draws the same reference faces for the same seed', async () => {
    expect(reference).toMatchObject({ count: 2 * N, size: SIZE });
    expect(reference.images.length).toBe(2 * N * SIZE * SIZE * 3);
    expect(new Set(reference.files).size).toBe(2 * N);
    expect(reference.source).toMatch(/^80 faces drawn at random \(seed 1\) from the \d+ images in /);
    const again = await loadReferenceFaces(UTKFACE_DIR!, { size: SIZE, count: 8, seed: 1 });
    expect(again.files).toEqual(reference.files.slice(0, 8));
  });

  it('puts other real faces near the floor and a pure-noise generator far above it', async () => {
    const others = await loadReferenceFaces(UTKFACE_DIR!, { size: SIZE, count: N, seed: 2, exclude: new Set(reference.files) });
    expect(others.files.some((f) => reference.files.includes(f))).toBe(false);
    const real = await evaluateImages(others.images, N, reference);
    // real vs real at the same set size: the floor's own neighbourhood
    expect(real.fid).toBeLessThan(1.25 * real.fidFloor);
    expect(real.fid).toBeGreaterThan(0.8 * real.fidFloor);
    expect(Math.abs(real.kid - real.kidFloor)).toBeLessThan(3 * (real.kidStd + real.kidFloorStd));
    expect(real.twoSampleAccuracy).toBeLessThan(0.8);

    const before = tf.memory().numTensors;
    const generator = noiseGenerator(16);
    const noise = await evaluateGenerator(generator, 16, reference, { count: N, seed: 0 });
    // at N = 40 in 128-d, FID is mostly finite-sample bias: even noise is only a few floors away
    expect(noise.fid).toBeGreaterThan(2 * noise.fidFloor);
    expect(noise.kid).toBeGreaterThan(noise.kidFloor + 5 * noise.kidStd);
    expect(noise.twoSampleAccuracy).toBeGreaterThan(0.9);
    // one reference set, one floor
    expect([noise.fidFloor, noise.kidFloor, noise.twoSampleFloor]).toEqual([real.fidFloor, real.kidFloor, real.twoSampleFloor]);
    expect(noise.featureNetwork).toBe(FACE_FEATURE_NETWORK);
    console.log(`features: ${FACE_FEATURE_NETWORK}; N = ${N} at ${SIZE}x${SIZE}`);
    console.log(`real vs real: FID ${real.fid.toFixed(3)} (floor ${real.fidFloor.toFixed(3)}), KID ${real.kid.toFixed(4)}, 2-sample ${real.twoSampleAccuracy.toFixed(2)} (floor ${real.twoSampleFloor.toFixed(2)})`);
    console.log(`noise: FID ${noise.fid.toFixed(3)}, KID ${noise.kid.toFixed(4)} ± ${noise.kidStd.toFixed(4)} (floor ${noise.kidFloor.toFixed(4)}), 2-sample ${noise.twoSampleAccuracy.toFixed(2)}`);

    // the hook for --eval-every: the same numbers, as metrics.jsonl keys, and deterministic
    const evaluate = createRunEvaluator({ resolution: SIZE, latentDim: 16 }, UTKFACE_DIR!, { count: N, reference });
    const line = await evaluate(generator, 10);
    expect(Object.keys(line)).toEqual([...QUALITY_METRIC_KEYS]);
    expect(line.fid).toBe(noise.fid);
    expect(line.twoSampleAccuracy).toBe(noise.twoSampleAccuracy);
    generator.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a generator of another resolution', async () => {
    const generator = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 16 * 16 * 3 }), tfl.layers.reshape({ targetShape: [16, 16, 3] })] });
    await expect(evaluateGenerator(generator, 4, reference, { count: 4 })).rejects.toThrow('the generator makes 16x16 faces; the reference faces are 32x32');
    generator.dispose();
  });
});
