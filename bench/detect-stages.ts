/**
 * Where one photo's detection time goes: decode, face finding (face-api's SSD, two
 * passes), crop, classify (built-in probe detector: MobileNetV2 on the crop and its
 * mirror, with its region map), on each backend in the same process, interleaved
 * round by round (so a busy machine slows both alike), each after a warm-up on it.
 * Then a 10 s mp4 (made here with ffmpeg from the photos) checked at 2 fps, per
 * backend. Medians over photos and rounds.
 *
 *   npx tsx bench/detect-stages.ts [--photos DIR] [--count 6] [--rounds 2]
 *                                  [--backends wasm,cpu] [--threads N] [--no-video]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadClassifier } from '../src/detect/classifier.js';
import { evenSpread, listImages } from '../src/detect/files.js';
import { detect } from '../src/detect/index.js';
import { initEngine, type CpuBackendName } from '../src/engine/index.js';
import { cropFace, findFaces } from '../src/faces/index.js';
import { decodeRgb } from '../src/faces/image.js';
import { builtInDetector } from '../src/models/builtin.js';
import { findFfmpeg } from '../src/video/index.js';

const { values: args } = parseArgs({
  options: {
    photos: { type: 'string', default: '../shared/data/utkface-crop_part1' },
    count: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    backends: { type: 'string', default: 'wasm,cpu' },
    threads: { type: 'string' },
    'no-video': { type: 'boolean', default: false },
  },
});
if (!existsSync(args.photos)) {
  console.log(`detect-stages: no photos at ${args.photos}; pass --photos DIR`);
  process.exit(0);
}
const backends = args.backends.split(',') as CpuBackendName[];
const threads = args.threads ? Number(args.threads) : undefined;
const detector = builtInDetector()!.dir;
const files = evenSpread(await listImages(args.photos, 'photos'), Number(args.count));

/** A 10 s 640x480 mp4 at 25 fps: the photos in turn, 2 s each, on gray (as a phone clip of one face at a time). */
async function makeVideo(dir: string): Promise<string | null> {
  const ffmpeg = await findFfmpeg().catch(() => null);
  if (!ffmpeg) return null;
  const out = join(dir, 'clip.mp4');
  const inputs = files.slice(0, 5).flatMap((file) => ['-loop', '1', '-t', '2', '-i', file]);
  const scale = files.slice(0, 5).map((_, i) => `[${i}:v]scale=300:300,pad=640:480:170:90:gray,setsar=1,fps=25[v${i}]`).join(';');
  const concat = `${files.slice(0, 5).map((_, i) => `[v${i}]`).join('')}concat=n=${Math.min(5, files.length)}:v=1:a=0,format=yuv420p[out]`;
  execFileSync(ffmpeg, ['-y', '-loglevel', 'error', ...inputs, '-filter_complex', `${scale};${concat}`, '-map', '[out]', '-c:v', 'libx264', '-t', '10', out]);
  return out;
}
const tmp = mkdtempSync(join(tmpdir(), 'detect-stages-'));
const video = args['no-video'] ? null : await makeVideo(tmp);

type Stage = 'decode' | 'find' | 'crop' | 'classify' | 'total';
const stages = new Map<string, Record<Stage, number[]>>();
const videoMs = new Map<string, number[]>();
const descriptions = new Map<string, string>();
await initEngine({ backend: backends[0], threads });
const classifier = await loadClassifier({ detector });

async function photoRound(backend: CpuBackendName): Promise<void> {
  const engine = await initEngine({ backend, threads });
  descriptions.set(backend, engine.description);
  const times = stages.get(backend) ?? { decode: [], find: [], crop: [], classify: [], total: [] };
  stages.set(backend, times);
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
    if (index === 0) continue; // warm-up on this backend (moves the weights here)
    times.decode.push(t1 - t0);
    times.find.push(t2 - t1);
    times.crop.push(t3 - t2);
    times.classify.push(t4 - t3);
    times.total.push(t4 - t0);
  }
}

async function videoRound(backend: CpuBackendName): Promise<void> {
  if (!video) return;
  const t = performance.now();
  const result = await detect(video, { detector, backend, threads, fps: 2 });
  const ms = performance.now() - t;
  if (result.kind !== 'video') throw new Error('the clip was not read as a video');
  videoMs.set(backend, [...(videoMs.get(backend) ?? []), ms]);
  if (!videoFrames) videoFrames = result.frames.length;
}
let videoFrames = 0;

const load = () => loadavg()[0]!.toFixed(2);
const loadStart = load();
for (let round = 0; round < Number(args.rounds); round++) {
  for (const backend of backends) {
    await photoRound(backend);
    await videoRound(backend);
  }
}
rmSync(tmp, { recursive: true, force: true });

const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
console.log(`detect-stages: ${files.length} photos x ${args.rounds} rounds, load average ${loadStart} -> ${load()} on ${availableParallelism()} cores`);
for (const backend of backends) console.log(`  ${backend}: ${descriptions.get(backend)}`);
// The minimum says what the code can do when the machine lets it; the median what a user waits.
const cell = (ms: number[], digits = 0) => `${median(ms).toFixed(digits)} (${Math.min(...ms).toFixed(digits)})`.padStart(16);
console.log(`${'ms: median (min)'.padEnd(20)}${backends.map((b) => b.padStart(16)).join('')}`);
for (const stage of ['decode', 'find', 'crop', 'classify', 'total'] as Stage[]) {
  console.log(`${stage.padEnd(20)}${backends.map((b) => cell(stages.get(b)![stage])).join('')}`);
}
if (video) {
  console.log(`${`10 s mp4, ${videoFrames} frames`.padEnd(20)}${backends.map((b) => cell(videoMs.get(b)!)).join('')}`);
} else if (!args['no-video']) {
  console.log('no ffmpeg: video not timed');
}
