/**
 * A queue worker (`fakeface worker --queue redis://…`): takes jobs from the
 * BullMQ queue the server fills (./bullmq-queue.ts), at most `concurrency` at a
 * time, each run on a model worker thread of its own ModelPool (models loaded
 * once per thread), and sends progress and the result back through Redis.
 *
 *   const worker = await startQueueWorker({ url: 'redis://127.0.0.1:6379', concurrency: 2 });
 *   ...
 *   await worker.close();          // finishes the jobs it holds, takes no new ones
 *   await worker.close({ force: true });   // hands them back: another worker takes them
 *
 * A job whose worker dies (kill -9, a crash) keeps its lock until `lockMs` passes;
 * then BullMQ puts it back in the queue for another worker, at most twice, after
 * which it fails saying so. A payload that is not a valid task, and a file that
 * cannot be decoded, fail that job alone at once (no retry: it would fail again).
 */
import { availableParallelism } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { BackendName, EngineInfo } from '../engine/index.js';
import { ModelPool } from '../server/model-pool.js';
import { encodeResult, parseJobPayload } from './job-payload.js';
import { redactUrl } from './job-queue.js';
import { failedReasonOf } from './queue-errors.js';
import { CANCEL_CHANNEL, connectRedis, QUEUE_NAME } from './redis.js';

export interface QueueWorkerOptions {
  url: string;
  /** Jobs at once (each on its own model thread). @default 1 */
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a worker silent this long is presumed dead. @default 30000 */
  lockMs?: number;
  backend?: BackendName | 'auto';
  log?: (message: string, error?: unknown) => void;
  /** Called as each job starts. */
  onStart?: (event: { id: string; kind: string }) => void;
  /** Called as each job ends: its id, kind, and the error message when it failed. */
  onJob?: (event: { id: string; kind: string; ms: number; error: string | null }) => void;
}

export interface QueueWorker {
  readonly engine: EngineInfo;
  readonly concurrency: number;
  /** Jobs running now. */
  readonly running: number;
  close(options?: { force?: boolean }): Promise<void>;
}

/** Times a job may be taken back from a dead worker before it fails. */
export const MAX_STALLS = 2;

export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const concurrency = options.concurrency ?? 1;
  const log = options.log ?? (() => undefined);
  const lockMs = options.lockMs ?? 30_000;
  const pool = new ModelPool(concurrency, { backend: options.backend ?? 'auto', threads: Math.max(1, Math.floor(availableParallelism() / concurrency)) }, log);
  const { engine, detection } = await pool.start().catch(async (error: unknown) => {
    await pool.close();
    throw error;
  });
  if (!detection.available) log(`detection is not available on this worker: ${detection.reason}`);
  /** The jobs this worker runs now, with their lock tokens (to hand them back). */
  const held = new Map<Job, string | undefined>();
  let lastError = '';
  const connection = connectRedis(options.url, (message) => {
    if (message !== lastError) log(`Redis at ${redactUrl(options.url)}: ${message}`);
    lastError = message;
  });
  connection.on('ready', () => {
    if (lastError) log(`Redis at ${redactUrl(options.url)}: connected again`);
    lastError = '';
  });
  const worker = new Worker(
    QUEUE_NAME,
    async (job, token, signal) => {
      const began = performance.now();
      held.set(job, token);
      options.onStart?.({ id: job.id ?? '?', kind: String(job.name) });
      try {
        const task = parseJobPayload(job.data);
        const result = await pool.run(task, {
          signal,
          onProgress: (done, total) => void job.updateProgress({ done, total }).catch(() => undefined),
        });
        options.onJob?.({ id: job.id ?? '?', kind: task.kind, ms: performance.now() - began, error: null });
        return encodeResult(task.kind, result);
      } catch (error) {
        options.onJob?.({ id: job.id ?? '?', kind: String(job.name), ms: performance.now() - began, error: error instanceof Error ? error.message : String(error) });
        // An invalid payload or a file that cannot be decoded fails the same way on every worker: no retry.
        throw new UnrecoverableError(failedReasonOf(error));
      } finally {
        held.delete(job);
      }
    },
    { connection, concurrency, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: MAX_STALLS, autorun: true },
  );
  worker.on('error', () => undefined); // connection errors: logged once above
  await worker.waitUntilReady();
  // A server cancelling a job this worker runs (DELETE /api/jobs/:id) says so on CANCEL_CHANNEL; the job's model task is stopped.
  const cancels = connectRedis(options.url, () => undefined);
  cancels.on('message', (_channel: string, jobId: string) => {
    if ([...held.keys()].some((job) => job.id === jobId)) worker.cancelJob(jobId, 'cancelled by the server');
  });
  await cancels.subscribe(CANCEL_CHANNEL);
  let closing: Promise<void> | undefined;
  return {
    engine,
    concurrency,
    get running() {
      return held.size;
    },
    async close({ force = false } = {}) {
      if (force) {
        // Hands the jobs it holds back to the queue at once: another worker starts them afresh.
        const handBack = [...held];
        held.clear();
        await Promise.allSettled(handBack.map(([job, token]) => job.moveToWait(token)));
        await worker.close(true);
        await pool.close();
        cancels.disconnect();
        connection.disconnect();
        return;
      }
      closing ??= (async () => {
        await worker.close();
        await pool.close();
        cancels.disconnect();
        connection.disconnect();
      })();
      return closing;
    },
  };
}
