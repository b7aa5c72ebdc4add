/**
 * Where one photo's detection time goes: decode, face finding (face-api's SSD, two
 * passes), crop, classify (built-in probe detector, with its region map), per backend,
 * after a warm-up. Medians over the photos.
 *
 *   npx tsx bench/detect-stages.ts [--photos DIR] [--count 10] [--backend wasm|cpu]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadClassifier } from '../src/detect/classifier.js';
import { evenSpread, listImages } from '../src/detect/files.js';
import { initEngine, type CpuBackendName } from '../src/engine/index.js';
import { cropFace, findFaces } from '../src/faces/index.js';
import { decodeRgb } from '../src/faces/image.js';
import { builtInDetector } from '../src/models/builtin.js';

const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '../shared/data/utkface-crop_part1' },
    count: { type: 'string', default: '10' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
  },
});
if (!existsSync(args.photos)) {
  console.log(`detect-stages: no photos at ${args.photos}; pass --photos DIR`);
  process.exit(0);
}
const engine = await initEngine({ backend: args.backend as CpuBackendName, threads: args.threads ? Number(args.threads) : undefined });
const classifier = await loadClassifier({ detector: builtInDetector()!.dir });
const files = evenSpread(await listImages(args.photos, 'photos'), Number(args.count));
const stages = { decode: [] as number[], find: [] as number[], crop: [] as number[], classify: [] as number[], total: [] as number[] };
for (const [index, file] of [files[0]!, ...files].entries()) {
  const t0 = performance.now();
  const rgb = await decodeRgb(file);
  const t1 = performance.now();
  const boxes = await findFaces(rgb);
  const t2 = performance.now();
  const crops = await Promise.all(boxes.map((box) => cropFace(rgb, box, classifier.info.inputSize, classifier.cropMargin)));
  const t3 = performance.now();
  if (crops.length > 0) (classifier.analyse ? classifier.analyse(crops, true) : classifier.score(crops));
  const t4 = performance.now();
  if (index === 0) continue; // warm-up
  stages.decode.push(t1 - t0);
  stages.find.push(t2 - t1);
  stages.crop.push(t3 - t2);
  stages.classify.push(t4 - t3);
  stages.total.push(t4 - t0);
}
const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
console.log(`detect-stages: ${files.length} photos, engine ${engine.description}`);
for (const [stage, ms] of Object.entries(stages)) console.log(`${stage.padEnd(9)} median ${median(ms).toFixed(1)} ms`);
