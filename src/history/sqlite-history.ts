/**
 * The history of checks in one SQLite file (better-sqlite3), the default store.
 * The schema is versioned with SQLite's user_version and brought up to date by
 * the migrations below, in order, each in a transaction: an old file is migrated
 * on open, a file from a newer fakeface is refused rather than damaged. WAL mode:
 * a reader (another server, a backup) never blocks the writer. The file is made
 * at the first check, not before: a server that checks nothing leaves no file.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UsageError } from '../errors.js';
import {
  clampPage,
  parseQuery,
  resolveRetention,
  retentionCutoff,
  toRecord,
  type CheckHistory,
  type CheckQuery,
  type CheckRecord,
  type CheckSummary,
  type HistoryInfo,
  type NewCheck,
  type RetentionOptions,
} from './check-history.js';

/** Migration n (1-based) takes the schema from version n-1 to n. Append only; never edit a released one. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE checks (
     id TEXT PRIMARY KEY,
     file TEXT NOT NULL,
     sha256 TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     kind TEXT NOT NULL,
     verdict TEXT NOT NULL,
     confidence REAL,
     p_fake REAL,
     detector TEXT NOT NULL,
     answer_key TEXT NOT NULL,
     checked_at INTEGER NOT NULL,
     faces TEXT NOT NULL,
     result TEXT NOT NULL
   );
   CREATE INDEX checks_by_time ON checks (checked_at);
   CREATE INDEX checks_by_bytes ON checks (sha256, answer_key, checked_at);`,
  // 2: case-insensitive name search without scanning every result.
  `ALTER TABLE checks ADD COLUMN file_lower TEXT NOT NULL DEFAULT '';
   UPDATE checks SET file_lower = lower(file);`,
];

interface Row {
  id: string;
  file: string;
  sha256: string;
  bytes: number;
  kind: 'image' | 'video';
  verdict: CheckSummary['verdict'];
  confidence: number | null;
  p_fake: number | null;
  detector: string;
  checked_at: number;
  faces: string;
  result?: string;
}

const SUMMARY_COLUMNS = 'id, file, sha256, bytes, kind, verdict, confidence, p_fake, detector, checked_at, faces';

function toSummaryRow(row: Row): CheckSummary {
  return {
    id: row.id,
    file: row.file,
    sha256: row.sha256,
    bytes: row.bytes,
    kind: row.kind,
    verdict: row.verdict,
    confidence: row.confidence,
    pFake: row.p_fake,
    detector: row.detector,
    checkedAt: new Date(row.checked_at).toISOString(),
    faces: JSON.parse(row.faces) as CheckSummary['faces'],
  };
}

function toRecordRow(row: Row): CheckRecord {
  return { ...toSummaryRow(row), result: JSON.parse(row.result!) as CheckRecord['result'] };
}

/** Opens (creating or migrating) the file; a one-line UsageError when it cannot. */
function openDatabase(file: string): Database.Database {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file, { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, file);
    return db;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const hint = /not a database|malformed/i.test(message) ? ': move it away to start a new history, or use --no-history' : '';
    throw new UsageError(`cannot open the history file ${file}: ${message}${hint}`);
  }
}

export function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new UsageError(`the history file ${file} is from a newer fakeface (schema ${version}; this one knows ${MIGRATIONS.length}): upgrade fakeface, or use another --history-file`);
  }
  for (let next = version + 1; next <= MIGRATIONS.length; next++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[next - 1]!);
      db.pragma(`user_version = ${next}`);
    }).immediate();
  }
}

export class SqliteCheckHistory implements CheckHistory {
  readonly info: HistoryInfo;
  private opened: { db: Database.Database; insert: Database.Statement } | null = null;

  constructor(
    readonly file: string,
    options: RetentionOptions = {},
  ) {
    this.info = { enabled: true, store: 'sqlite', location: file, ...resolveRetention(options) };
    // A file already there is opened (and migrated) now, so a bad one is reported at start.
    if (existsSync(file)) this.open();
  }

