/**
 * The JSON the HTTP API sends, shared by the server (src/server/) and the page
 * (web/src/). Type-only and free of Node imports, so the browser build can use it.
 * openapi.json documents the same shapes for other clients.
 */
import type { ImageDetection, VideoDetection, Verdict } from '../detect/types.js';

export type { ImageDetection, VideoDetection, Detection, FaceResult, FrameResult, DetectorInfo, Verdict } from '../detect/types.js';

/** Every error response: one line for people, sometimes a hint on what to do. */
export interface ApiError {
  error: string;
  hint?: string;
}

/** GET /api/health's view of the job queue (src/queue/job-queue.ts). */
export interface QueueHealth {
  mode: 'in-process' | 'redis';
  /** The Redis URL (without a password), for mode redis. */
  url: string | null;
  /** False while Redis cannot be reached (jobs then wait in Redis or are refused with 503). */
  connected: boolean;
  /** Jobs waiting for a worker, and running now. */
  waiting: number;
  active: number;
  /** Jobs that failed and are still kept (redis only; else 0). */
  failed: number;
  /** Workers connected to the queue (redis), or model worker threads (in-process). */
  workers: number;
  /** Why `connected` is false. */
  error: string | null;
}

export interface Health {
  status: 'ok';
  version: string;
  /** The tfjs backend the server runs on, in words. */
  engine: string;
  /** Whether POST /api/detect can score uploads (the detection module is present). */
  detection: { available: boolean; reason: string | null };
  runsDir: string;
  runs: number;
  jobs: { running: number; waiting: number; capacity: number };
  /** Where jobs run: this process (in-process) or workers behind Redis; depth and whether Redis answers. */
  queue: QueueHealth;
  maxUploadBytes: number;
  uptimeSeconds: number;
  /** Where checks are remembered (GET /api/checks). */
  history: HistoryInfo;
}

/** Where the history of checks lives (src/history/). */
export interface HistoryInfo {
  /** False with --no-history: nothing is stored and no answer comes from history. */
  enabled: boolean;
  /** `sqlite` (a file, the default), `redis` (queue mode: shared by every server on that Redis), or `none`. */
  store: 'sqlite' | 'redis' | 'none';
  /** The SQLite file, or the Redis URL without its password; null when disabled. */
  location: string | null;
  /** Checks older than this many days are removed. */
  retentionDays: number;
  /** At most this many checks are kept (the oldest go first). */
  maxChecks: number;
}

/** One face of a remembered check: where it was and what it scored. */
export interface CheckFace {
  box: { x: number; y: number; width: number; height: number };
  pFake: number;
  verdict: Verdict;
}

/** One remembered check, as listed by GET /api/checks. No image is kept: only what was said of it. */
export interface CheckSummary {
  id: string;
  /** The uploaded file's name (cleaned for display). */
  file: string;
  /** sha256 of the uploaded bytes, hex: a re-upload of the same bytes is answered from history. */
  sha256: string;
  bytes: number;
  kind: 'image' | 'video';
  verdict: Verdict;
  confidence: number | null;
  /** The score that decided: the highest face p(fake), the whole-image score, or the video's. */
  pFake: number | null;
  /** Which detector decided, by name. */
  detector: string;
  /** When it was checked (ISO 8601). */
  checkedAt: string;
  /** Faces found (for a video: in its key frames), with their boxes. */
  faces: CheckFace[];
}

/** GET /api/checks/:id: the summary and the whole result, as it was answered. */
export interface CheckRecord extends CheckSummary {
  result: ImageDetection | VideoDetection;
}

/** GET /api/checks?q=&limit=&offset= (newest first). */
export interface CheckList {
  checks: CheckSummary[];
  /** Matches in all (for paging). */
  total: number;
  history: HistoryInfo;
}

/** Set on an image result (and a video job) once the check is in history. */
export interface CheckRef {
  id: string;
  /** True when this answer is the remembered one for the same bytes, not a new analysis. */
  fromHistory: boolean;
  /** When the remembered analysis was made. */
  checkedAt: string;
}

export type RunStatus = 'running' | 'finished' | 'interrupted' | 'stopped-early' | 'failed' | 'unknown';

/** One line of a run's metrics.jsonl. */
export interface MetricsPoint {
  iteration: number;
  dLossReal: number;
  dLossFake: number;
  dAccReal: number;
  dAccFake: number;
  dAcc: number;
  gLoss: number;
  ms: number;
  [extra: string]: number;
}

export interface RunSummary {
  /** The run's folder name, or `<experiment>:<run>` for a run of experiments/<experiment>/runs/. */
  id: string;
  /** The experiment the run belongs to, or null for a run of the runs folder. */
  experiment: string | null;
  status: RunStatus;
  iteration: number;
  iterations: number;
  /** When state.json was last written (start and end of a run). */
  updatedAt: string | null;
  /** When metrics.jsonl last changed: a "running" run silent for long was probably killed. */
  lastActivityAt: string | null;
  stopReason: string | null;
  engine: string | null;
  preset: string | null;
  architecture: string | null;
  resolution: number | null;
  /** Whether the run has a checkpoint, i.e. can generate faces. */
  hasCheckpoint: boolean;
  /** Trained with --conditional: POST /api/generate takes age, gender and race for it. */
  conditional: boolean;
  /** Last metrics line, if any. */
  last: MetricsPoint | null;
  /** URL of the newest sample grid, null before the first one. */
  latestSample: string | null;
}

