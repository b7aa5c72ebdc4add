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
import { initDetectionEngine } from '../engine/index.js';
import { CancelledError, UsageError } from '../errors.js';
import { cropFace, findFaces, type RgbImage } from '../faces/index.js';
import { squareRegion } from '../faces/detect.js';
import { decodeRgb } from '../faces/image.js';
import { probeVideo, readFrames } from '../video/index.js';
import { aggregateFrameScores } from './aggregate.js';
import { loadClassifier, type FaceClassifier } from './classifier.js';
import { sniffMedia } from './sniff.js';
import { confidenceIn, explain, judgeFace, NEAR_THRESHOLD, NO_FACE, type JudgeSettings } from './judge.js';
import type { FaceAnalysis } from './probe-classifier.js';
import type { Detection, DetectOptions, FaceResult, FrameResult, ImageDetection, UncertainReason, Verdict, VideoDetection } from './types.js';

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

/**
 * Detection's engine: the native cpu backend where the addon has the detection kernels,
 * else wasm (or the backend asked for); a running engine of that backend is kept.
 */
async function prepareEngine(opts: DetectOptions): Promise<void> {
  await initDetectionEngine({ backend: opts.backend, threads: opts.threads });
}

/** Boxes are reported to a tenth of a pixel: finer is noise, and JSON stays readable. */
const tenth = (v: number) => Math.round(v * 10) / 10;
const three = (v: number) => Math.round(v * 1000) / 1000;

