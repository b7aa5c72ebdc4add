/**
 * The probe detector's parts: the backbone (real MobileNetV2 weights from nsfwjs)
 * and its region map, the logistic fit, the range model, the verdict rules.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../src/engine/index.js';
import { BACKBONE_INPUT, loadBackbone, MAP_GRID, type Backbone } from '../src/detect/backbone.js';
import { explain, judgeFace } from '../src/detect/judge.js';
import { fitLogistic, fitRange, logisticScores } from '../src/detect/probe-fit.js';
import { rangeScore, standardise } from '../src/detect/probe.js';
import { mirrorCrop, probeScorer, readProbeFolder, type ProbeScorer } from '../src/detect/probe-classifier.js';
import { builtInDetector } from '../src/models/builtin.js';
import { Rng } from '../src/train/rng.js';

describe('backbone', () => {
  let backbone: Backbone;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
    backbone = await loadBackbone();
  }, 60_000);

  const crops = (n: number, seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => Uint8Array.from({ length: BACKBONE_INPUT * BACKBONE_INPUT * 3 }, () => rng.int(256)));
  };

  it('gives one feature vector per crop, the same for the same crop, different for another', () => {
    const [a, b] = crops(2, 1);
    const { features } = backbone.features([a!, b!, a!]);
    expect(features).toHaveLength(3);
    expect(features[0]!.length).toBe(backbone.featureLength);
    expect(Array.from(features[2]!)).toEqual(Array.from(features[0]!));
    expect(Math.max(...features[0]!.map((v, i) => Math.abs(v - features[1]![i]!)))).toBeGreaterThan(1e-3);
  });

  it("region map: the mean of the map is exactly the probe applied to the pooled features, and it varies over the face", () => {
    const rng = new Rng(3);
    const weights = Float32Array.from(rng.normals(backbone.featureLength), (w) => w * 0.01);
    const { features, maps } = backbone.features(crops(2, 2), weights);
    expect(maps).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const map = maps![i]!;
      expect(map.length).toBe(MAP_GRID * MAP_GRID);
      const mean = map.reduce((s, v) => s + v, 0) / map.length;
      const dot = features[i]!.reduce((s, v, k) => s + v * weights[k]!, 0);
      expect(mean).toBeCloseTo(dot, 3);
      expect(Math.max(...map) - Math.min(...map)).toBeGreaterThan(1e-4);
    }
  });

  it('frees its tensors', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) backbone.features(crops(1, 10 + i), new Float32Array(backbone.featureLength).fill(0.001));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses crops of the wrong size, naming the size', () => {
    expect(() => backbone.features([new Uint8Array(10)])).toThrow(/expected 224x224x3/);
  });
});

describe('test-time flip of the shipped probe', () => {
  let withFlip: ProbeScorer;
  let singleView: ProbeScorer;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
    const probe = await readProbeFolder(builtInDetector()!.dir);
    withFlip = await probeScorer(probe);
    singleView = await probeScorer(probe, { flip: false });
  }, 60_000);

  // A smooth crop that is not symmetric (noise would saturate the score): a ramp from left to right over waves.
  const crop = (() => {
    const out = new Uint8Array(BACKBONE_INPUT * BACKBONE_INPUT * 3);
    for (let y = 0; y < BACKBONE_INPUT; y++) {
      for (let x = 0; x < BACKBONE_INPUT; x++) {
        for (let k = 0; k < 3; k++) out[(y * BACKBONE_INPUT + x) * 3 + k] = Math.round(70 + (100 * x) / BACKBONE_INPUT + 40 * Math.sin((x + 30 * k) / 13) * Math.cos(y / 19));
      }
    }
    return out;
  })();
  const logit = (p: number) => Math.log(p / (1 - p));

  it('mirrors a crop left to right, and twice gives it back', () => {
    const mirrored = mirrorCrop(crop);
    expect(Array.from(mirrored.subarray(0, 3))).toEqual(Array.from(crop.subarray((BACKBONE_INPUT - 1) * 3, BACKBONE_INPUT * 3)));
    expect(Array.from(mirrorCrop(mirrored))).toEqual(Array.from(crop));
  });

  it('scores a face and its mirror image alike, from the two views the single view tells apart', () => {
    const mirrored = mirrorCrop(crop);
    const [a, b] = withFlip.analyse([crop, mirrored], true);
    const [sa, sb] = singleView.analyse([crop, mirrored], true);
    for (const p of [sa!.pFake, sb!.pFake]) expect(p > 0.001 && p < 0.999, `score ${p} is saturated`).toBe(true);
    expect(Math.abs(sa!.pFake - sb!.pFake)).toBeGreaterThan(1e-4);
    expect(a!.pFake).toBeCloseTo(b!.pFake, 5);
    // Platt scaling is monotonic: the averaged score lies between the two single views.
    expect(logit(a!.pFake)).toBeGreaterThanOrEqual(Math.min(logit(sa!.pFake), logit(sb!.pFake)) - 1e-6);
    expect(logit(a!.pFake)).toBeLessThanOrEqual(Math.max(logit(sa!.pFake), logit(sb!.pFake)) + 1e-6);
    // The mirror's map is the map mirrored.
    for (let r = 0; r < MAP_GRID; r++) {
      for (let c = 0; c < MAP_GRID; c++) expect(b!.map![r * MAP_GRID + c]!).toBeCloseTo(a!.map![r * MAP_GRID + (MAP_GRID - 1 - c)]!, 5);
    }
  });
});

describe('logistic probe and range model', () => {
  // Two Gaussian clouds in 20-d that differ along one direction.
  function clouds(n: number, seed: number) {
    const rng = new Rng(seed);
    const features: Float32Array[] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const label = i % 2;
      const f = Float32Array.from(rng.normals(20), (v, k) => v + (k === 3 ? (label ? 2 : -2) : 0) + 5);
      features.push(f);
      labels.push(label);
    }
    return { features, labels };
  }

  it('separates held-out samples it never saw', () => {
    const train = clouds(400, 1);
    const test = clouds(200, 2);
    const fit = fitLogistic(train, { l2: 1e-3, iterations: 200, learningRate: 0.05 });
    const scores = logisticScores(fit, test.features);
    const correct = scores.filter((p, i) => (p >= 0.5 ? 1 : 0) === test.labels[i]).length;
    expect(correct / scores.length).toBeGreaterThan(0.95);
    // The informative direction carries the largest weight.
    const largest = fit.weights.map(Math.abs).indexOf(Math.max(...fit.weights.map(Math.abs)));
    expect(largest).toBe(3);
  });

  it('weights samples: a heavily weighted class wins the ambiguous middle', () => {
    const train = clouds(400, 3);
    const weighted = fitLogistic({ ...train, weights: train.labels.map((l) => (l === 1 ? 10 : 1)) }, { l2: 1e-3, iterations: 200, learningRate: 0.05 });
    const even = fitLogistic(train, { l2: 1e-3, iterations: 200, learningRate: 0.05 });
    const middle = [Float32Array.from({ length: 20 }, () => 5)];
    expect(logisticScores(weighted, middle)[0]!).toBeGreaterThan(logisticScores(even, middle)[0]!);
  });

  it('range: training-like samples score low, far-off ones above the threshold', () => {
    const train = clouds(300, 4);
    const fit = fitLogistic(train, { l2: 1e-3, iterations: 50 });
    const z = train.features.map((f) => standardise(f, fit));
    const range = fitRange(z, 4, 99, rangeScore);
    const inside = clouds(100, 5).features.map((f) => rangeScore(standardise(f, fit), range));
    const flagged = inside.filter((s) => s > range.threshold).length;
    expect(flagged).toBeLessThan(10);
    const far = Float32Array.from({ length: 20 }, (_, k) => (k % 2 ? 30 : -20));
    expect(rangeScore(standardise(far, fit), range)).toBeGreaterThan(range.threshold * 5);
  });
});

describe('verdict rules', () => {
  const settings = { threshold: 0.5, minFaceSide: 40, uncertainBand: 0.1 };
  it('calls fake and real away from the threshold', () => {
    expect(judgeFace(0.9, 100, null, settings)).toEqual({ verdict: 'fake' });
    expect(judgeFace(0.1, 100, { outOfRange: false }, settings)).toEqual({ verdict: 'real' });
  });
  it('is uncertain, with the reason, for a small face, an input unlike the training data, a score near the threshold', () => {
    expect(judgeFace(0.99, 24, null, settings)).toMatchObject({ verdict: 'uncertain', reason: { code: 'face-too-small', message: expect.stringMatching(/24 pixels across; at least 40/) } });
    expect(judgeFace(0.99, 100, { outOfRange: true }, settings)).toMatchObject({ verdict: 'uncertain', reason: { code: 'out-of-range' } });
    expect(judgeFace(0.55, 100, null, settings)).toMatchObject({ verdict: 'uncertain', reason: { code: 'near-threshold' } });
  });
  it('explains in plain words, without jargon', () => {
    for (const text of [explain('fake', 0.93, null, 'the face'), explain('real', 0.8, null, 'the face'), explain('uncertain', null, judgeFace(0.5, 100, null, settings).reason!, 'x')]) {
      expect(text).not.toMatch(/AUC|p\(fake\)|--|threshold/);
    }
    expect(explain('fake', 0.93, null, 'the face')).toMatch(/93%/);
    expect(explain('real', 0.8, null, 'the face')).toMatch(/not proof/);
  });
});
