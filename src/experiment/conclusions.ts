/**
 * The paper's three conclusions about Table 1, checked against measured
 * sample quality (FID and KID on face descriptors), not against the
 * discriminator's accuracy the paper used:
 *
 *   (a) learning rate 1e-4 beats 2e-4          model1-3 vs model4-6, pair by batch size
 *   (b) LeakyReLU beats ReLU                   the same pairs: in Table 1 the learning
 *                                              rate and the activation change together
 *   (c) batch 256 is best among its peers      model2 within 1-3, model5 within 4-6
 *
 * One configuration "clearly beats" another when its FID is lower AND its KID
 * is lower by more than the two KID standard deviations added. A claim held
 * when every comparison it rests on clearly went its way, did not hold when
 * every one clearly went the other way, and is inconclusive otherwise.
 */
import type { ConfigSummary } from './summary.js';

export type Verdict = 'held' | 'did not hold' | 'inconclusive' | 'not tested';

export interface Conclusion {
  id: 'a' | 'b' | 'c';
  claim: string;
  verdict: Verdict;
  /** The comparisons and their numbers, in words. */
  evidence: string[];
  /** What limits the verdict beyond the numbers. */
  note?: string;
}

type Outcome = 'first' | 'second' | 'unclear';

interface Scored {
  name: string;
  fid: number;
  kid: number;
  kidStd: number;
}

function scored(summaries: readonly ConfigSummary[], name: string): Scored | null {
  const s = summaries.find((x) => x.name === name);
  if (!s?.quality) return null;
  const q = s.quality.quality;
  return { name, fid: q.fid, kid: q.kid, kidStd: q.kidStd };
}

/** Which of two configurations clearly has the better samples, if either. */
export function compareQuality(a: Scored, b: Scored): Outcome {
  const margin = a.kidStd + b.kidStd;
  if (a.fid < b.fid && a.kid + margin < b.kid) return 'first';
  if (b.fid < a.fid && b.kid + margin < a.kid) return 'second';
  return 'unclear';
}

const fmt = (s: Scored) => `${s.name} FID ${s.fid.toPrecision(3)}, KID ${(s.kid * 1000).toFixed(2)}±${(s.kidStd * 1000).toFixed(2)}e-3`;

function verdictOf(outcomes: Outcome[]): Verdict {
  if (!outcomes.length) return 'not tested';
  if (outcomes.every((o) => o === 'first')) return 'held';
  if (outcomes.every((o) => o === 'second')) return 'did not hold';
  return 'inconclusive';
}

function pairClaim(summaries: readonly ConfigSummary[], id: 'a' | 'b', claim: string, note: string): Conclusion {
  const pairs: [string, string][] = [
    ['model1', 'model4'],
    ['model2', 'model5'],
    ['model3', 'model6'],
  ];
  const outcomes: Outcome[] = [];
  const evidence: string[] = [];
  for (const [first, second] of pairs) {
    const a = scored(summaries, first);
    const b = scored(summaries, second);
    if (!a || !b) continue;
    const outcome = compareQuality(a, b);
    outcomes.push(outcome);
    const word = outcome === 'first' ? `${first} clearly better` : outcome === 'second' ? `${second} clearly better` : 'no clear difference';
    evidence.push(`${fmt(a)} vs ${fmt(b)}: ${word}`);
  }
  if (!outcomes.length) evidence.push('needs at least one of the pairs model1/model4, model2/model5, model3/model6');
  return { id, claim, verdict: verdictOf(outcomes), evidence, note };
}

function batchClaim(summaries: readonly ConfigSummary[]): Conclusion {
  const groups: [string, string[]][] = [
    ['model2', ['model1', 'model3']],
    ['model5', ['model4', 'model6']],
  ];
  const outcomes: Outcome[] = [];
  const evidence: string[] = [];
  for (const [middle, peers] of groups) {
    const m = scored(summaries, middle);
    const others = peers.map((p) => scored(summaries, p)).filter((p): p is Scored => p !== null);
    if (!m || others.length < peers.length) continue;
    const results = others.map((p) => compareQuality(m, p));
    // 256 best: it clearly beats both peers; not best: a peer clearly beats it.
    const outcome: Outcome = results.every((r) => r === 'first') ? 'first' : results.some((r) => r === 'second') ? 'second' : 'unclear';
    outcomes.push(outcome);
    const word = outcome === 'first' ? `${middle} clearly best` : outcome === 'second' ? `${middle} clearly beaten` : `${middle} not clearly best`;
    evidence.push(`${[m, ...others].map(fmt).join('; ')}: ${word}`);
  }
  if (!outcomes.length) evidence.push('needs model1, model2, model3 or model4, model5, model6');
  return {
    id: 'c',
    claim: 'batch size 256 gives the best results among its peers (model2 among 1-3, model5 among 4-6)',
    verdict: verdictOf(outcomes),
    evidence,
    note: 'At a fixed number of iterations a larger batch also means more images seen, so batch size and training length are confounded, in the paper as here.',
  };
}

/** Checks the paper's conclusions (a), (b), (c) against the summaries' quality numbers. */
export function checkConclusions(summaries: readonly ConfigSummary[]): Conclusion[] {
  const confound =
    'In Table 1 the learning rate and the activation change together (models 1-3: 1e-4 with LeakyReLU; models 4-6: 2e-4 with ReLU), ' +
    'so (a) and (b) rest on the same three comparisons and cannot be told apart by these six configurations.';
  return [
    pairClaim(summaries, 'a', 'learning rate 1e-4 beats 2e-4 (models 1-3 vs 4-6)', confound),
    pairClaim(summaries, 'b', 'LeakyReLU beats ReLU (models 1-3 vs 4-6)', 'The same three comparisons as (a): see the note there.'),
    batchClaim(summaries),
  ];
}
