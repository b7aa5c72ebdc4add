/**
 * Trains, measures and writes the built-in probe detector (models/detector-probe/).
 *
 *   node scripts/outside-data.mjs                  # rebuild the outside sets from their mirrors
 *   npx tsx scripts/train-probe-detector.ts [--outside data/outside] [--utkface ../shared/data/utkface-crop_part1]
 *       [--out models/detector-probe] [--per-class 300] [--utk 400] [--own 450] [--cache .cache/probe]
 *   npx tsx scripts/train-probe-detector.ts --warm-cache-reverse   # optional, beside it: fills the feature cache from the far end
 *   npx tsx scripts/train-probe-detector.ts --warm-cache-from 0.5  # or forward from half-way
 *
 * 1. Sources (src/detect/probe-sources.ts): outside GAN and diffusion fakes and
 *    outside real photos, UTKFace photos, the built-in generator's faces; each photo
 *    falls into train / calibration / test by a hash of its name.
 * 2. Training views: every training photo twice, each time degraded at random
 *    (shrunk, JPEG, blur, flip; src/detect/probe-views.ts), cut around the face box
 *    found on the photo; the backbone's features of each cut.
 * 3. A logistic probe on those features, each source weighted alike within its class.
 * 4. Calibration on the outside sets' calibration photos only (one random degradation
 *    each): Platt scaling, then the threshold of best
 *    balanced accuracy; the range model's threshold at the 99th percentile.
 * 5. Measured on the test photos, never seen by 2-4, through the whole pipeline (faces
 *    found on the degraded photo, as `detect` does) and on crops, clean and after JPEG 50,
 *    half resolution and both; and again with each outside set left out of training and
 *    calibration altogether (its generator unseen).
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/index.js';
import { BACKBONE_INPUT, BACKBONE_NAME, loadBackbone } from '../src/detect/backbone.js';
import { balancedAccuracyThreshold, fitPlatt, applyPlatt, rocAuc } from '../src/detect/metrics.js';
import { fitLogistic, fitRange, logisticScores, packProbe, type LogisticFit } from '../src/detect/probe-fit.js';
import { faceFeatures, originalBox, type FaceFeatures } from '../src/detect/probe-features.js';
import { familyOf, outsideSets, ownAndUtkfaceSources, type SourceImage } from '../src/detect/probe-sources.js';
import { randomDegradation, ROBUSTNESS, type Degradation } from '../src/detect/probe-views.js';
import { rangeScore, standardise, type ProbeWeights } from '../src/detect/probe.js';
import { evaluationSets, pipelineTestPhotos, summarise, type ScoredView } from '../src/detect/probe-measure.js';
import { Rng } from '../src/train/rng.js';

const { values: args } = parseArgs({
  options: {
    outside: { type: 'string', default: 'data/outside' },
    utkface: { type: 'string', default: '../shared/data/utkface-crop_part1' },
    out: { type: 'string', default: 'models/detector-probe' },
    cache: { type: 'string', default: '.cache/probe' },
    'per-class': { type: 'string', default: '300' },
    utk: { type: 'string', default: '400' },
    own: { type: 'string', default: '450' },
    l2: { type: 'string', default: '0.003' },
    margin: { type: 'string', default: '0.15' },
    'skip-loso': { type: 'boolean', default: false },
    'pipeline-tests': { type: 'string', default: '50' },
    'warm-cache-reverse': { type: 'boolean', default: false },
    'warm-cache-from': { type: 'string' },
  },
});
const MARGIN = Number(args.margin);
const MIN_FACE = 40;
const UNCERTAIN_BAND = 0.1;
const RANGE_PERCENTILE = 99;
const RANGE_COMPONENTS = 16;
const L2 = Number(args.l2);
/** Test photos per source that go through the whole pipeline under every condition. */
const PIPELINE_TESTS = Number(args['pipeline-tests']);

