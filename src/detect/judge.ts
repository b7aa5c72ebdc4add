/**
 * From scores to verdicts: when a face is fake, real or cannot be judged, and how
 * to say so in plain words. Shared by images, video frames and whole videos.
 * @internal
 */
import type { FaceAnalysis } from './probe-classifier.js';
import type { UncertainReason, Verdict } from './types.js';

export interface JudgeSettings {
  threshold: number;
  /** Faces smaller than this (px across) are too small. 0: no limit. */
  minFaceSide: number;
  /** |p - threshold| below this is too close to call. 0: never. */
  uncertainBand: number;
}

export const NO_FACE: UncertainReason = { code: 'no-face', message: 'No face was found, so there is nothing to judge: this detector only looks at faces.' };

export function tooSmall(side: number, min: number): UncertainReason {
  return { code: 'face-too-small', message: `The face is too small to judge (${Math.round(side)} pixels across; at least ${min} are needed).` };
}

export const OUT_OF_RANGE: UncertainReason = {
  code: 'out-of-range',
  message: 'This image is unlike anything the detector was trained on (for example a drawing, a screenshot, or an unusual photo), so its score cannot be trusted.',
};

export const NEAR_THRESHOLD: UncertainReason = { code: 'near-threshold', message: 'The score is too close to the line between real and fake to call either way.' };

/** One face's verdict from its calibrated p(fake), its size and (when the classifier can tell) its range check. */
export function judgeFace(pFake: number, side: number, analysis: Pick<FaceAnalysis, 'outOfRange'> | null, s: JudgeSettings): { verdict: Verdict; reason?: UncertainReason } {
  if (s.minFaceSide > 0 && side < s.minFaceSide) return { verdict: 'uncertain', reason: tooSmall(side, s.minFaceSide) };
  if (analysis?.outOfRange) return { verdict: 'uncertain', reason: OUT_OF_RANGE };
  if (s.uncertainBand > 0 && Math.abs(pFake - s.threshold) < s.uncertainBand) return { verdict: 'uncertain', reason: NEAR_THRESHOLD };
  return { verdict: pFake >= s.threshold ? 'fake' : 'real' };
}

/** Confidence in a verdict: the calibrated probability that it is right. */
export const confidenceIn = (verdict: Verdict, pFake: number): number | null => (verdict === 'fake' ? pFake : verdict === 'real' ? 1 - pFake : null);

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The verdict in a sentence or two. `what`: "this face", "the face in this video" ... */
export function explain(verdict: Verdict, confidence: number | null, reason: UncertainReason | null, what: string): string {
  if (verdict === 'uncertain') return `Can't tell. ${reason?.message ?? ''}`.trim();
  const chance = confidence === null ? '' : ` On photos like those it was tested on, a call made this confidently is right about ${pct(confidence)} of the time.`;
  if (verdict === 'fake') return `Likely generated: ${what} shows signs of having been made by an image generator.${chance}`;
  return `No sign of a generated face: ${what} looks like a real photo to the detector.${chance} This is not proof that the photo is genuine.`;
}