export interface RunDetail extends RunSummary {
  config: Record<string, unknown> | null;
  /** The metrics, thinned to at most `maxPoints` lines (every line when fewer); the last line is always kept. */
  metrics: MetricsPoint[];
  metricsTotal: number;
  /** Every sample grid, oldest first: { iteration, url }. */
  samples: SampleGrid[];
}

export interface SampleGrid {
  iteration: number;
  url: string;
}

export interface ExperimentReport {
  id: string;
  title: string;
  url: string;
}

/** A model shipped with fakeface (models/ in the package), used when no run or detector is named. */
export interface BuiltInModelInfo {
  /** `builtin:<name>`: what POST /api/generate takes as `run`, and a detector's `source`. */
  id: string;
  name: string;
  /** "built-in: <name>", for people. */
  label: string;
}

export interface BuiltInGeneratorInfo extends BuiltInModelInfo {
  /** From its card: the side of the faces it draws, and the training iteration it was exported at. */
  resolution: number;
  iteration: number;
  architecture: string;
  /** Conditional (age, gender, race labels): POST /api/generate takes age, gender and race for it. */
  conditional: boolean;
}

export type BuiltInDetectorInfo = BuiltInModelInfo;

export interface RunList {
  runsDir: string;
  runs: RunSummary[];
  /** Newest run that can generate faces (what the Generate page selects first; with none, the built-in generator), or null. */
  defaultRun: string | null;
  /** The shipped generator, which POST /api/generate uses when no run is named; null when this install has none. */
  builtInGenerator: BuiltInGeneratorInfo | null;
  /** Every shipped generator, the default first (a conditional one answers requests with labels when no run is named). */
  builtInGenerators: BuiltInGeneratorInfo[];
  /** The shipped detector, which POST /api/detect uses when neither the server's --detector nor a run is named; null when this install has none. */
  builtInDetector: BuiltInDetectorInfo | null;
  /**
   * What POST /api/detect checks with when no run is named, in words: the server's
   * --detector, else the built-in detector, else the newest run's discriminator;
   * null when there is none (it answers 503).
   */
  defaultDetector: string | null;
  experiments: ExperimentReport[];
  /** Shown when there is no run yet. */
  trainCommand: string;
}

/** Events of GET /api/runs/:id/events (the SSE `event:` names and their `data:`). */
export interface RunEvents {
  /** Sent first, and again when metrics.jsonl was rewritten (a resumed run drops lines). */
  snapshot: RunDetail;
  /** New complete lines of metrics.jsonl. */
  metrics: MetricsPoint[];
  /** A new sample grid was written. */
  sample: SampleGrid;
  /** state.json changed (status, iteration). */
  state: RunSummary;
}

/** `cancelled`: stopped by DELETE /api/jobs/:id before it finished. */
export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface KeyFrameThumb {
  /** Index into result.frames. */
  frame: number;
  timeSeconds: number;
  pFake: number | null;
  url: string;
}

export interface Job {
  id: string;
  kind: 'video';
  status: JobStatus;
  /** Original file name of the upload. */
  file: string;
  /** Place in the queue (1 = next) while queued, else null. */
  position: number | null;
  progress: { done: number; total: number | null };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: VideoDetection | null;
  /** Thumbnails of the frames that drove the decision (most suspicious first). */
  keyFrames: KeyFrameThumb[];
  error: string | null;
  /** The check's place in history, once done (absent with --no-history). */
  check?: CheckRef;
}

/** Body of the 202 answer to a video upload. */
export interface JobAccepted {
  job: Job;
  /** URLs of the job's status and its SSE progress stream. */
  statusUrl: string;
  eventsUrl: string;
}

/** Events of GET /api/jobs/:id/events. */
export interface JobEvents {
  /** The whole job: sent first and on every status change. */
  job: Job;
  progress: { done: number; total: number | null };
}

export type DetectResponse = ImageDetection & { check?: CheckRef };

export interface GenerateGridRequest {
  /** A run id, or the built-in generator's id (`builtin:<name>`); default: the built-in generator, else the newest run with a checkpoint. */
  run?: string;
  count?: number;
  seed?: number;
  columns?: number;
  /** Black pixels around and between the faces (default 2; 0: one face is exactly its pixels). */
  padding?: number;
  /** Conditional generators only (`conditional: true`): an age bucket ("60-80"), an age in years, or "any" (default). */
  age?: string;
  /** Conditional generators only: "male", "female" or "any" (default). */
  gender?: string;
  /** Conditional generators only: "white", "black", "asian", "indian", "others" or "any" (default). */
  race?: string;
}

export interface GenerateInterpolationRequest {
  run?: string;
  seedA: number;
  seedB: number;
  steps?: number;
  /** As in GenerateGridRequest. */
  padding?: number;
  /** As in GenerateGridRequest; the whole strip has these labels (fields left open: those of seedA's first face). */
  age?: string;
  gender?: string;
  race?: string;
}
