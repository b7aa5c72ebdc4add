/**
 * The server's model workers: inference (image checks, video analyses,
 * generation) runs in worker threads, so that the event loop stays free for
 * health checks, SSE progress and static files while models compute.
 *
 *   const pool = new ModelPool(2, { backend: 'wasm', threads: 1 }, log);
 *   const { engine } = await pool.start();          // the first worker is up
 *   const result = await pool.run({ kind: 'detect-image', file, opts: {} }, { signal, onProgress });
 *   await pool.close();
 *
 * Each worker does one task at a time; tasks wait (FIFO) for a free worker, and
 * workers are started as work needs them, up to `size`. The bounded queues in
 * front (./queue.ts) decide how much work may wait at all. A worker that dies
 * (crash, out of memory) fails its task with a one-line 500 and is replaced by the
 * next task that needs one. A cancelled task (its signal) is told to stop; one
 * that does not stop within a few seconds has its worker terminated.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { SHARE_ENV, Worker, type WorkerOptions } from 'node:worker_threads';
import type { BackendName, EngineInfo } from '../engine/index.js';
import { CancelledError } from '../errors.js';
import { HttpError } from './http-error.js';
import { reviveBuffers, type ModelResults, type ModelTask, type ProgressReport, type TaskOf } from './model-tasks.js';
import { deserializeError, serializeError, type SerializedError } from './worker-errors.js';

export interface WorkerSettings {
  backend: BackendName | 'auto';
  /** Threads of each worker's engine. */
  threads: number;
}

export interface DetectionStatus {
  available: boolean;
  /** Why detection is unavailable (the detection module failed to load). */
  reason: string | null;
}

export interface PoolReady {
  engine: EngineInfo;
  detection: DetectionStatus;
}

export type ToWorker = { type: 'run'; id: number; task: ModelTask } | { type: 'cancel'; id: number };
export type FromWorker =
  | ({ type: 'ready' } & PoolReady)
  | { type: 'start-failed'; error: SerializedError }
  | { type: 'progress'; id: number; done: number; total: number | null }
  | { type: 'done'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: SerializedError };

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: ProgressReport;
}

/** Workers by default: one per core, at most 4 (each holds its own copy of the models). */
export const defaultWorkerCount = () => Math.max(1, Math.min(4, availableParallelism()));

export interface PoolOptions {
  /** How long a cancelled task may take to stop before its worker is terminated. @default 5000 */
  cancelGraceMs?: number;
  /** Starts one worker (tests give a stand-in that speaks the same messages). @default the model worker */
  spawn?: (options: WorkerOptions) => Worker;
}

interface Pending {
  id: number;
  task: ModelTask;
  resolve(result: unknown): void;
  reject(error: unknown): void;
  options: RunOptions;
  cancelTimer?: NodeJS.Timeout;
  cancelled: boolean;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  current: Pending | null;
}

const DOING: Record<ModelTask['kind'], string> = {
  'detect-image': 'checking this image',
  'analyse-video': 'analysing this video',
  'generate-grid': 'generating faces',
  'generate-interpolation': 'generating faces',
};

const require = createRequire(import.meta.url);

/**
 * The worker's entry: the compiled model-worker.js beside this file; under tsx or
 * vitest (this file is the .ts source) a bootstrap that registers tsx's loader in
 * the worker, then imports model-worker.ts (a worker does not inherit the loader).
 */
export function spawnModelWorker(options: WorkerOptions): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./model-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(entry, options);
  // tsx's ESM API (require.resolve would give its CommonJS twin, whose register() cannot find its hooks).
  const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/index\.cjs$/, 'index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => api.register()).then(() => import(${JSON.stringify(entry.href)}))`;
  return new Worker(bootstrap, { ...options, eval: true, execArgv: [] });
}

export class ModelPool {
  private readonly slots = new Set<Slot>();
  private readonly waiting: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private first: Promise<PoolReady> | undefined;

  constructor(
    readonly size: number,
    private readonly settings: WorkerSettings,
    private readonly log: (message: string, error?: unknown) => void,
    private readonly poolOptions: PoolOptions = {},
  ) {}

  /** Starts the first worker: resolves with its engine and whether detection loads; rejects with the error that kept it from starting. */
  start(): Promise<PoolReady> {
    this.first ??= this.spawn();
    return this.first;
  }

  get running(): number {
    return [...this.slots].filter((slot) => slot.current).length;
  }

