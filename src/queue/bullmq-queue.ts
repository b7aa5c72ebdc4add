/**
 * The JobQueue on Redis, through BullMQ: `fakeface serve --queue redis://host:6379`.
 * Each model task becomes one BullMQ job (its payload checked here before it is
 * queued, and again by the worker); `fakeface worker` processes run them
 * (./bullmq-worker.ts). Progress and the outcome come back on BullMQ's event
 * stream (QueueEvents); a poll of the jobs still awaited catches any outcome whose
 * event was missed while Redis was away. Jobs live in Redis: a server or Redis
 * restart loses none that were queued (Redis with persistence, see README).
 *
 * Errors cross as JSON (./queue-errors.ts): an ImageDecodeError on a worker is a
 * 422 here, as it is in process.
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { CancelledError } from '../errors.js';
import { HttpError } from '../server/http-error.js';
import type { ModelResults, ModelTask, TaskOf } from '../server/model-tasks.js';
import { decodeResult, parseJobPayload } from './job-payload.js';
import { redactUrl, type JobQueue, type JobRunOptions, type QueueHealth } from './job-queue.js';
import { errorFromFailedReason } from './queue-errors.js';
import { CANCEL_CHANNEL, connectRedis, QUEUE_NAME, REDIS_OPTIONS } from './redis.js';

interface Awaited {
  kind: ModelTask['kind'];
  resolve(result: unknown): void;
  reject(error: unknown): void;
  onProgress?: JobRunOptions['onProgress'];
}

/** How often jobs still awaited are looked up directly, in case their event was missed. */
const POLL_MS = 2000;

export interface BullmqQueueOptions {
  /** Finished jobs kept in Redis (for inspection) this long. @default 3600 */
  keepSeconds?: number;
  log?: (message: string, error?: unknown) => void;
}

export class BullmqJobQueue implements JobQueue {
  readonly mode = 'redis' as const;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly awaited = new Map<string, Awaited>();
  private readonly poller: NodeJS.Timeout;
  private lastError: string | null = null;
  private closed = false;
  /** Removals of cancelled jobs still under way: close() waits for them. */
  private readonly removals = new Set<Promise<void>>();
  /** Cancelled jobs that were removed from Redis before any worker started them. */
  private removedBeforeStart = 0;

