/**
 * The history of checks: every image or video the server judged, remembered by
 * the sha256 of its bytes (no image is kept), so that the page can list and
 * re-open past results and a re-upload of the same file is answered from here.
 *
 * Three stores behind one interface:
 * - SqliteCheckHistory (./sqlite-history.ts), the default: one SQLite file;
 * - RedisCheckHistory (./redis-history.ts), in queue mode: every server on that Redis shares it;
 * - DisabledCheckHistory (below), with --no-history.
 */
import type { CheckFace, CheckRecord, CheckSummary, HistoryInfo } from '../server/api-types.js';
import type { Detection } from '../detect/types.js';

export type { CheckFace, CheckRecord, CheckSummary, HistoryInfo };

/** What a new check brings to history; id and time are the store's. */
export interface NewCheck {
  file: string;
  sha256: string;
  bytes: number;
  /** What else decides the answer besides the bytes (detector, options, version): see answerKey(). */
  answerKey: string;
  result: Detection;
}

export interface CheckQuery {
  /** Part of a file name (case-insensitive), or the start of a sha256 (at least 6 hex digits). */
  q?: string;
  limit?: number;
  offset?: number;
}

export interface CheckHistory {
  readonly info: HistoryInfo;
  /** The newest check of these bytes answered under the same key, if still kept. */
  findRepeat(sha256: string, answerKey: string): Promise<CheckRecord | null>;
  record(check: NewCheck): Promise<CheckRecord>;
  get(id: string): Promise<CheckRecord | null>;
  /** Newest first. */
  list(query?: CheckQuery): Promise<{ checks: CheckSummary[]; total: number }>;
  /** Removes checks past the retention bounds; how many went. */
  prune(now?: Date): Promise<number>;
  close(): Promise<void>;
}

export interface RetentionOptions {
  /** @default 30 */
  retentionDays?: number;
  /** @default 100000 */
  maxChecks?: number;
}

export const DEFAULT_RETENTION_DAYS = 30;
export const DEFAULT_MAX_CHECKS = 100_000;
export const MAX_LIST_LIMIT = 200;
const DAY_MS = 24 * 3600 * 1000;

export function resolveRetention(options: RetentionOptions): { retentionDays: number; maxChecks: number } {
  return { retentionDays: options.retentionDays ?? DEFAULT_RETENTION_DAYS, maxChecks: options.maxChecks ?? DEFAULT_MAX_CHECKS };
}

/** The oldest time still kept, ms since the epoch. */
export function retentionCutoff(retentionDays: number, now: Date): number {
  return now.getTime() - retentionDays * DAY_MS;
}

/**
 * Everything besides the file's bytes that decides the answer: which detector
 * (`decidedBy`: a detector folder, the built-in one by name, a run), the
 * whole-image option, and the fakeface version (a new release may ship a new
 * detector). Only a check made under the same key is given back for a repeated file.
 */
export function answerKey(parts: { decidedBy: string; wholeImage?: boolean; version: string }): string {
  return `${parts.decidedBy}|whole-image:${parts.wholeImage ? 1 : 0}|fakeface:${parts.version}`;
}

/** The score that decided a result, for the list. */
function decidingScore(result: Detection): number | null {
  if (result.kind === 'video') return result.pFake;
  if (result.faces.length > 0) return Math.max(...result.faces.map((face) => face.pFake));
  return result.wholeImage?.pFake ?? null;
}

/** The faces to list: an image's, or those of a video's key frames. */
function facesOf(result: Detection): CheckFace[] {
  const faces = result.kind === 'image' ? result.faces : result.keyFrames.flatMap((index) => result.frames[index]?.faces ?? []);
  return faces.map(({ box, pFake, verdict }) => ({ box: { x: box.x, y: box.y, width: box.width, height: box.height }, pFake, verdict }));
}

/** The stored form of a check. */
export function toRecord(check: NewCheck, id: string, checkedAt: Date): CheckRecord {
  const { result } = check;
  return {
    id,
    file: check.file,
    sha256: check.sha256,
    bytes: check.bytes,
    kind: result.kind,
    verdict: result.verdict,
    confidence: result.confidence,
    pFake: decidingScore(result),
    detector: result.detector.name,
    checkedAt: checkedAt.toISOString(),
    faces: facesOf(result),
    result,
  };
}

export function toSummary(record: CheckRecord): CheckSummary {
  const { result: _result, ...summary } = record;
  return summary;
}

export interface ParsedQuery {
  /** Lower case; matches anywhere in the file name. */
  name: string;
  /** Set when the text could be the start of a sha256 (6 to 64 hex digits). */
  sha256Prefix: string | null;
}

/** A search string as the stores read it: part of a name, or the start of a sha256; null: everything. */
export function parseQuery(q: string | undefined): ParsedQuery | null {
  const text = (q ?? '').trim().slice(0, 200).toLowerCase();
  if (text === '') return null;
  return { name: text, sha256Prefix: /^[0-9a-f]{6,64}$/.test(text) ? text : null };
}

export function matchesQuery(summary: Pick<CheckSummary, 'file' | 'sha256'>, query: ParsedQuery | null): boolean {
  if (!query) return true;
  return summary.file.toLowerCase().includes(query.name) || (query.sha256Prefix !== null && summary.sha256.startsWith(query.sha256Prefix));
}

export function clampPage(query: CheckQuery): { limit: number; offset: number } {
  const limit = Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(query.limit ?? 50)));
  const offset = Math.max(0, Math.floor(query.offset ?? 0));
  return { limit, offset };
}

/** --no-history: remembers nothing. */
export class DisabledCheckHistory implements CheckHistory {
  readonly info: HistoryInfo = { enabled: false, store: 'none', location: null, retentionDays: 0, maxChecks: 0 };
  async findRepeat(): Promise<null> {
    return null;
  }
  async record(check: NewCheck): Promise<CheckRecord> {
    return toRecord(check, 'not-stored', new Date());
  }
  async get(): Promise<null> {
    return null;
  }
  async list(): Promise<{ checks: CheckSummary[]; total: number }> {
    return { checks: [], total: 0 };
  }
  async prune(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}
