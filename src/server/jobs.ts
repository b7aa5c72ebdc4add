import { randomUUID } from 'node:crypto';
import type { VideoDetection } from '../detect/types.js';
import type { CheckRef, Job, JobEvents, KeyFrameThumb } from './api-types.js';
import { toHttpResponse } from './http-error.js';
import type { WorkQueue } from './queue.js';

export interface JobOutcome {
  result: VideoDetection;
  /** JPEG thumbnails of the key frames, served at /api/jobs/:id/frames/:n.jpg. */
  thumbnails: Array<{ frame: number; timeSeconds: number; pFake: number | null; jpeg: Buffer }>;
  /** Its place in the history of checks, once recorded there. */
  check?: CheckRef;
}

/** The job's work; it stops early (rejecting) once `signal` fires, when the job is cancelled. */
export type JobWork = (reportProgress: (done: number, total: number | null) => void, signal: AbortSignal) => Promise<JobOutcome>;

/** A job in one of these states has finished and changes no more. */
export const isFinished = (status: Job['status']): boolean => status === 'done' || status === 'failed' || status === 'cancelled';

type Listener = <E extends keyof JobEvents>(event: E, data: JobEvents[E]) => void;

interface JobRecord {
  job: Job;
  thumbnails: Buffer[];
  listeners: Set<Listener>;
  finishedAtMs: number | null;
  /** Fires on cancel(); the work watches it. */
  controller: AbortController;
  /** Removes the job's upload (once: later calls wait for the first). */
  cleanup: () => Promise<void>;
  /** Resolves once the job has finished, whichever way. */
  settled: Promise<void>;
}

const CANCELLED = 'cancelled: the analysis was stopped on request';

/** Most finished jobs kept (each holds its result and a few thumbnails), whatever their age. */
const MAX_FINISHED = 200;

/**
 * Video analyses as jobs: created by an upload, run through the bounded queue,
 * observed by polling (GET /api/jobs/:id) or by SSE (progress, then the job).
 * Finished jobs are forgotten after the TTL.
 */
