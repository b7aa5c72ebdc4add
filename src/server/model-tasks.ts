/**
 * The model work the server hands to its worker threads (./model-pool.ts), and
 * how a worker does each. Every task names files and numbers only (it crosses a
 * thread boundary); the worker keeps its own tfjs engine and loaded models.
 */
import type { ConditionRequest } from '../data/conditions.js';
import type { DetectOptions, ImageDetection } from '../detect/types.js';
import type { ClassifierChoice } from './detection.js';
import type { GeneratedPng } from './generate.js';
import type { JobOutcome } from './jobs.js';

type Choice = ClassifierChoice & Pick<DetectOptions, 'wholeImage'>;

export type ModelTask =
  | { kind: 'detect-image'; file: string; opts: Choice }
  | { kind: 'analyse-video'; file: string; displayName: string; opts: Choice }
  | { kind: 'generate-grid'; runDir: string; count: number; seed: number; columns?: number; padding: number; labels?: ConditionRequest }
  | { kind: 'generate-interpolation'; runDir: string; seedA: number; seedB: number; steps: number; padding: number; labels?: ConditionRequest };

export interface ModelResults {
  'detect-image': ImageDetection;
  'analyse-video': JobOutcome;
  'generate-grid': GeneratedPng;
  'generate-interpolation': GeneratedPng;
}

export type TaskOf<K extends ModelTask['kind']> = Extract<ModelTask, { kind: K }>;

/** What a task says while it runs: frames done of a video. */
export type ProgressReport = (done: number, total: number | null) => void;

/** Does `task` in this thread (the worker's). */
export async function runModelTask(task: ModelTask, onProgress: ProgressReport, signal: AbortSignal): Promise<ModelResults[ModelTask['kind']]> {
  switch (task.kind) {
    case 'detect-image': {
      const detect = await import('../detect/index.js');
      return detect.detectImage(task.file, task.opts);
    }
    case 'analyse-video': {
      const [detect, { analyseVideo }] = await Promise.all([import('../detect/index.js'), import('./detection.js')]);
      return analyseVideo(detect, task.file, task.displayName, { ...task.opts, signal }, onProgress);
    }
    case 'generate-grid': {
      const { generateGrid } = await import('./generate.js');
      return generateGrid(task.runDir, task.count, task.seed, task.columns, task.padding, task.labels);
    }
    case 'generate-interpolation': {
      const { generateInterpolation } = await import('./generate.js');
      return generateInterpolation(task.runDir, task.seedA, task.seedB, task.steps, task.padding, task.labels);
    }
  }
}

/** Buffers come back from a worker as plain Uint8Arrays: make them Buffers again (no copy). */
export function reviveBuffers<K extends ModelTask['kind']>(kind: K, result: ModelResults[K]): ModelResults[K] {
  const asBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (kind === 'analyse-video') {
    const outcome = result as JobOutcome;
    for (const thumbnail of outcome.thumbnails) thumbnail.jpeg = asBuffer(thumbnail.jpeg);
  } else if (kind === 'generate-grid' || kind === 'generate-interpolation') {
    const png = result as GeneratedPng;
    png.png = asBuffer(png.png);
  }
  return result;
}
