/**
 * Where the server's model work runs. Two implementations:
 *
 * - InProcessJobQueue (./in-process-queue.ts), the default: this process's own
 *   worker threads (ModelPool), as `npm start` has always done;
 * - BullmqJobQueue (./bullmq-queue.ts), `fakeface serve --queue redis://…`: jobs go
 *   to Redis through BullMQ and any number of `fakeface worker` processes run them;
 *   the server then runs no models itself.
 *
 * Both take the same ModelTask and give back the same result, progress and typed
 * errors, so the routes, the bounded request queues and SSE do not know which one runs.
 */
import type { QueueHealth } from '../server/api-types.js';
import type { ModelResults, ModelTask, ProgressReport, TaskOf } from '../server/model-tasks.js';

export type { QueueHealth };

export interface JobRunOptions {
  /** Fires when the job is cancelled: a waiting job never starts. */
  signal?: AbortSignal;
  onProgress?: ProgressReport;
}

export interface JobQueue {
  readonly mode: QueueHealth['mode'];
  /** Runs `task` somewhere; rejects with its own error (same class, message and status). */
  run<K extends ModelTask['kind']>(task: TaskOf<K>, options?: JobRunOptions): Promise<ModelResults[K]>;
  health(): Promise<QueueHealth>;
  close(): Promise<void>;
}

/** The URL without user or password, for logs and /api/health. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis://(invalid URL)';
  }
}
