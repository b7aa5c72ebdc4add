/**
 * Frame scores -> one p(fake) for a video, with the "confident strategy" of the
 * Deepfake Detection Challenge's winning entry (Seferbekov, 2020,
 * github.com/selimsef/dfdc_deepfake_challenge, kernel_utils.confident_strategy):
 *
 *   n = frames with a face; each frame's score is its most suspicious face's p(fake)
 *   1. if more than n / 2.5 frames (40%) score > 0.8: p = mean of those frames
 *      (a fake is often fake in some frames only; averaging them with the rest
 *       would dilute the evidence)
 *   2. else if more than 90% of frames score < 0.2: p = mean of those frames
 *   3. else: p = mean of all frames
 *
 * The original also requires more than 11 confident frames in step 1, sized for
 * its 32 frames per clip; fakeface samples a few frames per second (a 5 s clip at
 * 2 fps gives 10), so only the 40% share is kept.
 */
export const CONFIDENT_FAKE = 0.8;
export const CONFIDENT_REAL = 0.2;
const FAKE_SHARE = 1 / 2.5;
const REAL_SHARE = 0.9;

export type AggregationStrategy = 'confident-fake' | 'confident-real' | 'mean';

export interface Aggregate {
  pFake: number;
  strategy: AggregationStrategy;
  /** Indices (into the scores) of the frames the mean was taken over. */
  used: number[];
  /** The rule as it applied, in words. */
  rule: string;
}

const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

/** The video's p(fake) from its frames' scores, or null when there are none. */
export function aggregateFrameScores(scores: readonly number[]): Aggregate | null {
  const n = scores.length;
  if (n === 0) return null;
  const all = scores.map((_, i) => i);
  const fakes = all.filter((i) => scores[i]! > CONFIDENT_FAKE);
  const reals = all.filter((i) => scores[i]! < CONFIDENT_REAL);
  const frames = (k: number) => `${k} of ${n} frame${n === 1 ? '' : 's'} with a face`;
  if (fakes.length > n * FAKE_SHARE) {
    return {
      pFake: mean(fakes.map((i) => scores[i]!)),
      strategy: 'confident-fake',
      used: fakes,
      rule: `confident strategy (DFDC): ${frames(fakes.length)} score p(fake) > ${CONFIDENT_FAKE} (more than 40%), so p(fake) is their mean`,
    };
  }
  if (reals.length > n * REAL_SHARE) {
    return {
      pFake: mean(reals.map((i) => scores[i]!)),
      strategy: 'confident-real',
      used: reals,
      rule: `confident strategy (DFDC): ${frames(reals.length)} score p(fake) < ${CONFIDENT_REAL} (more than 90%), so p(fake) is their mean`,
    };
  }
  return {
    pFake: mean([...scores]),
    strategy: 'mean',
    used: all,
    rule: `confident strategy (DFDC): neither 40% of frames confidently fake (> ${CONFIDENT_FAKE}) nor 90% confidently real (< ${CONFIDENT_REAL}), so p(fake) is the mean over all ${n} frame${n === 1 ? '' : 's'} with a face`,
  };
}
