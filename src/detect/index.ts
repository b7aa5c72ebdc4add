/**
 * The detection task: find the faces in an image or a video, score each with a
 * real-vs-fake classifier, and give a verdict with the evidence behind it.
 *
 *   const result = await detect('clip.mp4', { detector: 'detectors/d1' });
 *   result.verdict; // 'fake'
 *   result.kind === 'video' && result.frames; // per-frame timeline
 *
 * Faces come from face-api's SSD (src/faces), each cropped square with the margin
 * that frames it like the classifier's training faces, resized to its input size.
 * Classifier: a trained detector folder (`detector`) or a GAN run's discriminator
 * (`run`, the paper's detector; p(fake) = 1 - D).
 */
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { currentEngine, initEngine } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { cropFace, findFaces, type RgbImage } from '../faces/index.js';
import { decodeRgb } from '../faces/image.js';
import { probeVideo, readFrames } from '../video/index.js';
import { aggregateFrameScores } from './aggregate.js';
import { loadClassifier, type FaceClassifier } from './classifier.js';
import { sniffMedia } from './sniff.js';
import type { Detection, DetectOptions, FaceResult, FrameResult, ImageDetection, Verdict, VideoDetection } from './types.js';

export type * from './types.js';
export { aggregateFrameScores, CONFIDENT_FAKE, CONFIDENT_REAL, type Aggregate } from './aggregate.js';
export { disposeClassifiers, loadClassifier, UTKFACE_CROP_MARGIN, type FaceClassifier } from './classifier.js';
export { sniffMedia, type MediaKind } from './sniff.js';

/** Default video sampling: this many frames per second... */
export const DEFAULT_VIDEO_FPS = 2;
/** ...but no more than this many frames in all (then spread evenly over the video). */
export const DEFAULT_MAX_FRAMES = 120;
/** Frames are scaled down to this on their longer side before finding faces (SSD reads 512x512 anyway). */
const FRAME_MAX_SIDE = 640;
/** Key frames reported for a video. */
const KEY_FRAMES = 3;

/** Face detection wants wasm: keep a wasm engine that is already running, else start one (or the backend asked for). */
async function prepareEngine(opts: DetectOptions): Promise<void> {
  if (opts.backend === undefined && opts.threads === undefined && currentEngine()?.backend === 'wasm') return;
  await initEngine({ backend: opts.backend ?? 'wasm', threads: opts.threads });
}

/** Boxes are reported to a tenth of a pixel: finer is noise, and JSON stays readable. */
const tenth = (v: number) => Math.round(v * 10) / 10;
const confidenceOf = (p: number) => Math.abs(p - 0.5) + 0.5;
const callFace = (p: number, threshold: number): 'real' | 'fake' => (p >= threshold ? 'fake' : 'real');

