/**
 * A batch of files checked on queue workers (`fakeface detect --queue redis://…`):
 * each file becomes one job, the same ModelTask the server queues ('detect-image'
 * or 'analyse-video', told apart here from the file's first bytes), all queued at
 * once, and each result is handed to `onResult` as it comes back, in whatever
 * order the workers finish them.
 *
 *   const queue = await BullmqJobQueue.connect('redis://127.0.0.1:6379');
 *   const { failed } = await submitFiles(queue, ['a.jpg', 'clip.mp4'], { onResult: (r) => console.log(r.verdict) });
 *
 * Workers open the files by their absolute path, so they must see them at the
 * same path (one machine, or a folder shared at the same mount point). A file that
 * cannot be read here, or whose job fails, is one FailedInput; the others go on.
 * Aborting `signal` cancels the jobs not yet finished: those still waiting are
 * removed from Redis, those running are stopped by their workers (CANCEL_CHANNEL).
 */
import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { sniffMedia } from '../detect/sniff.js';
import type { Detection, FailedInput } from '../detect/types.js';
import { CancelledError, FakefaceError } from '../errors.js';
import type { ClassifierChoice } from '../server/detection.js';
import type { ModelTask } from '../server/model-tasks.js';
import type { JobQueue } from './job-queue.js';
import { parseJobPayload } from './job-payload.js';

export type FileCheck = Detection | FailedInput;

export interface SubmitOptions {
  /** The classifier the workers use (absolute paths, as the workers see them); none: the workers' default. */
  choice?: ClassifierChoice;
  /** Score the whole picture when no face is found. */
  wholeImage?: boolean;
  signal?: AbortSignal;
  /** Each file's outcome as it finishes (cancelled files have none). */
  onResult?: (check: FileCheck) => void;
}

export interface SubmitSummary {
  checked: number;
  failed: number;
  cancelled: number;
}

/** The longest displayName a job may carry (./job-payload.ts). */
const MAX_DISPLAY_NAME = 400;

/** The job for `file` (as given, relative or not); throws a MediaFileError when it is neither image nor video. */
async function taskFor(file: string, options: SubmitOptions): Promise<ModelTask> {
  const kind = await sniffMedia(file);
  const opts = { ...options.choice, ...(options.wholeImage ? { wholeImage: true } : {}) };
  const path = resolve(file);
  const task: ModelTask =
    kind === 'video'
      ? { kind: 'analyse-video', file: path, displayName: file.length <= MAX_DISPLAY_NAME ? file : file.slice(-MAX_DISPLAY_NAME), opts }
      : { kind: 'detect-image', file: path, opts };
  return parseJobPayload(task); // the worker checks it again
}

/** The one-line reason a file failed: a file error's problem, else the error's message. */
function failureOf(file: string, error: unknown): FailedInput {
  const fields = error as { problem?: unknown; message?: unknown };
  const message = error instanceof FakefaceError && typeof fields.problem === 'string' ? fields.problem : error instanceof Error ? error.message : String(error);
  return { kind: 'error', file, verdict: 'error', error: message };
}

/** The outcome of the job `task` for `file`, or 'cancelled'. */
async function runJob(queue: JobQueue, file: string, task: ModelTask, signal: AbortSignal | undefined): Promise<FileCheck | 'cancelled'> {
  try {
    if (task.kind === 'analyse-video') {
      const { result } = await queue.run(task, { signal });
      return { ...result, file };
    }
    if (task.kind !== 'detect-image') throw new Error(`unexpected task ${task.kind}`);
    return { ...(await queue.run(task, { signal })), file };
  } catch (error) {
    if (error instanceof CancelledError && signal?.aborted) return 'cancelled';
    return failureOf(file, error);
  }
}

/** Queues one job per file and waits for them all; resolves with the counts (never rejects for a file). */
export async function submitFiles(queue: JobQueue, files: readonly string[], options: SubmitOptions = {}): Promise<SubmitSummary> {
  const { signal } = options;
  if (signal) setMaxListeners(files.length + 10, signal); // one abort listener per job
  const summary: SubmitSummary = { checked: 0, failed: 0, cancelled: 0 };
  const finish = (check: FileCheck | 'cancelled') => {
    if (check === 'cancelled') {
      summary.cancelled++;
      return;
    }
    if (check.kind === 'error') summary.failed++;
    else summary.checked++;
    options.onResult?.(check);
  };
  const jobs: Promise<void>[] = [];
  // One file at a time is sniffed and queued (thousands of files, never thousands open at once).
  for (const file of files) {
    if (signal?.aborted) {
      finish('cancelled');
      continue;
    }
    let task: ModelTask;
    try {
      task = await taskFor(file, options);
    } catch (error) {
      finish(failureOf(file, error));
      continue;
    }
    jobs.push(runJob(queue, file, task, signal).then(finish));
  }
  await Promise.all(jobs);
  return summary;
}