export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly queue: WorkQueue,
    private readonly ttlMs: number,
    private readonly log: (message: string, error?: unknown) => void,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, ttlMs)).unref();
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id)?.job;
  }

  thumbnail(id: string, n: number): Buffer | undefined {
    return this.jobs.get(id)?.thumbnails[n];
  }

  /**
   * Creates a job and queues its work; throws the queue's 503 when full (and
   * then `work` never runs: the caller removes its upload). `cleanup` runs once
   * the job has finished either way.
   */
  submit(file: string, work: JobWork, cleanup: () => Promise<void>): Job {
    const { id, job, record, settle } = this.create(file, cleanup);
    const run = async (): Promise<void> => {
      if (job.status === 'cancelled') return; // cancelled while it waited: already finished
      try {
        this.complete(record, await work((done, total) => {
          job.progress = { done, total };
          this.emit(record, 'progress', job.progress);
        }, record.controller.signal));
      } catch (error) {
        if (record.controller.signal.aborted) {
          job.error = CANCELLED;
          job.status = 'cancelled';
        } else {
          const response = toHttpResponse(error);
          if (response.status >= 500) this.log(`job ${id} (${file}) failed`, error);
          job.error = response.body.error;
          job.status = 'failed';
        }
      } finally {
        await record.cleanup();
      }
      this.finish(record);
      settle();
    };
    // Throws (503) before anything is recorded when the queue is full.
    void this.queue.add(run, () => {
      if (job.status === 'cancelled') return;
      job.status = 'running';
      job.startedAt = new Date().toISOString();
      job.position = null;
      this.emit(record, 'job', job);
      this.updatePositions();
    });
    this.jobs.set(id, record);
    if (job.status === 'queued') this.updatePositions();
    return job;
  }

  /** A job that is done already: a video answered from the history of checks (it waits in no queue). */
  finished(file: string, outcome: JobOutcome): Job {
    const { id, job, record, settle } = this.create(file, async () => undefined);
    job.startedAt = job.createdAt;
    this.complete(record, outcome);
    this.jobs.set(id, record);
    this.finish(record);
    settle();
    return job;
  }

  private complete(record: JobRecord, outcome: JobOutcome): void {
    const { job } = record;
    record.thumbnails = outcome.thumbnails.map((t) => t.jpeg);
    job.keyFrames = outcome.thumbnails.map(
      (t, n): KeyFrameThumb => ({ frame: t.frame, timeSeconds: t.timeSeconds, pFake: t.pFake, url: `/api/jobs/${job.id}/frames/${n}.jpg` }),
    );
    job.result = outcome.result;
    if (outcome.check) job.check = outcome.check;
    job.status = 'done';
  }

  private create(file: string, cleanup: () => Promise<void>): { id: string; job: Job; record: JobRecord; settle: () => void } {
    this.sweep();
    const id = randomUUID();
    const job: Job = {
      id,
      kind: 'video',
      status: 'queued',
      file,
      position: null,
      progress: { done: 0, total: null },
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      result: null,
      keyFrames: [],
      error: null,
    };
    let settle!: () => void;
    let cleaning: Promise<void> | undefined;
    const record: JobRecord = {
      job,
      thumbnails: [],
      listeners: new Set(),
      finishedAtMs: null,
      controller: new AbortController(),
      cleanup: () => (cleaning ??= cleanup().catch((error: unknown) => this.log(`job ${id}: cleanup failed`, error))),
      settled: new Promise((resolve) => (settle = resolve)),
    };
    return { id, job, record, settle };
  }

  /**
   * Stops a job and removes its upload: a queued one at once (it never starts), a
   * running one at its next frame. Resolves to the job once it has finished
   * (unchanged when it already had); undefined for an unknown id.
   */
  async cancel(id: string): Promise<Job | undefined> {
    const record = this.jobs.get(id);
    if (!record) return undefined;
    if (isFinished(record.job.status)) return record.job;
    record.controller.abort();
    if (record.job.status === 'queued') {
      record.job.status = 'cancelled';
      record.job.error = CANCELLED;
      record.job.position = null;
      await record.cleanup();
      this.finish(record);
      return record.job;
    }
    await record.settled;
    return record.job;
  }

  /** Calls `listener` with every event of the job until the returned function is called. */
  subscribe(id: string, listener: Listener): () => void {
    const record = this.jobs.get(id);
    if (!record) return () => undefined;
    record.listeners.add(listener);
    return () => record.listeners.delete(listener);
  }

  get counts(): { running: number; waiting: number; capacity: number } {
    return { running: this.queue.running, waiting: this.queue.waiting, capacity: this.queue.capacity };
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const record of this.jobs.values()) record.listeners.clear();
  }

  /** Stamps the end of a job and tells its listeners (and the jobs queued behind it). */
  private finish(record: JobRecord): void {
    record.job.finishedAt = new Date().toISOString();
    record.finishedAtMs = Date.now();
    this.emit(record, 'job', record.job);
    this.updatePositions();
  }

  private emit<E extends keyof JobEvents>(record: JobRecord, event: E, data: JobEvents[E]): void {
    for (const listener of record.listeners) listener(event, data);
  }

  /** Queued jobs start in creation order: each one's place is one more than the queued jobs before it. */
  private updatePositions(): void {
    let position = 0;
    for (const record of this.jobs.values()) {
      if (record.job.status !== 'queued') continue;
      position++;
      if (record.job.position !== position) {
        record.job.position = position;
        this.emit(record, 'job', record.job);
      }
    }
  }

  private sweep(): void {
    const now = Date.now();
    const finished = [...this.jobs.entries()].filter(([, r]) => r.finishedAtMs !== null);
    for (const [id, record] of finished) {
      if (now - record.finishedAtMs! > this.ttlMs) this.jobs.delete(id);
    }
    const left = finished.filter(([id]) => this.jobs.has(id));
    for (const [id] of left.slice(0, Math.max(0, left.length - MAX_FINISHED))) this.jobs.delete(id);
  }
}