  /** The database, made on first need; null for reads before any check was recorded. */
  private open(create = true): { db: Database.Database; insert: Database.Statement } | null {
    if (this.opened) return this.opened;
    if (!create && !existsSync(this.file)) return null;
    const db = openDatabase(this.file);
    const insert = db.prepare(
      `INSERT INTO checks (id, file, file_lower, sha256, bytes, kind, verdict, confidence, p_fake, detector, answer_key, checked_at, faces, result)
       VALUES (@id, @file, @fileLower, @sha256, @bytes, @kind, @verdict, @confidence, @pFake, @detector, @answerKey, @checkedAt, @faces, @result)`,
    );
    this.opened = { db, insert };
    return this.opened;
  }

  private get reader(): Database.Database | null {
    return this.open(false)?.db ?? null;
  }

  async findRepeat(sha256: string, answerKey: string): Promise<CheckRecord | null> {
    const row = this.reader
      ?.prepare(`SELECT ${SUMMARY_COLUMNS}, result FROM checks WHERE sha256 = ? AND answer_key = ? AND checked_at >= ? ORDER BY checked_at DESC LIMIT 1`)
      .get(sha256, answerKey, retentionCutoff(this.info.retentionDays, new Date())) as Row | undefined;
    return row ? toRecordRow(row) : null;
  }

  async record(check: NewCheck): Promise<CheckRecord> {
    const record = toRecord(check, randomUUID(), new Date());
    this.open()!.insert.run({
      id: record.id,
      file: record.file,
      fileLower: record.file.toLowerCase(),
      sha256: record.sha256,
      bytes: record.bytes,
      kind: record.kind,
      verdict: record.verdict,
      confidence: record.confidence,
      pFake: record.pFake,
      detector: record.detector,
      answerKey: check.answerKey,
      checkedAt: Date.parse(record.checkedAt),
      faces: JSON.stringify(record.faces),
      result: JSON.stringify(record.result),
    });
    return record;
  }

  async get(id: string): Promise<CheckRecord | null> {
    const row = this.reader?.prepare(`SELECT ${SUMMARY_COLUMNS}, result FROM checks WHERE id = ?`).get(id) as Row | undefined;
    return row ? toRecordRow(row) : null;
  }

  async list(query: CheckQuery = {}): Promise<{ checks: CheckSummary[]; total: number }> {
    const { limit, offset } = clampPage(query);
    const db = this.reader;
    if (!db) return { checks: [], total: 0 };
    const parsed = parseQuery(query.q);
    const where = parsed === null ? '' : parsed.sha256Prefix === null ? 'WHERE instr(file_lower, @name) > 0' : 'WHERE instr(file_lower, @name) > 0 OR substr(sha256, 1, @prefixLength) = @prefix';
    const params = parsed === null ? {} : parsed.sha256Prefix === null ? { name: parsed.name } : { name: parsed.name, prefix: parsed.sha256Prefix, prefixLength: parsed.sha256Prefix.length };
    const total = (db.prepare(`SELECT count(*) AS n FROM checks ${where}`).get(params) as { n: number }).n;
    const rows = db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM checks ${where} ORDER BY checked_at DESC, rowid DESC LIMIT @limit OFFSET @offset`).all({ ...params, limit, offset }) as Row[];
    return { checks: rows.map(toSummaryRow), total };
  }

  async prune(now = new Date()): Promise<number> {
    const db = this.reader;
    if (!db) return 0;
    const expired = db.prepare('DELETE FROM checks WHERE checked_at < ?').run(retentionCutoff(this.info.retentionDays, now)).changes;
    const overflow = db
      .prepare('DELETE FROM checks WHERE rowid IN (SELECT rowid FROM checks ORDER BY checked_at DESC, rowid DESC LIMIT -1 OFFSET ?)')
      .run(this.info.maxChecks).changes;
    return expired + overflow;
  }

  async close(): Promise<void> {
    this.opened?.db.close();
    this.opened = null;
  }
}
