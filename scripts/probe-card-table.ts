/**
 * Prints the measured numbers of a probe detector's card (probe.json) as Markdown
 * tables, so that the README and models/README.md quote the card, not a hand copy.
 *
 *   npx tsx scripts/probe-card-table.ts [models/detector-probe/probe.json]
 */
import { readFileSync } from 'node:fs';
import type { MeasuredSummary, ProbeCard } from '../src/detect/probe-classifier.js';

const file = process.argv[2] ?? 'models/detector-probe/probe.json';
const { card } = JSON.parse(readFileSync(file, 'utf8')) as { card: ProbeCard & { measured: { leaveOneSetOut?: Record<string, MeasuredSummary> } } };

const num = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(3).replace(/^0\./, '0.'));
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${Math.round(x * 100)}%`);
const reasons = (s: MeasuredSummary) =>
  Object.entries(s.reasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

console.log('| set | photos (real + fake) | AUC | accuracy at threshold | accuracy of decided | TPR at 5% FPR | uncertain | why uncertain |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [set, entry] of Object.entries(card.measured.test)) {
  const s = entry['pipeline/clean'];
  if (!s) continue;
  console.log(`| ${set} | ${s.real} + ${s.fake} | ${num(s.auc)} | ${num(s.accuracy)} | ${num(s.accuracyDecided)} | ${num(s.tprAt5Fpr)} | ${pct(s.uncertain)} | ${reasons(s)} |`);
}

// Only the conditions the card holds (a measurement may leave some out).
const conditions = ['pipeline/clean', 'pipeline/jpeg50', 'pipeline/half-resolution', 'pipeline/half-resolution+jpeg50', 'crop/clean', 'crop/half-resolution+jpeg50'].filter((c) =>
  Object.values(card.measured.test).some((entry) => entry[c] !== undefined),
);
console.log(`\n| set: AUC (uncertain) | ${conditions.join(' | ')} |`);
console.log(`|---|${conditions.map(() => '---').join('|')}|`);
for (const [set, entry] of Object.entries(card.measured.test)) {
  console.log(`| ${set} | ${conditions.map((c) => (entry[c] ? `${num(entry[c]!.auc)} (${pct(entry[c]!.uncertain)})` : '–')).join(' | ')} |`);
}

const loso = card.measured.leaveOneSetOut ?? {};
if (Object.keys(loso).length) {
  console.log('\n| set left out of training and calibration | AUC | accuracy at threshold | TPR at 5% FPR |');
  console.log('|---|---|---|---|');
  for (const [set, s] of Object.entries(loso)) console.log(`| ${set} | ${num(s.auc)} | ${num(s.accuracy)} | ${num(s.tprAt5Fpr)} |`);
}