  /** Tasks waiting for a free worker. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` on a free worker; rejects with the task's own error (same class and message as in this thread). */
  run<K extends ModelTask['kind']>(task: TaskOf<K>, options: RunOptions = {}): Promise<ModelResults[K]> {
    if (this.closed) return Promise.reject(new HttpError(503, 'the server is shutting down'));
    return new Promise<ModelResults[K]>((resolve, reject) => {
      const pending: Pending = { id: this.nextId++, task, resolve: (r) => resolve(reviveBuffers(task.kind as K, r as ModelResults[K])), reject, options, cancelled: false };
      const { signal } = options;
      if (signal?.aborted) return reject(new CancelledError(`cancelled before it started`));
      signal?.addEventListener('abort', () => this.cancel(pending), { once: true });
      this.waiting.push(pending);
      this.dispatch();
    });
  }

  /** Terminates every worker; tasks still running or waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.waiting.splice(0)) pending.reject(new HttpError(503, 'the server is shutting down'));
    await Promise.all([...this.slots].map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) break;
      if (!slot.ready || slot.current) continue;
      const pending = this.waiting.shift()!;
      slot.current = pending;
      slot.worker.postMessage({ type: 'run', id: pending.id, task: pending.task } satisfies ToWorker);
    }
    const starting = [...this.slots].filter((slot) => !slot.ready).length;
    if (this.waiting.length > starting && this.slots.size < this.size && !this.closed) {
      this.spawn().catch((error: unknown) => {
        // A replacement that cannot start fails the work waiting for it (the next task tries again).
        this.log('a model worker failed to start', error);
        if ([...this.slots].some((slot) => slot.ready)) return;
        for (const pending of this.waiting.splice(0)) pending.reject(error);
      });
    }
  }

  private cancel(pending: Pending): void {
    pending.cancelled = true;
    const queued = this.waiting.indexOf(pending);
    if (queued >= 0) {
      this.waiting.splice(queued, 1);
      pending.reject(new CancelledError('cancelled before it started'));
      return;
    }
    const slot = [...this.slots].find((s) => s.current === pending);
    if (!slot) return;
    slot.worker.postMessage({ type: 'cancel', id: pending.id } satisfies ToWorker);
    pending.cancelTimer = setTimeout(() => {
      if (slot.current === pending) void slot.worker.terminate();
    }, this.poolOptions.cancelGraceMs ?? 5_000).unref();
  }

  private spawn(): Promise<PoolReady> {
    const worker = (this.poolOptions.spawn ?? spawnModelWorker)({ workerData: this.settings satisfies WorkerSettings, env: SHARE_ENV });
    // Workers never keep the process alive by themselves: the HTTP server does.
    worker.unref();
    const slot: Slot = { worker, ready: false, current: null };
    this.slots.add(slot);
    let lastError: unknown;
    return new Promise<PoolReady>((resolve, reject) => {
      const finish = (pending: Pending, settle: () => void) => {
        clearTimeout(pending.cancelTimer);
        if (slot.current === pending) slot.current = null;
        settle();
        this.dispatch();
      };
      worker.on('message', (message: FromWorker) => {
        const pending = slot.current;
        switch (message.type) {
          case 'ready':
            slot.ready = true;
            resolve({ engine: message.engine, detection: message.detection });
            this.dispatch();
            return;
          case 'start-failed':
            reject(deserializeError(message.error));
            void worker.terminate();
            return;
          case 'progress':
            if (pending?.id === message.id) pending.options.onProgress?.(message.done, message.total);
            return;
          case 'done':
            if (pending?.id === message.id) finish(pending, () => pending.resolve(message.result));
            return;
          case 'failed':
            if (pending?.id === message.id) finish(pending, () => pending.reject(deserializeError(message.error)));
            return;
        }
      });
      worker.on('error', (error) => {
        lastError = error;
        this.log('a model worker crashed', error);
      });
      worker.on('exit', (code) => {
        this.slots.delete(slot);
        const why = lastError instanceof Error ? lastError.message.split('\n')[0] : `exit code ${code}`;
        if (!slot.ready) reject(lastError instanceof Error ? deserializeError(serializeError(lastError)) : new Error(`the model worker exited (${why}) before it started`));
        const pending = slot.current;
        slot.current = null;
        if (pending) {
          clearTimeout(pending.cancelTimer);
          if (pending.cancelled) pending.reject(new CancelledError('cancelled: its worker was stopped'));
          else {
            this.log(`a model worker stopped (${why}) while ${DOING[pending.task.kind]}; starting another`);
            pending.reject(new HttpError(500, `the model worker stopped (${why}) while ${DOING[pending.task.kind]}; a new one has been started: try again`));
          }
        }
        if (!this.closed) this.dispatch();
      });
    });
  }
}