const started = Date.now();
const log = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}`);

await initEngine({ backend: 'wasm' });
const backbone = await loadBackbone();
const cache = { dir: resolve(args.cache, 'features'), margin: MARGIN, backbone };

// 1. Sources.
const outside = await outsideSets(args.outside, Number(args['per-class']));
const { own, utk } = await ownAndUtkfaceSources({ utkface: args.utkface, cache: resolve(args.cache), own: Number(args.own), utk: Number(args.utk) });
const images: SourceImage[] = [...outside.images, ...own, ...utk];
log(`sources: ${outside.sets.map((s) => `${s.name} (${s.real} real, ${s.fake} fake)`).join(', ')}; own ${own.length}; utkface ${utk.length}`);
const bySplit = (split: string) => images.filter((i) => i.split === split);
log(`splits: train ${bySplit('train').length}, calibration ${bySplit('calibration').length}, test ${bySplit('test').length}`);

// 2. Features.
interface View {
  image: SourceImage;
  condition: string;
  mode: 'pipeline' | 'crop' | 'box';
  result: FaceFeatures;
}
const views: View[] = [];
let done = 0;
// The whole pipeline finds the face on each degraded photo (~0.5 s each): for the first PIPELINE_TESTS test photos of each source.
const pipelineTests = pipelineTestPhotos(images, PIPELINE_TESTS);
async function viewsOf(image: SourceImage): Promise<View[]> {
  // Seeded by the file's name: the same views (and cache entries) whatever else is in the run.
  const rng = new Rng(createHash('sha1').update(image.file).digest().readUInt32BE(0));
  const plan: { condition: string; how: Degradation; mode: View['mode'] }[] = [];
  let box = null;
  if (image.split === 'test') {
    plan.push({ condition: 'clean', how: ROBUSTNESS.clean!, mode: 'crop' });
    plan.push({ condition: 'half-resolution+jpeg50', how: ROBUSTNESS['half-resolution+jpeg50']!, mode: 'crop' });
    if (pipelineTests.has(image)) for (const [condition, how] of Object.entries(ROBUSTNESS)) plan.push({ condition, how, mode: 'pipeline' });
  } else {
    box = await originalBox(image.file, cache);
    const side = box ? Math.max(box.width, box.height) : 200;
    const count = image.split === 'train' ? 2 : 1;
    for (let k = 0; k < count; k++) plan.push({ condition: `random-${k + 1}`, how: randomDegradation(rng, side), mode: 'box' });
  }
  const out: View[] = [];
  for (const p of plan) out.push({ image, condition: p.condition, mode: p.mode, result: await faceFeatures(image.file, p.how, p.mode, cache, box) });
  return out;
}
if (args['warm-cache-reverse'] || args['warm-cache-from']) {
  // Helper processes fill the feature cache from the far end, or forward from a point
  // part-way (the wasm backend runs on one core); the main run finds those entries when it gets there.
  const from = Math.floor(Number(args['warm-cache-from'] ?? 0) * images.length);
  for (const image of args['warm-cache-reverse'] ? [...images].reverse() : images.slice(from)) {
    await viewsOf(image);
    if (++done % 100 === 0) log(`warm: ${done} / ${images.length} photos`);
  }
  log('warm: done');
  process.exit(0);
}
for (const image of images) {
  views.push(...(await viewsOf(image)));
  if (++done % 100 === 0) log(`features: ${done} / ${images.length} photos`);
}
log(`features: ${views.length} views of ${images.length} photos`);

// 3-4. Fit and calibrate.
type Sample = { features: Float32Array; label: number; weight: number };
function trainingSamples(exclude: string | null): Sample[] {
  const train = views.filter((v) => v.image.split === 'train' && v.image.set !== exclude && v.result.faces.length > 0);
  const perSource = new Map<string, number>();
  for (const v of train) perSource.set(v.image.source, (perSource.get(v.image.source) ?? 0) + 1);
  const sourcesPerClass = [0, 1].map((label) => new Set(train.filter((v) => v.image.label === label).map((v) => v.image.source)).size);
  return train.map((v) => ({
    features: v.result.faces[0]!.features,
    label: v.image.label,
    // Each class weighs the same, and each source the same within its class.
    weight: 1 / (perSource.get(v.image.source)! * sourcesPerClass[v.image.label]!),
  }));
}

interface Fitted {
  fit: LogisticFit;
  platt: { a: number; b: number };
  threshold: number;
}
function fitAll(exclude: string | null): Fitted {
  const samples = trainingSamples(exclude);
  const fit = fitLogistic({ features: samples.map((s) => s.features), labels: samples.map((s) => s.label), weights: samples.map((s) => s.weight) }, { l2: L2, iterations: 300 });
  const calibration = views.filter((v) => v.image.split === 'calibration' && v.image.set !== exclude && v.image.set !== 'own' && v.image.set !== 'utkface' && v.result.faces.length > 0);
  const raw = calibration.map((v) => Math.max(...logisticScores(fit, v.result.faces.map((f) => f.features))));
  const labels = calibration.map((v) => v.image.label);
  const platt = fitPlatt(raw, labels);
  const calibrated = raw.map((p) => applyPlatt(p, platt));
  const threshold = balancedAccuracyThreshold(calibrated, labels, 0.5);
  if (exclude === null) log(`calibration photos (outside sets, never trained on): AUC ${rocAuc(raw, labels)?.toFixed(3)} on ${raw.length}`);
  return { fit, platt, threshold };
}

// 5. Measure.
type Scored = ScoredView;
function scoreView(v: View, fitted: Fitted, range: ProbeWeights['range'] | null): Scored {
  if (v.result.faces.length === 0) return { label: v.image.label, p: null, reason: 'no-face' };
  let best = -1;
  let bestFace = v.result.faces[0]!;
  for (const face of v.result.faces) {
    const p = applyPlatt(logisticScores(fitted.fit, [face.features])[0]!, fitted.platt);
    if (p > best) [best, bestFace] = [p, face];
  }
  const side = Math.max(bestFace.box.width, bestFace.box.height);
  let reason: Scored['reason'] = null;
  if (v.mode === 'pipeline' && side < MIN_FACE) reason = 'face-too-small';
  else if (range && rangeScore(standardise(bestFace.features, fitted.fit), range) > range.threshold) reason = 'out-of-range';
  else if (Math.abs(best - fitted.threshold) < UNCERTAIN_BAND) reason = 'near-threshold';
  return { label: v.image.label, p: best, reason };
}

/** Test views of one evaluation set (src/detect/probe-measure.ts). */
function evalSets(): { name: string; family: string; select: (v: View) => boolean }[] {
  const outsideInfo = outside.sets.map((s) => ({ name: s.name, real: s.real, fake: s.fake, family: familyOf(s.provenance) ?? 'unknown' }));
  return evaluationSets(outsideInfo).map((set) => ({ ...set, select: (v: View) => set.select(v.image) }));
}

log('fitting the probe');
const final = fitAll(null);
const trainZ = trainingSamples(null).map((s) => standardise(s.features, final.fit));
const range = fitRange(trainZ, RANGE_COMPONENTS, RANGE_PERCENTILE, rangeScore);
log(`fitted: threshold ${final.threshold.toFixed(3)}, platt a=${final.platt.a.toFixed(3)} b=${final.platt.b.toFixed(3)}, range threshold ${range.threshold.toFixed(3)}`);

const results: Record<string, Record<string, ReturnType<typeof summarise>>> = {};
const test = views.filter((v) => v.image.split === 'test');
for (const set of evalSets()) {
  const entry: Record<string, ReturnType<typeof summarise>> = {};
  for (const mode of ['pipeline', 'crop'] as const) {
    for (const condition of Object.keys(ROBUSTNESS)) {
      const chosen = test.filter((v) => v.mode === mode && v.condition === condition && set.select(v));
      if (chosen.length === 0) continue;
      entry[`${mode}/${condition}`] = summarise(chosen.map((v) => scoreView(v, final, range)), final.threshold);
    }
  }
  results[set.name] = entry;
  const c = entry['pipeline/clean'];
  log(`${set.name}: pipeline clean AUC ${c?.auc} acc ${c?.accuracy} tpr@5 ${c?.tprAt5Fpr} uncertain ${c?.uncertain}; jpeg50+half AUC ${entry['pipeline/half-resolution+jpeg50']?.auc}; crops AUC ${entry['crop/clean']?.auc}`);
}

const leaveOneOut: Record<string, ReturnType<typeof summarise>> = {};
if (!args['skip-loso']) {
  for (const set of evalSets().filter((s) => outside.sets.some((o) => o.name === s.name))) {
    const fitted = fitAll(set.name);
    const chosen = test.filter((v) => v.mode === 'pipeline' && v.condition === 'clean' && set.select(v));
    leaveOneOut[set.name] = summarise(chosen.map((v) => scoreView(v, fitted, null)), fitted.threshold);
    log(`left out ${set.name}: AUC ${leaveOneOut[set.name]!.auc} acc ${leaveOneOut[set.name]!.accuracy} tpr@5 ${leaveOneOut[set.name]!.tprAt5Fpr}`);
  }
}

/** The card keeps where a set came from, not its file list (that stays in data/outside/<set>/provenance.json). */
function compactProvenance(p: Record<string, unknown>): Record<string, unknown> {
  const { repo, commit, families, generators, licence } = p as Record<string, unknown>;
  const family = familyOf(p);
  const generator = (generators as Record<string, unknown> | undefined)?.fake;
  return { repo, commit, families, generators, licence, ...(family ? { family } : {}), ...(generator ? { generator } : {}) };
}

// Write the detector folder (under a temporary name, then renamed into place).
const probe = packProbe(final.fit, { platt: final.platt, threshold: final.threshold, uncertainBand: UNCERTAIN_BAND, range });
const card = {
  name: 'detector-probe',
  createdAt: new Date().toISOString(),
  commandLine: `npx tsx scripts/train-probe-detector.ts ${process.argv.slice(2).join(' ')}`.trim(),
  backbone: BACKBONE_NAME,
  inputSize: BACKBONE_INPUT,
  cropMargin: MARGIN,
  minFaceSide: MIN_FACE,
  training: {
    sources: [
      ...outside.sets.map((s) => ({ set: s.name, real: s.real, fake: s.fake, provenance: compactProvenance(s.provenance) })),
      { set: 'own', fake: own.length, provenance: { generator: 'built-in dcgan64-utkface', variants: 'plain 64x64, framed 68x68, pasted on a background' } },
      { set: 'utkface', real: utk.length, provenance: { folder: 'UTKFace crop_part1', variants: 'as is, and shrunk onto a background' } },
    ],
    splits: { train: bySplit('train').length, calibration: bySplit('calibration').length, test: bySplit('test').length },
    l2: L2,
    views: 'each training photo twice, degraded at random: shrunk 0.25-1x (p 0.6), JPEG 30-100 (p 0.8), blur (p 0.15), flip (p 0.5)',
    calibration: 'Platt scaling and threshold on the outside sets\' calibration photos only',
  },
  measured: { test: results, leaveOneSetOut: leaveOneOut },
};
const outDir = resolve(args.out);
const tmp = `${outDir}.tmp-${process.pid}`;
await rm(tmp, { recursive: true, force: true });
await mkdir(tmp, { recursive: true });
await writeFile(join(tmp, 'probe.json'), JSON.stringify({ ...probe, card }));
await rm(outDir, { recursive: true, force: true });
await rename(tmp, outDir);
log(`wrote ${outDir}`);
