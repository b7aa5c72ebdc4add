/**
 * The history of checks in Redis, for queue mode (`fakeface serve --queue`):
 * every server on that Redis sees the same history, and it outlives any one of
 * them. Keys (under fakeface:history:):
 *   sum:<id>   the CheckSummary, JSON        rec:<id>  the whole CheckRecord, JSON
 *   time       sorted set of ids by time     bytes:<sha256>:<key>  the newest id for those bytes
 * Records expire with the retention (Redis drops them itself); the sorted set is
 * trimmed on prune(). What survives a Redis restart is what Redis persists
 * (see README, "Scaling out").
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../queue/redis.js';
import { redactUrl } from '../queue/job-queue.js';
import {
  clampPage,
  matchesQuery,
  parseQuery,
  resolveRetention,
  retentionCutoff,
  toRecord,
  toSummary,
  type CheckHistory,
  type CheckQuery,
  type CheckRecord,
  type CheckSummary,
  type HistoryInfo,
  type NewCheck,
  type RetentionOptions,
} from './check-history.js';

const PREFIX = 'fakeface:history:';
const TIME = `${PREFIX}time`;
const SCAN_CHUNK = 500;

const bytesKey = (sha256: string, answerKey: string) => `${PREFIX}bytes:${sha256}:${createHash('sha256').update(answerKey).digest('hex').slice(0, 16)}`;

export class RedisCheckHistory implements CheckHistory {
  readonly info: HistoryInfo;
  private readonly redis: Redis;

  constructor(url: string, options: RetentionOptions = {}, log: (message: string) => void = () => undefined) {
    this.redis = connectRedis(url, (message) => log(`history: Redis: ${message}`));
    this.info = { enabled: true, store: 'redis', location: redactUrl(url), ...resolveRetention(options) };
  }

  private get ttlMs(): number {
    return this.info.retentionDays * 24 * 3600 * 1000;
  }

  async findRepeat(sha256: string, answerKey: string): Promise<CheckRecord | null> {
    const id = await this.redis.get(bytesKey(sha256, answerKey));
    return id ? this.get(id) : null;
  }

  async record(check: NewCheck): Promise<CheckRecord> {
    const record = toRecord(check, randomUUID(), new Date());
    const ttl = this.ttlMs;
    await this.redis
      .multi()
      .set(`${PREFIX}rec:${record.id}`, JSON.stringify(record), 'PX', ttl)
      .set(`${PREFIX}sum:${record.id}`, JSON.stringify(toSummary(record)), 'PX', ttl)
      .set(bytesKey(record.sha256, check.answerKey), record.id, 'PX', ttl)
      .zadd(TIME, Date.parse(record.checkedAt), record.id)
      .exec();
    return record;
  }

  async get(id: string): Promise<CheckRecord | null> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return null;
    const json = await this.redis.get(`${PREFIX}rec:${id}`);
    return json ? (JSON.parse(json) as CheckRecord) : null;
  }

  async list(query: CheckQuery = {}): Promise<{ checks: CheckSummary[]; total: number }> {
    const { limit, offset } = clampPage(query);
    const parsed = parseQuery(query.q);
    await this.redis.zremrangebyscore(TIME, '-inf', `(${retentionCutoff(this.info.retentionDays, new Date())}`);
    if (parsed === null) {
      const [ids, total] = await Promise.all([this.redis.zrevrange(TIME, offset, offset + limit - 1), this.redis.zcard(TIME)]);
      return { checks: await this.summaries(ids), total };
    }
    // A search reads the summaries newest first, in chunks (bounded by maxChecks).
    const matches: CheckSummary[] = [];
    let total = 0;
    for (let start = 0; start < this.info.maxChecks; start += SCAN_CHUNK) {
      const ids = await this.redis.zrevrange(TIME, start, start + SCAN_CHUNK - 1);
      for (const summary of await this.summaries(ids)) {
        if (!matchesQuery(summary, parsed)) continue;
        if (total >= offset && matches.length < limit) matches.push(summary);
        total++;
      }
      if (ids.length < SCAN_CHUNK) break;
    }
    return { checks: matches, total };
  }

  private async summaries(ids: string[]): Promise<CheckSummary[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => `${PREFIX}sum:${id}`));
    return values.flatMap((json) => (json ? [JSON.parse(json) as CheckSummary] : []));
  }

  async prune(now = new Date()): Promise<number> {
    const expired = await this.redis.zrangebyscore(TIME, '-inf', `(${retentionCutoff(this.info.retentionDays, now)}`);
    const overflow = await this.redis.zrange(TIME, 0, -this.info.maxChecks - 1);
    const gone = [...new Set([...expired, ...overflow])];
    if (gone.length > 0) {
      await this.redis
        .multi()
        .zrem(TIME, ...gone)
        .del(...gone.flatMap((id) => [`${PREFIX}rec:${id}`, `${PREFIX}sum:${id}`]))
        .exec();
    }
    return gone.length;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