  private constructor(
    readonly url: string,
    private readonly options: BullmqQueueOptions,
    /** A connection that has answered once (see connect()). */
    private readonly connection: Redis,
  ) {
    this.connection.on('error', (error: Error) => (this.lastError = error.message.split('\n')[0]!));
    this.connection.on('ready', () => (this.lastError = null));
    this.queue = new Queue(QUEUE_NAME, { connection: this.connection });
    this.queue.on('error', () => undefined); // the connection's own handler records it
    // Options, not a connection: QueueEvents would read through a copy of one and leave the original open.
    this.events = new QueueEvents(QUEUE_NAME, { connection: { url, ...REDIS_OPTIONS } });
    this.events.on('error', () => undefined);
    this.events.on('progress', ({ jobId, data }) => {
      const progress = data as { done?: unknown; total?: unknown };
      if (typeof progress?.done === 'number') this.awaited.get(jobId)?.onProgress?.(progress.done, typeof progress.total === 'number' ? progress.total : null);
    });
    this.events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, 'completed', returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) => this.settle(jobId, 'failed', failedReason));
    this.poller = setInterval(() => void this.poll(), POLL_MS).unref();
  }

  /**
   * Connects to Redis and waits until it answers; a one-line error when it does not within 10 s.
   * Redis is reached first with one plain connection: BullMQ's own objects, once made, cannot be
   * closed until they have connected (their close() waits for it), so an unreachable Redis
   * would keep the process alive.
   */
  static async connect(url: string, options: BullmqQueueOptions = {}): Promise<BullmqJobQueue> {
    let lastError: string | null = null;
    const connection = connectRedis(url, (message) => (lastError = message));
    const within10s = <T>(work: Promise<T>) =>
      Promise.race([
        work,
        new Promise<never>((_, reject) => setTimeout(() => reject(new HttpError(503, `cannot reach Redis at ${redactUrl(url)}: ${lastError ?? 'no answer in 10 s'}`)), 10_000).unref()),
      ]);
    try {
      await within10s(connection.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => connection.once('ready', () => resolve())));
    } catch (error) {
      connection.disconnect();
      throw error;
    }
    const queue = new BullmqJobQueue(url, options, connection);
    try {
      await within10s(Promise.all([queue.queue.waitUntilReady(), queue.events.waitUntilReady()]));
    } catch (error) {
      await queue.close();
      throw error;
    }
    return queue;
  }

  run<K extends ModelTask['kind']>(task: TaskOf<K>, options: JobRunOptions = {}): Promise<ModelResults[K]> {
    if (this.closed) return Promise.reject(new HttpError(503, 'the server is shutting down'));
    const payload = parseJobPayload(task); // throws InvalidJobError before anything is queued
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new CancelledError('cancelled before it started'));
    const jobId = randomUUID();
    return new Promise<ModelResults[K]>((resolve, reject) => {
      this.awaited.set(jobId, { kind: task.kind, resolve: (r) => resolve(r as ModelResults[K]), reject, onProgress: options.onProgress });
      const keep = this.options.keepSeconds ?? 3600;
      const added = this.queue.add(task.kind, payload, { jobId, attempts: 1, removeOnComplete: { age: keep, count: 1000 }, removeOnFail: { age: keep, count: 1000 } });
      signal?.addEventListener('abort', () => this.trackRemoval(this.cancel(jobId, added)), { once: true });
      added.catch((error: unknown) => {
        this.awaited.delete(jobId);
        reject(new HttpError(503, `could not queue the job in Redis at ${redactUrl(this.url)}: ${error instanceof Error ? error.message : String(error)}`, 'is redis-server running? try again once it is'));
      });
    });
  }

  async health(): Promise<QueueHealth> {
    const base = { mode: 'redis' as const, url: redactUrl(this.url) };
    if (this.connection.status !== 'ready') {
      return { ...base, connected: false, waiting: 0, active: 0, failed: 0, workers: 0, error: this.lastError ?? `connection ${this.connection.status}` };
    }
    try {
      const [counts, workers] = await Promise.all([this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed'), this.queue.getWorkersCount()]);
      return {
        ...base,
        connected: true,
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
        active: counts.active ?? 0,
        failed: counts.failed ?? 0,
        workers,
        error: null,
      };
    } catch (error) {
      return { ...base, connected: false, waiting: 0, active: 0, failed: 0, workers: 0, error: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    await Promise.allSettled([...this.removals]);
    for (const [jobId, awaited] of this.awaited) {
      this.awaited.delete(jobId);
      awaited.reject(new HttpError(503, 'the server is shutting down'));
    }
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.connection.disconnect();
  }

  /** How many cancelled jobs were removed from Redis while still waiting (the others had started). */
  get cancelledBeforeStart(): number {
    return this.removedBeforeStart;
  }

  /** A waiting job is removed from Redis; a running one is stopped by the worker that holds it (CANCEL_CHANNEL). */
  private async cancel(jobId: string, added: Promise<unknown>): Promise<void> {
    const awaited = this.awaited.get(jobId);
    if (!awaited) return;
    this.awaited.delete(jobId);
    awaited.reject(new CancelledError('cancelled'));
    // A job cancelled while it is being added is removed once it is in Redis.
    if ((await added.then(() => true, () => false)) === false) return;
    // 1: removed; 0: a worker holds its lock: it is asked to stop the job (its model task is cancelled there).
    if ((await this.queue.remove(jobId).catch(() => 0)) === 1) this.removedBeforeStart++;
    else await this.connection.publish(CANCEL_CHANNEL, jobId).catch(() => undefined);
  }

  private trackRemoval(removal: Promise<void>): void {
    this.removals.add(removal);
    void removal.finally(() => this.removals.delete(removal));
  }

  private settle(jobId: string, outcome: 'completed' | 'failed', value: unknown): void {
    const awaited = this.awaited.get(jobId);
    if (!awaited) return;
    this.awaited.delete(jobId);
    if (outcome === 'failed') {
      awaited.reject(errorFromFailedReason(String(value ?? 'the job failed')));
      return;
    }
    try {
      awaited.resolve(decodeResult(awaited.kind, typeof value === 'string' ? JSON.parse(value) : value));
    } catch (error) {
      awaited.reject(new HttpError(500, `a worker sent back an unreadable result: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  private async poll(): Promise<void> {
    if (this.awaited.size === 0 || this.connection.status !== 'ready') return;
    for (const jobId of [...this.awaited.keys()]) {
      const job = await Job.fromId(this.queue, jobId).catch(() => 'error' as const);
      if (job === 'error') return;
      if (job === undefined) {
        // Gone from Redis while awaited (Redis lost its data, or someone removed it).
        this.awaited.get(jobId)?.reject(new HttpError(503, 'the job was lost from the queue (was Redis restarted without persistence?)', 'send the file again'));
        this.awaited.delete(jobId);
        continue;
      }
      if (job.finishedOn === undefined) continue;
      if (job.failedReason) this.settle(jobId, 'failed', job.failedReason);
      else this.settle(jobId, 'completed', job.returnvalue);
    }
  }
}
