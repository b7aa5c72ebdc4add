/**
 * Detection speed: one photo end to end (decode, find the face, crop, score, region
 * map) with the built-in probe detector, against the legacy 64x64 CNN
 * (models/detector-utkface) as the baseline in the same run, after a warm-up.
 *
 *   npm run bench:detect                        photos from ../shared/data/utkface-crop_part1
 *   npm run bench:detect -- --photos DIR --count 10 --threads 2
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { detectImage, disposeClassifiers } from '../src/detect/index.js';
import { evenSpread, listImages } from '../src/detect/files.js';
import { BUILT_IN_MODELS_DIR, LEGACY_DETECTOR_NAME, builtInDetector } from '../src/models/builtin.js';

const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '../shared/data/utkface-crop_part1' },
    count: { type: 'string', default: '10' },
    threads: { type: 'string' },
  },
});
if (!existsSync(args.photos)) {
  console.log(`bench:detect: no photos at ${args.photos}; pass --photos DIR`);
  process.exit(0);
}
const files = evenSpread(await listImages(args.photos, 'photos'), Number(args.count));
const threads = args.threads === undefined ? undefined : Number(args.threads);
const detectors: [string, string][] = [
  ['legacy CNN 64x64 (baseline)', join(BUILT_IN_MODELS_DIR, LEGACY_DETECTOR_NAME)],
  ['built-in probe (MobileNetV2 224x224 + map)', builtInDetector()!.dir],
];
console.log(`bench:detect: ${files.length} photos from ${args.photos}, wasm backend${threads ? `, ${threads} threads` : ''}`);
for (const [label, detector] of detectors) {
  await detectImage(files[0]!, { detector, threads }); // warm-up: loads the SSD and the detector
  const ms: number[] = [];
  for (const file of files) {
    const t = performance.now();
    await detectImage(file, { detector, threads });
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)]!;
  console.log(`${label.padEnd(44)} median ${median.toFixed(0)} ms, min ${ms[0]!.toFixed(0)}, max ${ms.at(-1)!.toFixed(0)} ms per photo`);
}
await disposeClassifiers();
