import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { DEFAULT_MAX_CHECKS, DEFAULT_RETENTION_DAYS } from '../history/check-history.js';
import { checkRedisUrl } from '../queue/redis.js';
import { defaultWorkerCount } from './model-pool.js';

/** Options of createServer(); every field has a default. */
export interface ServerOptions {
  /** Interface to bind. Anything but loopback exposes the app to the network. @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one (the URL says which). @default 5170 */
  port?: number;
  /** Folder holding run folders (runs/<id>/config.json ...). @default 'runs' */
  runsDir?: string;
  /** Folder of experiments; each experiments/<id>/report.html is linked from the Runs page. @default 'experiments' */
  experimentsDir?: string;
  /** Detector folder passed to detectImage/detectVideo; default: theirs (the shipped one when present). */
  detector?: string;
  /** Largest upload, in MiB; larger ones get 413. @default 50 */
  maxUploadMb?: number;
  /** Video jobs analysed at once. @default 1 */
  concurrentJobs?: number;
  /** Video jobs that may wait; beyond, uploads get 503 with Retry-After. @default 4 */
  queuedJobs?: number;
  /** Worker threads that run the models (each loads its own copy). @default one per core, at most 4 */
  workers?: number;
  /** Image checks and generations at once, plus how many may wait, before 503. @default `workers` and 4 */
  concurrentRequests?: number;
  queuedRequests?: number;
  /** Finished jobs are forgotten after this many seconds. @default 3600 */
  jobTtlSeconds?: number;
  /** Where uploads are written while they are analysed (a fresh folder inside it, removed on close). @default os.tmpdir() */
  tmpDir?: string;
  /** The built page (vite build web). @default the package's web/dist */
  webDir?: string;
  /**
   * tfjs backend of the model workers; `auto`: detection's choice (the native cpu backend
   * where the addon has the detection kernels, else wasm). @default 'auto'
   */
  backend?: BackendName | 'auto';
  /** How often run folders are polled for new metrics and samples (SSE). @default 1000 */
  watchIntervalMs?: number;
  /**
   * A Redis URL (redis://host:6379): jobs go through BullMQ to `fakeface worker`
   * processes and this server runs no models. Uploads are written inside `tmpDir`,
   * which the workers must be able to read at the same path. @default in-process
   */
  queue?: string;
  /** Remember every check (GET /api/checks) and answer a re-upload of the same bytes from it. @default true */
  history?: boolean;
  /** The history's SQLite file (not used in queue mode, where the history lives in that Redis). @default `<runsDir>/checks.sqlite` */
  historyFile?: string;
  /** Checks older than this are removed. @default 30 */
  historyDays?: number;
  /** At most this many checks are kept, the oldest removed first. @default 100000 */
  historyMaxChecks?: number;
}

export type ResolvedServerOptions = Readonly<Required<Omit<ServerOptions, 'detector' | 'queue'>> & { detector: string | undefined; queue: string | undefined; maxUploadBytes: number }>;

/** With a Redis queue the bounds are the workers': this server only waits on them. */
const QUEUE_MODE_CONCURRENCY = 256;

/** web/dist beside src/ or dist/ (both are one level below the package root). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

export const RUN_ID_PATTERN = /^[A-Za-z0-9._-]+$/;

function integer(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, not ${String(value)}`);
  }
  return value;
}

export function resolveServerOptions(opts: ServerOptions = {}): ResolvedServerOptions {
  const maxUploadMb = opts.maxUploadMb ?? 50;
  if (!(typeof maxUploadMb === 'number' && maxUploadMb > 0 && maxUploadMb <= 4096)) {
    throw new UsageError(`maxUploadMb must be a number above 0 and at most 4096, not ${String(opts.maxUploadMb)}`);
  }
  const workers = integer(opts.workers ?? defaultWorkerCount(), 'workers', 1, 64);
  const queue = opts.queue === undefined ? undefined : checkRedisUrl(opts.queue);
  const concurrency = queue === undefined ? undefined : QUEUE_MODE_CONCURRENCY;
  return {
    host: opts.host ?? '127.0.0.1',
    port: integer(opts.port ?? 5170, 'port', 0, 65535),
    runsDir: resolve(opts.runsDir ?? 'runs'),
    experimentsDir: resolve(opts.experimentsDir ?? 'experiments'),
    detector: opts.detector === undefined ? undefined : resolve(opts.detector),
    maxUploadMb,
    maxUploadBytes: Math.floor(maxUploadMb * 1024 * 1024),
    concurrentJobs: integer(opts.concurrentJobs ?? concurrency ?? 1, 'concurrentJobs', 1, QUEUE_MODE_CONCURRENCY),
    queuedJobs: integer(opts.queuedJobs ?? 4, 'queuedJobs', 0, 1000),
    workers,
    concurrentRequests: integer(opts.concurrentRequests ?? concurrency ?? workers, 'concurrentRequests', 1, QUEUE_MODE_CONCURRENCY),
    queuedRequests: integer(opts.queuedRequests ?? 4, 'queuedRequests', 0, 1000),
    jobTtlSeconds: integer(opts.jobTtlSeconds ?? 3600, 'jobTtlSeconds', 1, 7 * 24 * 3600),
    tmpDir: resolve(opts.tmpDir ?? tmpdir()),
    webDir: resolve(opts.webDir ?? DEFAULT_WEB_DIR),
    backend: opts.backend ?? 'auto',
    watchIntervalMs: integer(opts.watchIntervalMs ?? 1000, 'watchIntervalMs', 10, 60_000),
    queue,
    history: opts.history ?? true,
    historyFile: resolve(opts.historyFile ?? join(opts.runsDir ?? 'runs', 'checks.sqlite')),
    historyDays: integer(opts.historyDays ?? DEFAULT_RETENTION_DAYS, 'historyDays', 1, 36500),
    historyMaxChecks: integer(opts.historyMaxChecks ?? DEFAULT_MAX_CHECKS, 'historyMaxChecks', 1, 10_000_000),
  };
}
