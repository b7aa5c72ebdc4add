/**
 * Measures a probe detector as users run it, and writes the numbers into its card.
 *
 *   node scripts/outside-data.mjs                    # the outside sets, from their mirrors
 *   npx tsx scripts/measure-probe-detector.ts [--detector models/detector-probe] [--write]
 *       [--conditions clean,half-resolution+jpeg50] [--pipeline-tests 50] [--crop-tests 100]
 *
 * The test photos are those of scripts/train-probe-detector.ts (same sources, same
 * counts, same split by name hash: never trained or calibrated on). Each is degraded
 * (src/detect/probe-views.ts ROBUSTNESS), written to a temporary PNG and run through
 * `detectImage`, exactly what `fakeface detect` does (faces found, cropped, scored
 * with the test-time flip, judged); and, as a crop (the whole photo is the face),
 * scored straight by the probe. Without --write it only prints the table.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { initEngine } from '../src/engine/index.js';
import { detectImage, disposeClassifiers } from '../src/detect/index.js';
import { decodeRgb } from '../src/faces/image.js';
import { readProbeFolder, probeScorer, PROBE_FILE } from '../src/detect/probe-classifier.js';
import { evaluationSets, pipelineTestPhotos, summarise, type MeasuredReason, type ScoredView } from '../src/detect/probe-measure.js';
import { familyOf, outsideSets, ownAndUtkfaceSources, type SourceImage } from '../src/detect/probe-sources.js';
import { backboneCrop, degradeImage, ROBUSTNESS, wholeImageBox } from '../src/detect/probe-views.js';

const { values: args } = parseArgs({
  options: {
    detector: { type: 'string', default: 'models/detector-probe' },
    outside: { type: 'string', default: 'data/outside' },
    utkface: { type: 'string', default: '../shared/data/utkface-crop_part1' },
    cache: { type: 'string', default: '.cache/probe' },
    'per-class': { type: 'string', default: '300' },
    utk: { type: 'string', default: '400' },
    own: { type: 'string', default: '450' },
    conditions: { type: 'string', default: Object.keys(ROBUSTNESS).join(',') },
    'pipeline-tests': { type: 'string', default: '50' },
    'crop-tests': { type: 'string', default: '100' },
    write: { type: 'boolean', default: false },
  },
});
const started = Date.now();
const log = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}`);
const conditions = args.conditions.split(',');
for (const c of conditions) if (!ROBUSTNESS[c]) throw new Error(`unknown condition "${c}"; choose from ${Object.keys(ROBUSTNESS).join(', ')}`);

await initEngine({ backend: 'wasm' });
const detectorDir = resolve(args.detector);
const probe = await readProbeFolder(detectorDir);
const scorer = await probeScorer(probe);
const singleView = await probeScorer(probe, { flip: false });
const outside = await outsideSets(args.outside, Number(args['per-class']));
if (outside.sets.length === 0) {
  console.log(`measure-probe-detector: no outside sets at ${args.outside}; run node scripts/outside-data.mjs first`);
  process.exit(0);
}
const { own, utk } = await ownAndUtkfaceSources({ utkface: args.utkface, cache: resolve(args.cache), own: Number(args.own), utk: Number(args.utk) });
const images: SourceImage[] = [...outside.images, ...own, ...utk];
const pipelinePhotos = pipelineTestPhotos(images, Number(args['pipeline-tests']));
const cropPhotos = pipelineTestPhotos(images, Number(args['crop-tests']));
log(`${pipelinePhotos.size} test photos through the pipeline, ${cropPhotos.size} as crops, under ${conditions.join(', ')}`);

const tmp = await mkdtemp(join(tmpdir(), 'fakeface-measure-'));
const scored = new Map<string, Map<SourceImage, ScoredView>>(); // "mode/condition" -> photo -> score
const record = (key: string, image: SourceImage, view: ScoredView) => {
  if (!scored.has(key)) scored.set(key, new Map());
  scored.get(key)!.set(image, view);
};
const band = probe.uncertainBand;
try {
  let done = 0;
  for (const image of cropPhotos) {
    const original = await decodeRgb(image.file);
    for (const condition of conditions) {
      const { image: degraded } = await degradeImage(original, wholeImageBox(original), ROBUSTNESS[condition]!);
      if (pipelinePhotos.has(image)) {
        const file = join(tmp, 'photo.png');
        await sharp(degraded.pixels, { raw: { width: degraded.width, height: degraded.height, channels: 3 } }).png({ compressionLevel: 1 }).toFile(file);
        const result = await detectImage(file, { detector: detectorDir, maps: false });
        const top = [...result.faces].sort((a, b) => b.pFake - a.pFake)[0];
        record(`pipeline/${condition}`, image, top ? { label: image.label, p: top.pFake, reason: (top.reason?.code as MeasuredReason | undefined) ?? null } : { label: image.label, p: null, reason: 'no-face' });
      }
      const crop = await backboneCrop(degraded, wholeImageBox(degraded), 0);
      const [analysis] = scorer.analyse([crop], false);
      const p = analysis!.pFake;
      const reason: MeasuredReason | null = analysis!.outOfRange ? 'out-of-range' : Math.abs(p - probe.threshold) < band ? 'near-threshold' : null;
      record(`crop/${condition}`, image, { label: image.label, p, reason });
      const [single] = singleView.analyse([crop], false);
      record(`crop-single-view/${condition}`, image, { label: image.label, p: single!.pFake, reason: null });
    }
    if (++done % 50 === 0) log(`${done} / ${cropPhotos.size} photos`);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
  await disposeClassifiers();
}

const outsideInfo = outside.sets.map((s) => ({ name: s.name, real: s.real, fake: s.fake, family: familyOf(s.provenance) ?? 'unknown' }));
const test: Record<string, Record<string, ReturnType<typeof summarise>>> = {};
for (const set of evaluationSets(outsideInfo)) {
  const entry: Record<string, ReturnType<typeof summarise>> = {};
  for (const [key, byPhoto] of scored) {
    const chosen = [...byPhoto].filter(([image]) => set.select(image)).map(([, view]) => view);
    if (chosen.length > 0) entry[key] = summarise(chosen, probe.threshold);
  }
  test[set.name] = entry;
  const c = entry['pipeline/clean'];
  log(`${set.name}: pipeline clean AUC ${c?.auc} acc ${c?.accuracy} tpr@5 ${c?.tprAt5Fpr} uncertain ${c?.uncertain}; half+jpeg50 AUC ${entry['pipeline/half-resolution+jpeg50']?.auc}; crops AUC ${entry['crop/clean']?.auc} (without the flip ${entry['crop-single-view/clean']?.auc})`);
}
// The single-view crops are the flip's baseline in the same run: printed, not kept in the card.
for (const entry of Object.values(test)) for (const key of Object.keys(entry)) if (key.startsWith('crop-single-view/')) delete entry[key];

if (args.write) {
  const file = join(detectorDir, PROBE_FILE);
  const card = {
    ...probe.card,
    measured: {
      ...probe.card.measured,
      test,
      how: `end to end with the test-time flip, by npx tsx scripts/measure-probe-detector.ts ${process.argv.slice(2).join(' ')} on ${new Date().toISOString().slice(0, 10)}`,
      leaveOneSetOutHow: 'from training (one view per face, no test-time flip)',
    },
  };
  const written = `${file}.tmp-${process.pid}`;
  await writeFile(written, JSON.stringify({ ...probe, card }));
  await rename(written, file);
  log(`wrote ${file}`);
}