/** The image resized (fit 'cover', like the training faces) to size x size, as [-1, 1] floats. */
async function wholeImageCrop(rgb: RgbImage, size: number): Promise<Float32Array> {
  const data = await sharp(rgb.pixels, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize(size, size, { fit: 'cover' })
    .raw()
    .toBuffer();
  return Float32Array.from(data, (v) => v / 127.5 - 1);
}

interface ScoredPicture {
  faces: FaceResult[];
  whole: { pFake: number; verdict: 'real' | 'fake' } | null;
}

/** Finds and scores the faces of one picture; scores the whole picture when none is found and `wholeImage` asks. */
async function scorePicture(rgb: RgbImage, classifier: FaceClassifier, wholeImage: boolean, scale = 1): Promise<ScoredPicture> {
  const { inputSize, threshold } = classifier.info;
  const boxes = await findFaces(rgb);
  const crops = await Promise.all(boxes.map((box) => cropFace(rgb, box, inputSize, classifier.cropMargin)));
  const scores = crops.length > 0 ? classifier.score(crops) : [];
  const faces = boxes.map((box, i): FaceResult => ({
    box: { x: tenth(box.x * scale), y: tenth(box.y * scale), width: tenth(box.width * scale), height: tenth(box.height * scale), score: box.score },
    pFake: scores[i]!,
    verdict: callFace(scores[i]!, threshold),
  }));
  if (faces.length > 0 || !wholeImage) return { faces, whole: null };
  const [pFake] = classifier.score([await wholeImageCrop(rgb, inputSize)]);
  return { faces, whole: { pFake: pFake!, verdict: callFace(pFake!, threshold) } };
}

/**
 * Finds the faces in an image file and scores each. Verdict: fake if any face is
 * called fake (its p(fake) gives the confidence), else real (the most suspicious
 * face gives it); 'no-face' when none is found, unless `wholeImage` scores the
 * whole picture instead. Throws ImageDecodeError for an unreadable file.
 */
export async function detectImage(file: string, opts: DetectOptions = {}): Promise<ImageDetection> {
  const started = performance.now();
  await prepareEngine(opts);
  const classifier = await loadClassifier(opts);
  const rgb = await decodeRgb(file);
  const { faces, whole } = await scorePicture(rgb, classifier, Boolean(opts.wholeImage));
  let verdict: Verdict;
  let confidence: number | null;
  let note: string | undefined;
  if (faces.length > 0) {
    const deciding = Math.max(...faces.map((f) => f.pFake));
    verdict = callFace(deciding, classifier.info.threshold);
    confidence = confidenceOf(deciding);
  } else if (whole) {
    verdict = whole.verdict;
    confidence = confidenceOf(whole.pFake);
    note = 'no face found; the whole image was scored';
  } else {
    verdict = 'no-face';
    confidence = null;
    note = 'no face found (--whole-image scores the whole picture instead)';
  }
  return {
    kind: 'image',
    file,
    width: rgb.width,
    height: rgb.height,
    faces,
    wholeImage: whole,
    verdict,
    confidence,
    detector: classifier.info,
    ms: Math.round(performance.now() - started),
    ...(note ? { note } : {}),
  };
}

function checkSampling(opts: DetectOptions): void {
  if (opts.fps !== undefined && opts.frames !== undefined) throw new UsageError('give fps or frames, not both');
  if (opts.fps !== undefined && !(Number.isFinite(opts.fps) && opts.fps > 0 && opts.fps <= 60)) throw new UsageError(`fps must be a number in (0, 60], not ${opts.fps}`);
  if (opts.frames !== undefined && !(Number.isInteger(opts.frames) && opts.frames >= 1 && opts.frames <= 100_000)) {
    throw new UsageError(`frames must be an integer from 1 to 100000, not ${opts.frames}`);
  }
}

const clock = (seconds: number) => {
  const m = Math.floor(seconds / 60);
  return `${String(m).padStart(2, '0')}:${(seconds - m * 60).toFixed(1).padStart(4, '0')}`;
};

/**
 * Samples a video's frames (`fps`, default 2, at most 120 frames unless `fps` or
 * `frames` is given), finds and scores the faces in each, and aggregates the frame
 * scores with the DFDC "confident strategy" (./aggregate.ts). Frames stream from
 * ffmpeg one at a time: memory does not grow with the video's length. Throws
 * VideoDecodeError for a missing, unreadable, truncated or corrupt video,
 * FfmpegNotFoundError without ffmpeg.
 */
export async function detectVideo(file: string, opts: DetectOptions = {}): Promise<VideoDetection> {
  const started = performance.now();
  checkSampling(opts);
  const info = await probeVideo(file);
  await prepareEngine(opts);
  const classifier = await loadClassifier(opts);

  let sampling: { fps?: number; frames?: number };
  let samplingWords: string;
  if (opts.frames !== undefined) {
    sampling = { frames: opts.frames };
    samplingWords = `${opts.frames} frames spread over the video`;
  } else if (opts.fps !== undefined || info.durationSeconds * DEFAULT_VIDEO_FPS <= DEFAULT_MAX_FRAMES) {
    sampling = { fps: opts.fps ?? DEFAULT_VIDEO_FPS };
    samplingWords = `${sampling.fps} fps`;
  } else {
    sampling = { frames: DEFAULT_MAX_FRAMES };
    samplingWords = `${DEFAULT_MAX_FRAMES} frames spread over the video (${DEFAULT_VIDEO_FPS} fps would give ${Math.round(info.durationSeconds * DEFAULT_VIDEO_FPS)})`;
  }
  const expected = sampling.frames ?? (info.durationSeconds > 0 ? Math.max(1, Math.round(info.durationSeconds * sampling.fps!)) : null);

  const frames: FrameResult[] = [];
  let firstTime = 0;
  let lastTime = 0;
  opts.onProgress?.(0, expected);
  for await (const frame of readFrames(file, { ...sampling, maxSide: FRAME_MAX_SIDE })) {
    // Boxes are reported in the video's own (display) pixels.
    const scale = info.width / frame.width;
    const { faces, whole } = await scorePicture(frame, classifier, Boolean(opts.wholeImage), scale);
    const result: FrameResult = {
      index: frame.index,
      timeSeconds: frame.timeSeconds,
      faces,
      pFake: faces.length > 0 ? Math.max(...faces.map((f) => f.pFake)) : (whole?.pFake ?? null),
      ...(whole ? { wholeFrame: true } : {}),
    };
    frames.push(result);
    if (frames.length === 1) firstTime = frame.timeSeconds;
    lastTime = frame.timeSeconds;
    await opts.onFrame?.(frame, result);
    opts.onProgress?.(frames.length, expected === null ? null : Math.max(expected, frames.length));
  }

  const scored = frames.map((f, i) => ({ p: f.pFake, i })).filter((s): s is { p: number; i: number } => s.p !== null);
  const aggregate = aggregateFrameScores(scored.map((s) => s.p));
  const framesWithFaces = frames.filter((f) => f.faces.length > 0).length;
  const base = {
    kind: 'video' as const,
    file,
    durationSeconds: info.durationSeconds,
    width: info.width,
    height: info.height,
    framesAnalysed: frames.length,
    framesWithFaces,
    frames,
    detector: classifier.info,
    sampling: samplingWords,
  };
  if (!aggregate) {
    return {
      ...base,
      pFake: null,
      verdict: 'no-face',
      confidence: null,
      rule: 'no frame had a face to score',
      keyFrames: [],
      ms: Math.round(performance.now() - started),
      note: `no face found in ${frames.length} frames (${clock(firstTime)}-${clock(lastTime)}); --whole-image scores whole frames instead`,
    };
  }
  const keyFrames = [...scored].sort((a, b) => b.p - a.p || a.i - b.i).slice(0, KEY_FRAMES).map((s) => s.i);
  const wholeFrames = scored.length - framesWithFaces;
  return {
    ...base,
    pFake: aggregate.pFake,
    verdict: callFace(aggregate.pFake, classifier.info.threshold),
    confidence: confidenceOf(aggregate.pFake),
    rule: aggregate.rule + (wholeFrames > 0 ? `; ${wholeFrames} frame${wholeFrames === 1 ? '' : 's'} without a face scored whole` : ''),
    strategy: aggregate.strategy,
    keyFrames,
    ms: Math.round(performance.now() - started),
  };
}

/**
 * Detects on an image or a video, told apart by the file's first bytes (not its
 * name). Throws MediaFileError for a missing, empty or unrecognised file.
 */
export async function detect(file: string, opts: DetectOptions = {}): Promise<Detection> {
  return (await sniffMedia(file)) === 'video' ? detectVideo(file, opts) : detectImage(file, opts);
}
