import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import type { DetectOptions } from '../detect/types.js';
import { findFfmpeg } from '../video/index.js';
import { ffmpegInput } from '../video/ffmpeg.js';
import { UsageError } from '../errors.js';
import type { BuiltInDetectorInfo } from './api-types.js';
import { labelBuiltInDetector } from './builtin.js';
import { HttpError } from './http-error.js';
import type { JobOutcome } from './jobs.js';
import { TRAIN_COMMAND } from './runs.js';

/** What the server needs of src/detect/index.ts. */
export type DetectModule = Pick<typeof import('../detect/index.js'), 'detectImage' | 'detectVideo'>;

export interface DetectionAvailability {
  module: DetectModule | null;
  /** Why detection is unavailable, for /api/health and the 503. */
  reason: string | null;
}

let loaded: Promise<DetectionAvailability> | undefined;

/**
 * Loads the detection module on first use, and only then: if it (or face-api
 * under it) fails to load, /api/detect answers 503 with the reason while
 * generation and runs keep working.
 */
export function loadDetection(): Promise<DetectionAvailability> {
  loaded ??= import('../detect/index.js').then(
    (module): DetectionAvailability => ({ module, reason: null }),
    (error: unknown): DetectionAvailability => {
      const message = error instanceof Error ? error.message : String(error);
      return { module: null, reason: `the detection module failed to load: ${message.split('\n')[0]}` };
    },
  );
  return loaded;
}

export type ClassifierChoice = Pick<DetectOptions, 'detector' | 'run'>;

/**
 * Runs `work` with the classifier asked for. With none named (no ?run=, no
 * --detector) the detection module's own default is tried first: the built-in
 * detector (models/detector-utkface) when this install ships it; without it, the
 * discriminator of the newest run with a checkpoint (the paper's detector)
 * decides, and the result's `detector` says so. With neither: 503 saying how to
 * get one.
 */
export async function withClassifier<T>(choice: ClassifierChoice, fallbackRun: () => Promise<string | null>, work: (choice: ClassifierChoice) => Promise<T>): Promise<T> {
  if (choice.detector || choice.run) return work(choice);
  try {
    return await work({});
  } catch (error) {
    if (!(error instanceof UsageError && /no classifier chosen/.test(error.message))) throw error;
  }
  const run = await fallbackRun();
  if (!run) {
    throw new HttpError(
      503,
      'no detector to check with: this server has no --detector, this install no built-in detector, and there is no trained run',
      `start it with --detector DIR (from fakeface detector train), or train a GAN run first: ${TRAIN_COMMAND}`,
    );
  }
  return work({ run });
}

/** What withClassifier checks with when no run is named, in words (RunList.defaultDetector); null: nothing (503). */
export function defaultDetectorName(detectorOption: string | undefined, builtIn: BuiltInDetectorInfo | null, newestRun: string | null): string | null {
  if (detectorOption) return `detector ${basename(detectorOption)}`;
  if (builtIn) return builtIn.label;
  return newestRun === null ? null : `discriminator of run ${newestRun}`;
}

/** Most key-frame thumbnails a video job keeps. */
export const MAX_THUMBNAILS = 6;
const THUMBNAIL_WIDTH = 320;

/** Runs detectVideo and grabs a JPEG of each key frame before the upload is deleted. */
export async function analyseVideo(
  detect: DetectModule,
  file: string,
  displayName: string,
  opts: DetectOptions,
  onProgress: (done: number, total: number | null) => void,
): Promise<JobOutcome> {
  const result = await detect.detectVideo(file, { ...opts, onProgress });
  result.file = displayName;
  result.detector = labelBuiltInDetector(result.detector);
  const thumbnails: JobOutcome['thumbnails'] = [];
  for (const index of result.keyFrames.slice(0, MAX_THUMBNAILS)) {
    const frame = result.frames[index];
    if (!frame) continue;
    const jpeg = await frameJpeg(file, frame.timeSeconds).catch(() => null);
    if (jpeg) thumbnails.push({ frame: index, timeSeconds: frame.timeSeconds, pFake: frame.pFake, jpeg });
  }
  return { result, thumbnails };
}

/** One frame at `seconds` as a JPEG at most 320 px wide (upright: ffmpeg applies the rotation tag). */
export async function frameJpeg(file: string, seconds: number): Promise<Buffer> {
  const ffmpeg = await findFfmpeg();
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-ss', Math.max(0, seconds).toFixed(3), '-i', ffmpegInput(file),
    '-frames:v', '1', '-vf', `scale='min(${THUMBNAIL_WIDTH},iw)':-2`,
    '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '4', 'pipe:1',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString().slice(0, 2000)));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const jpeg = Buffer.concat(chunks);
      if (code === 0 && jpeg.length > 0) resolve(jpeg);
      else reject(new Error(`ffmpeg could not extract the frame at ${seconds}s: ${stderr.trim() || `exit code ${code}`}`));
    });
  });
}
