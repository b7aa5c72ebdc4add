/**
 * The parts of an answer the Check page and the History page both show: the
 * verdict card in plain words, the faces table, and the technical details.
 */
import type { CheckRef, DetectorInfo, FaceResult, ImageDetection, Verdict } from '../api.js';
import type { UncertainReason } from '../../../src/detect/types.js';
import { formatWhen, h, percent, uid } from '../dom.js';
import { aboutDetector, howToRead, plainExplanation, VERDICT_TEXT } from '../../../src/report/verdict-words.js';

export interface VerdictCardInput {
  verdict: Verdict;
  reason: UncertainReason | null;
  confidence: number | null;
  explanation: string;
  detector: DetectorInfo;
  /** The whole-image score when no face was found and it was asked for (images only). */
  wholeImage: ImageDetection['wholeImage'];
  /** A button to offer under the answer (e.g. score the whole image). */
  action: HTMLElement | null;
  /** Seconds the reader waited; null for an answer re-opened from history. */
  elapsedMs: number | null;
  ms: number;
  /** Its place in the history of checks, when the server keeps one. */
  check?: CheckRef;
}

/**
 * The answer in plain words: the verdict, why when it cannot tell, what it means,
 * how sure it is and how to read that, and what the detector can and cannot do.
 * Technical names and numbers (detector name, threshold) live in technicalDetails.
 */
export function verdictCard(input: VerdictCardInput): HTMLElement {
  const { verdict, reason, confidence, detector } = input;
  const about = aboutDetector(detector);
  const labelId = uid('verdict');
  const card = h(
    'section',
    { class: `card verdict verdict-${verdict}`, 'data-testid': 'verdict-card', 'aria-labelledby': labelId },
    h('p', { class: 'verdict-label', id: labelId, 'data-testid': 'verdict', 'data-verdict': verdict }, VERDICT_TEXT[verdict]),
  );
  if (reason) card.append(h('p', { class: 'verdict-reason', 'data-testid': 'verdict-reason', 'data-code': reason.code }, reason.message));
  const whole = input.wholeImage;
  if (whole && whole.verdict !== 'uncertain' && whole.verdict === verdict) {
    card.append(h('p', { class: 'whole-image', 'data-testid': 'whole-image' }, `No face was found, so the whole image was judged: it looks ${percent(whole.pFake)} likely to be generated.`));
  }
  const explanation = plainExplanation(input.explanation, reason);
  if (explanation) card.append(h('p', { class: 'explanation', 'data-testid': 'explanation' }, explanation));
  if (confidence !== null) {
    card.append(h('p', { class: 'confidence' }, h('meter', { min: 0.5, max: 1, value: confidence, 'aria-label': 'confidence' }), ` Confidence ${percent(confidence)}`));
  }
  if (input.action) card.append(h('p', {}, input.action));
  card.append(
    h('div', { class: 'how-to-read', 'data-testid': 'how-to-read' }, h('p', { class: 'card-subhead' }, 'How to read this'), h('p', {}, howToRead(verdict, confidence, about))),
    h('div', { class: 'limits', 'data-testid': 'limits' }, h('p', { class: 'card-subhead' }, 'What this detector cannot tell'), h('ul', {}, ...about.limits.map((limit) => h('li', {}, limit)))),
    h(
      'details',
      { class: 'about', 'data-testid': 'about-detector' },
      h('summary', {}, 'About this detector'),
      h('p', {}, about.summary),
      h('dl', { class: 'about-facts' }, h('dt', {}, 'Trained on'), h('dd', {}, about.trainedOn), h('dt', {}, 'Tested on photos and fakes it never saw'), h('dd', {}, about.outsideResults), h('dt', {}, 'Confidence'), h('dd', {}, about.calibratedOn)),
    ),
  );
  if (input.elapsedMs !== null) card.append(h('p', { class: 'hint' }, `Answered in ${(input.elapsedMs / 1000).toFixed(1)} s.`));
  if (input.check) card.append(historyNote(input.check));
  return card;
}

/** The names and numbers behind the answer, for people who want them. */
export function technicalDetails(detector: DetectorInfo, note: string | undefined): HTMLElement {
  return h(
    'details',
    { class: 'card technical', 'data-testid': 'technical' },
    h('summary', {}, 'Technical details'),
    h('p', { class: 'decided-by', 'data-testid': 'detector' }, 'Decided by ', h('strong', {}, detector.name), ` — ${detectorKind(detector)}; a face counts as fake at p(fake) ≥ ${detector.threshold.toFixed(2)}.`),
    h('p', { class: 'hint' }, `Source: ${detector.source}; it reads faces at ${detector.inputSize}×${detector.inputSize} pixels.`),
    note ? h('p', { class: 'hint' }, `Note: ${note}.`) : null,
  );
}

/** What kind of classifier decided, in words: the built-in detector's source is `builtin:<name>`. */
function detectorKind(detector: DetectorInfo): string {
  if (detector.kind === 'discriminator') return "a GAN run's discriminator";
  return detector.source.startsWith('builtin:') ? 'the built-in detector that ships with fakeface' : 'a trained detector';
}

export function facesTable(faces: FaceResult[]): HTMLElement {
  const table = h(
    'table',
    { 'data-testid': 'faces' },
    h('caption', {}, `${faces.length} face${faces.length === 1 ? '' : 's'} found`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Face'), h('th', { scope: 'col' }, 'Verdict'), h('th', { scope: 'col' }, 'Looks generated'))),
    h(
      'tbody',
      {},
      ...faces.map((face, i) =>
        h(
          'tr',
          // Focusable, so the keyboard can light up the face's box as the mouse does.
          { 'data-verdict': face.verdict, 'data-face': i, tabindex: 0 },
          h('td', {}, String(i + 1)),
          h(
            'td',
            { class: 'wrap' },
            h('span', { class: `badge badge-${face.verdict}` }, VERDICT_TEXT[face.verdict]),
            // With one face its reason is the verdict card's; with several, each says its own.
            face.reason && faces.length > 1 ? h('span', { class: 'face-reason', 'data-testid': 'face-reason' }, face.reason.message) : null,
          ),
          h('td', {}, percent(face.pFake)),
        ),
      ),
    ),
  );
  return h('div', { class: 'table-scroll' }, table);
}

/** Where the answer sits in History: remembered now, or given back from an earlier check of the same file. */
function historyNote(check: CheckRef): HTMLElement {
  const link = h('a', { href: `#/history/${check.id}` }, 'History');
  if (check.fromHistory) {
    return h(
      'p',
      { class: 'history-note from-history', 'data-testid': 'history-note', 'data-from-history': 'true' },
      h('strong', {}, 'Checked before. '),
      `This exact file was checked on ${formatWhen(check.checkedAt)}; this is that answer, not a new analysis. See it in `,
      link,
      '.',
    );
  }
  return h('p', { class: 'history-note hint', 'data-testid': 'history-note', 'data-from-history': 'false' }, 'Saved in ', link, ' (the answer, not the file).');
}
