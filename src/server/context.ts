import type { EngineInfo } from '../engine/index.js';
import type { CheckHistory } from '../history/check-history.js';
import type { JobStore } from './jobs.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { DetectionStatus } from './model-pool.js';
import type { ResolvedServerOptions } from './options.js';
import type { WorkQueue } from './queue.js';
import type { RunWatchers } from './run-watch.js';

/** What the route modules share. */
export interface ServerContext {
  options: ResolvedServerOptions;
  engine: EngineInfo;
  /** This server's own folder for uploads in progress (inside options.tmpDir). */
  uploadDir: string;
  /** Video analyses. */
  jobs: JobStore;
  /** Work done inside a request: image checks and generation. */
  requests: WorkQueue;
  watchers: RunWatchers;
  /** Where the models run (detection, video, generation): this process's worker threads, or workers behind Redis. */
  models: JobQueue;
  /** Whether the workers could load the detection module. */
  detection: DetectionStatus;
  /** Every check remembered (SQLite, or Redis in queue mode), or nothing with --no-history. */
  history: CheckHistory;
  /** fakeface's version: part of the key a remembered answer is found by. */
  version: string;
  log(message: string, error?: unknown): void;
}
