/**
 * A verdict in the words people read it in: the three answers, how to read them,
 * and what a detector can and cannot tell. Shared by the web app's Check page and
 * the check report (./check-report.ts), so both say the same. No Node imports.
 */
import type { DetectorAbout, DetectorInfo, UncertainReason, Verdict } from '../detect/types.js';

/** The three answers, in the words a fact-checker would use. */
export const VERDICT_TEXT: Record<Verdict, string> = {
  fake: 'Likely fake',
  real: 'No sign of a fake',
  uncertain: "Can't tell",
};

/** The explanation without what the card already says (an uncertain one is "Can't tell." plus the reason). */
export function plainExplanation(explanation: string, reason: UncertainReason | null): string {
  let text = explanation.trim();
  if (reason) text = text.replace(reason.message, '').trim();
  return /^can't tell\.?$/i.test(text) || text === '' ? '' : text;
}

/** How to read the answer and its confidence, and why it is no proof. */
export function howToRead(verdict: Verdict, confidence: number | null, about: DetectorAbout): string {
  const notProof = '"No sign of a fake" is not proof that a photo is genuine: it only means the detector found nothing that looks generated. Treat any answer as one clue beside the source, the date and other copies of the picture.';
  if (verdict === 'uncertain' || confidence === null) {
    return `"Can't tell" means the detector could not judge this file fairly, so it gives no confidence; it is no hint either way. ${notProof}`;
  }
  const inHundred = Math.round(confidence * 100);
  return `Confidence is the chance that this answer is right: of many answers given with ${inHundred}% confidence, about ${inHundred} in 100 were right. ${about.calibratedOn} ${notProof}`;
}

/** The detector's own plain-words card, or what can honestly be said of one that has none (a run's discriminator, an older detector). */
export function aboutDetector(detector: DetectorInfo): DetectorAbout {
  if (detector.about) return detector.about;
  const gan = detector.kind === 'discriminator';
  return {
    summary: gan
      ? 'The judge half of a face generator trained with fakeface (the approach of the original paper): it learned to tell its own generator\'s faces from real photos.'
      : 'A detector trained with fakeface to tell real faces from generated ones.',
    trainedOn: gan ? 'The real photos of its training run and the faces its own generator made.' : 'Real face photos and faces made by fakeface\'s own generators.',
    outsideResults: 'Not measured on photos and fakes made by others.',
    limits: [
      'It looks only at faces; a photo without a face cannot be judged.',
      'It learned from faces made by fakeface\'s own generators; fakes from other generators (diffusion models, face swaps) may pass as real.',
      'A "no sign of a fake" result means it found no sign of a fake, not that the photo is genuine.',
    ],
    calibratedOn: 'Its confidence is not calibrated on outside data, so read it as a rough score.',
  };
}