/** The image resized (fit 'cover', like the training faces) to size x size, as [-1, 1] floats. */
async function wholeImageCrop(rgb: RgbImage, size: number): Promise<Float32Array> {
  const data = await sharp(rgb.pixels, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize(size, size, { fit: 'cover' })
    .raw()
    .toBuffer();
  return Float32Array.from(data, (v) => v / 127.5 - 1);
}

const settingsOf = (classifier: FaceClassifier): JudgeSettings => ({
  threshold: classifier.info.threshold,
  minFaceSide: classifier.minFaceSide ?? 0,
  uncertainBand: classifier.uncertainBand ?? 0,
});

/** Calibrated p(fake) of each crop, with the range check and map when the classifier gives them. */
function analyseCrops(classifier: FaceClassifier, crops: Float32Array[], withMap: boolean): { pFake: number; analysis: FaceAnalysis | null }[] {
  if (crops.length === 0) return [];
  if (classifier.analyse) return classifier.analyse(crops, withMap).map((analysis) => ({ pFake: analysis.pFake, analysis }));
  return classifier.score(crops).map((pFake) => ({ pFake, analysis: null }));
}

interface ScoredPicture {
  faces: FaceResult[];
  whole: ImageDetection['wholeImage'];
}

/** Finds and scores the faces of one picture; scores the whole picture when none is found and `wholeImage` asks. */
async function scorePicture(rgb: RgbImage, classifier: FaceClassifier, opts: { wholeImage: boolean; maps: boolean }, scale = 1): Promise<ScoredPicture> {
  const { inputSize } = classifier.info;
  const settings = settingsOf(classifier);
  const boxes = await findFaces(rgb);
  const crops = await Promise.all(boxes.map((box) => cropFace(rgb, box, inputSize, classifier.cropMargin)));
  const scored = analyseCrops(classifier, crops, opts.maps);
  const faces = boxes.map((box, i): FaceResult => {
    const { pFake, analysis } = scored[i]!;
    const judged = judgeFace(pFake, Math.max(box.width, box.height), analysis, settings);
    const face: FaceResult = {
      box: { x: tenth(box.x * scale), y: tenth(box.y * scale), width: tenth(box.width * scale), height: tenth(box.height * scale), score: box.score },
      pFake,
      verdict: judged.verdict,
      ...(judged.reason ? { reason: judged.reason } : {}),
    };
    if (analysis?.map) {
      const region = squareRegion(box, classifier.cropMargin, rgb.width, rgb.height);
      face.map = {
        grid: Math.round(Math.sqrt(analysis.map.length)),
        values: analysis.map.map(three),
        region: { x: tenth(region.left * scale), y: tenth(region.top * scale), width: tenth(region.width * scale), height: tenth(region.height * scale) },
      };
    }
    return face;
  });
  if (faces.length > 0 || !opts.wholeImage) return { faces, whole: null };
  const [{ pFake, analysis }] = analyseCrops(classifier, [await wholeImageCrop(rgb, inputSize)], false) as [{ pFake: number; analysis: FaceAnalysis | null }];
  const judged = judgeFace(pFake, Math.min(rgb.width, rgb.height), analysis, settings);
  return { faces, whole: { pFake, verdict: judged.verdict, ...(judged.reason ? { reason: judged.reason } : {}) } };
}

/** The picture's verdict: fake if any face is fake; else uncertain if any face is (or none was found); else real. */
function pictureVerdict(faces: FaceResult[], whole: ImageDetection['wholeImage']): { verdict: Verdict; reason: UncertainReason | null; pFake: number | null } {
  if (faces.length === 0) {
    if (!whole) return { verdict: 'uncertain', reason: NO_FACE, pFake: null };
    return { verdict: whole.verdict, reason: whole.reason ?? null, pFake: whole.pFake };
  }
  const fake = faces.filter((f) => f.verdict === 'fake').sort((a, b) => b.pFake - a.pFake)[0];
  if (fake) return { verdict: 'fake', reason: null, pFake: fake.pFake };
  const unsure = faces.filter((f) => f.verdict === 'uncertain').sort((a, b) => b.pFake - a.pFake)[0];
  if (unsure) return { verdict: 'uncertain', reason: unsure.reason ?? null, pFake: unsure.pFake };
  return { verdict: 'real', reason: null, pFake: Math.max(...faces.map((f) => f.pFake)) };
}

/**
 * Finds the faces in an image file and scores each. Verdict: fake if any face is
 * called fake; else uncertain (with the reason) when a face cannot be judged or none
 * is found, unless `wholeImage` scores the whole picture instead; else real.
 * Throws ImageDecodeError for an unreadable file.
 */
export async function detectImage(file: string, opts: DetectOptions = {}): Promise<ImageDetection> {
  const started = performance.now();
  await prepareEngine(opts);
  const classifier = await loadClassifier(opts);
  const rgb = await decodeRgb(file);
  const { faces, whole } = await scorePicture(rgb, classifier, { wholeImage: Boolean(opts.wholeImage), maps: opts.maps ?? true });
  const { verdict, reason, pFake } = pictureVerdict(faces, whole);
  const confidence = pFake === null ? null : confidenceIn(verdict, pFake);
  let note: string | undefined;
  if (faces.length === 0) note = whole ? 'no face found; the whole image was scored' : 'no face found (--whole-image scores the whole picture instead)';
  const what = faces.length === 0 ? 'this image' : faces.length === 1 ? 'the face in this image' : `one of the ${faces.length} faces in this image`;
  return {
    kind: 'image',
    file,
    width: rgb.width,
    height: rgb.height,
    faces,
    wholeImage: whole,
    verdict,
    reason,
    confidence: confidence === null ? null : three(confidence),
    explanation: explain(verdict, confidence, reason, verdict === 'real' && faces.length > 1 ? 'every face in this image' : what),
    detector: classifier.info,
    ms: Math.round(performance.now() - started),
    ...(note ? { note } : {}),
  };
}

/** A frame's score: the most suspicious face that could be judged on size and range, else the whole frame's. */
function framePFake(faces: FaceResult[], whole: ImageDetection['wholeImage']): number | null {
  const usable = faces.filter((f) => f.reason?.code !== 'face-too-small' && f.reason?.code !== 'out-of-range');
  if (usable.length > 0) return Math.max(...usable.map((f) => f.pFake));
  if (faces.length > 0) return null;
  return whole && whole.reason?.code !== 'out-of-range' ? whole.pFake : null;
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
  if (opts.signal?.aborted) throw new CancelledError(`${file}: the analysis was cancelled before it started`);
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
    // Leaving the loop ends readFrames, which kills its ffmpeg.
    if (opts.signal?.aborted) throw new CancelledError(`${file}: the analysis was cancelled at frame ${frames.length}`);
    // Boxes are reported in the video's own (display) pixels.
    const scale = info.width / frame.width;
    const { faces, whole } = await scorePicture(frame, classifier, { wholeImage: Boolean(opts.wholeImage), maps: false }, scale);
    const result: FrameResult = {
      index: frame.index,
      timeSeconds: frame.timeSeconds,
      faces,
      // Faces too small or unlike the training data do not count towards the video's score.
      pFake: framePFake(faces, whole),
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
    const unjudged = frames.flatMap((f) => f.faces).find((f) => f.reason)?.reason;
    const reason = framesWithFaces > 0 && unjudged ? unjudged : NO_FACE;
    return {
      ...base,
      pFake: null,
      verdict: 'uncertain',
      reason,
      confidence: null,
      explanation: explain('uncertain', null, reason, 'this video'),
      rule: 'no frame had a face to score',
      keyFrames: [],
      ms: Math.round(performance.now() - started),
      note: framesWithFaces > 0 ? `no face in ${frames.length} frames could be judged` : `no face found in ${frames.length} frames (${clock(firstTime)}-${clock(lastTime)}); --whole-image scores whole frames instead`,
    };
  }
  const keyFrames = [...scored].sort((a, b) => b.p - a.p || a.i - b.i).slice(0, KEY_FRAMES).map((s) => s.i);
  const wholeFrames = scored.length - framesWithFaces;
  const settings = settingsOf(classifier);
  const videoVerdict: Verdict = Math.abs(aggregate.pFake - settings.threshold) < settings.uncertainBand ? 'uncertain' : aggregate.pFake >= settings.threshold ? 'fake' : 'real';
  const videoReason = videoVerdict === 'uncertain' ? NEAR_THRESHOLD : null;
  const videoConfidence = confidenceIn(videoVerdict, aggregate.pFake);
  return {
    ...base,
    pFake: aggregate.pFake,
    verdict: videoVerdict,
    reason: videoReason,
    confidence: videoConfidence === null ? null : three(videoConfidence),
    explanation: explain(videoVerdict, videoConfidence, videoReason, 'the face in this video'),
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
