/**
 * Refits a probe detector's calibration for the scorer `detect` runs (with the
 * test-time flip): Platt scaling, the threshold and the "uncertain" band, on the
 * outside sets' calibration photos only (the photos scripts/train-probe-detector.ts
 * calibrates on: same split by name hash, same random degradation per photo, the
 * face box found on the undegraded photo). The probe's weights are not touched, and
 * no test photo is read.
 *
 *   npx tsx scripts/calibrate-probe-detector.ts [--detector models/detector-probe] [--write]
 *       [--target-uncertain 0.2]
 *
 * The band: the narrowest band around the threshold (in calibrated p(fake)) that
 * leaves at most --target-uncertain of the calibration photos undecided and, within
 * that, the one whose decided photos are called right most often (ties: the
 * narrower). It prints, for the single view and the flip, the calibration AUC and
 * the accuracy of decided photos per band, so the choice can be checked.
 * Then run scripts/measure-probe-detector.ts --write for the card's test numbers.
 */
import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/index.js';
import { applyPlatt, balancedAccuracyThreshold, fitPlatt, rocAuc } from '../src/detect/metrics.js';
import { PROBE_FILE, probeScorer, readProbeFolder } from '../src/detect/probe-classifier.js';
import { originalBox } from '../src/detect/probe-features.js';
import { outsideSets } from '../src/detect/probe-sources.js';
import { backboneCrop, degradeImage, randomDegradation, wholeImageBox } from '../src/detect/probe-views.js';
import { loadBackbone } from '../src/detect/backbone.js';
import { decodeRgb } from '../src/faces/image.js';
import { Rng } from '../src/train/rng.js';

const { values: args } = parseArgs({
  options: {
    detector: { type: 'string', default: 'models/detector-probe' },
    outside: { type: 'string', default: 'data/outside' },
    cache: { type: 'string', default: '.cache/probe' },
    'per-class': { type: 'string', default: '300' },
    'target-uncertain': { type: 'string', default: '0.2' },
    write: { type: 'boolean', default: false },
  },
});
const started = Date.now();
const log = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}`);
const targetUncertain = Number(args['target-uncertain']);

await initEngine({ backend: 'wasm' });
const detectorDir = resolve(args.detector);
const probe = await readProbeFolder(detectorDir);
const margin = probe.card.cropMargin;
const outside = await outsideSets(args.outside, Number(args['per-class']));
if (outside.sets.length === 0) {
  console.log(`calibrate-probe-detector: no outside sets at ${args.outside}; run node scripts/outside-data.mjs first`);
  process.exit(0);
}
const photos = outside.images.filter((i) => i.split === 'calibration');
log(`${photos.length} calibration photos from ${outside.sets.map((s) => s.name).join(', ')}`);

// The raw (uncalibrated) probe probability of each photo, for both scorers.
const identity = { ...probe, platt: { a: 1, b: 0 } };
const rawFlip = await probeScorer(identity);
const rawSingle = await probeScorer(identity, { flip: false });
const cache = { dir: resolve(args.cache, 'features'), margin, backbone: await loadBackbone() };
const scores = { single: [] as number[], flip: [] as number[] };
const labels: number[] = [];
let done = 0;
for (const image of photos) {
  // The training script's calibration view of this photo: its rng, its box, its one random degradation.
  const rng = new Rng(createHash('sha1').update(image.file).digest().readUInt32BE(0));
  const box = await originalBox(image.file, cache);
  const side = box ? Math.max(box.width, box.height) : 200;
  const how = randomDegradation(rng, side);
  const original = await decodeRgb(image.file);
  const { image: degraded, box: degradedBox } = await degradeImage(original, box ?? wholeImageBox(original), how) // no face found: the whole photo, as in training;
  const crop = await backboneCrop(degraded, degradedBox, margin);
  scores.flip.push(rawFlip.analyse([crop], false)[0]!.pFake);
  scores.single.push(rawSingle.analyse([crop], false)[0]!.pFake);
  labels.push(image.label);
  if (++done % 100 === 0) log(`${done} / ${photos.length}`);
}

interface Calibration {
  platt: { a: number; b: number };
  threshold: number;
  band: number;
  auc: number | null;
  table: string[];
}
function calibrate(raw: number[]): Calibration {
  const platt = fitPlatt(raw, labels);
  const p = raw.map((x) => applyPlatt(x, platt));
  const threshold = balancedAccuracyThreshold(p, labels, 0.5);
  const table: string[] = [];
  let choice = { band: 0, accuracy: -1 };
  for (let band = 0; band <= 0.3 + 1e-9; band += 0.01) {
    const decided = p.map((x, i) => ({ x, label: labels[i]! })).filter((s) => Math.abs(s.x - threshold) >= band);
    const uncertain = 1 - decided.length / p.length;
    const accuracy = decided.filter((s) => (s.x >= threshold ? 1 : 0) === s.label).length / Math.max(1, decided.length);
    table.push(`band ${band.toFixed(2)}: uncertain ${(uncertain * 100).toFixed(1)}%, decided right ${(accuracy * 100).toFixed(1)}%`);
    if (uncertain <= targetUncertain + 1e-9 && accuracy > choice.accuracy + 1e-9) choice = { band: Math.round(band * 100) / 100, accuracy };
  }
  return { platt, threshold, band: choice.band, auc: rocAuc(raw, labels), table };
}

const results = { single: calibrate(scores.single), flip: calibrate(scores.flip) };
for (const [name, c] of Object.entries(results)) {
  log(`${name}: calibration AUC ${c.auc?.toFixed(3)} on ${labels.length} photos (${labels.filter((l) => l === 1).length} fake); platt a=${c.platt.a.toFixed(3)} b=${c.platt.b.toFixed(3)}; threshold ${c.threshold.toFixed(3)}; band ${c.band}`);
  for (const line of c.table.filter((_, i) => i % 2 === 0)) console.log(`    ${line}`);
}
log(`in the card now: platt a=${probe.platt.a.toFixed(3)} b=${probe.platt.b.toFixed(3)}, threshold ${probe.threshold.toFixed(3)}, band ${probe.uncertainBand}`);

if (args.write) {
  const chosen = results.flip;
  const file = join(detectorDir, PROBE_FILE);
  const card = {
    ...probe.card,
    training: {
      ...probe.card.training,
      calibration: `Platt scaling, threshold (best balanced accuracy) and uncertain band (at most ${targetUncertain * 100}% of calibration photos undecided, the most accurate such band) refitted for the test-time flip on the outside sets' ${labels.length} calibration photos only, by npx tsx scripts/calibrate-probe-detector.ts ${process.argv.slice(2).join(' ')} on ${new Date().toISOString().slice(0, 10)}`,
    },
  };
  const written = `${file}.tmp-${process.pid}`;
  await writeFile(written, JSON.stringify({ ...probe, platt: chosen.platt, threshold: chosen.threshold, uncertainBand: chosen.band, card }));
  await rename(written, file);
  log(`wrote ${file}`);
}
