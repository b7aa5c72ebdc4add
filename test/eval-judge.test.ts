// The age and gender judge of conditional generators (src/eval/judge.ts): its arithmetic,
// and that face-api's net agrees with the labels of real UTKFace photos (so the check itself is checked).
import { beforeAll, describe, expect, it } from 'vitest';
import { conditionOf, type FaceCondition } from '../src/data/conditions.js';
import { parseUtkfaceName } from '../src/data/labels.js';
import { initEngine } from '../src/engine/index.js';
import { ageBucketError, judgeConditioning, judgeLabels, predictAgeGender } from '../src/eval/judge.js';
import { loadReferenceFaces } from '../src/eval/quality.js';
import { UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);

describe('judge arithmetic', () => {
  it('measures age error as the distance to the bucket and gender match as a share, overall and per group', () => {
    expect([ageBucketError(65, 5), ageBucketError(55, 5), ageBucketError(90, 5), ageBucketError(20, 2)]).toEqual([0, 5, 10, 0]);
    const labels: FaceCondition[] = [
      { ageBucket: 5, gender: 1, race: 0 },
      { ageBucket: 5, gender: 1, race: 2 },
      { ageBucket: 2, gender: 0, race: 1 },
      { ageBucket: 2, gender: 0, race: 1 },
    ];
    const judged = judgeLabels(
      [
        { age: 70, gender: 1, genderProbability: 0.9 },
        { age: 50, gender: 0, genderProbability: 0.6 },
        { age: 25, gender: 0, genderProbability: 0.99 },
        { age: 40, gender: 0, genderProbability: 0.8 },
      ],
      labels,
    );
    expect(judged).toMatchObject({ count: 4, genderMatch: 0.75, ageError: (0 + 10 + 0 + 10) / 4 });
    expect(judged.byGender).toEqual({ male: { count: 2, genderMatch: 1, ageError: 5 }, female: { count: 2, genderMatch: 0.5, ageError: 5 } });
    expect(Object.keys(judged.byAgeBucket)).toEqual(['20-30', '60-80']);
    expect(() => judgeLabels([], labels)).toThrow(/0 predictions for 4 labels/);
  });
});

(UTKFACE_DIR ? describe : describe.skip)('face-api age and gender net on real labelled UTKFace photos', () => {
  let photos: Float32Array[];
  let labels: FaceCondition[];
  let ages: number[];
  const size = 64; // what `fakeface eval` shows it: the generators' resolution
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
    const reference = await loadReferenceFaces(UTKFACE_DIR!, { size, count: 60, seed: 3 });
    const imageSize = size * size * 3;
    photos = [];
    labels = [];
    ages = [];
    reference.files.forEach((file, i) => {
      const parsed = parseUtkfaceName(file);
      const label = conditionOf(parsed);
      if (!label) return;
      photos.push(reference.images.subarray(i * imageSize, (i + 1) * imageSize));
      labels.push(label);
      ages.push(parsed!.age);
    });
  }, 120_000);

  it('agrees with their gender and age labels, and disagrees with wrong ones', async () => {
    const predictions = await predictAgeGender(photos, size);
    expect(predictions).toHaveLength(photos.length);
    const judged = judgeLabels(predictions, labels);
    expect(judged.genderMatch).toBeGreaterThanOrEqual(0.8);
    expect(judged.ageError).toBeLessThan(10);
    // Predicted ages follow the true ones (Pearson correlation).
    const predicted = predictions.map((p) => p.age);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const [mp, mt] = [mean(predicted), mean(ages)];
    const cov = predicted.reduce((sum, p, i) => sum + (p - mp) * (ages[i]! - mt), 0);
    const correlation = cov / Math.sqrt(predicted.reduce((s, p) => s + (p - mp) ** 2, 0) * ages.reduce((s, t) => s + (t - mt) ** 2, 0));
    expect(correlation).toBeGreaterThan(0.6);
    // The same photos judged against swapped genders and far-off ages: the judge notices.
    const wrong = labels.map((l) => ({ ...l, gender: 1 - l.gender, ageBucket: l.ageBucket >= 4 ? 0 : 6 }));
    const against = judgeLabels(predictions, wrong);
    expect(against.genderMatch).toBeLessThanOrEqual(0.2);
    expect(against.ageError).toBeGreaterThan(judged.ageError + 10);
  });

  it('reports generated beside real: real photos as their own "generated" faces score as the floor, ratio 1', async () => {
    const report = await judgeConditioning(photos, photos, labels, size);
    expect(report.generated).toEqual(report.real);
    expect(report.ageErrorRatio).toBeCloseTo(1, 10);
    expect(report.network).toMatch(/^face-api ageGenderNet/);
  });
});
