/**
 * The history of checks in Redis (queue mode), against a real redis-server on a
 * free loopback port: the same behaviour as the SQLite store, shared by two
 * servers' connections, and kept across a Redis restart (AOF). Skipped, saying
 * so, where redis-server is absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageDetection } from '../src/detect/types.js';
import { answerKey, toSummary, type NewCheck } from '../src/history/check-history.js';
import { RedisCheckHistory } from '../src/history/redis-history.js';
import { tempFolder } from './helpers/data.js';
import { REDIS_MISSING, REDIS_SERVER, freePort, startRedis, type TestRedis } from './helpers/redis.js';

if (!REDIS_SERVER) console.warn(REDIS_MISSING);

const KEY = answerKey({ decidedBy: 'builtin:probe', version: '0.1.0' });
const sha = (c: string) => c.repeat(64);

function check(file: string, sha256: string, key = KEY): NewCheck {
  const result: ImageDetection = {
    kind: 'image', file, width: 100, height: 100,
    faces: [{ box: { x: 1, y: 2, width: 50, height: 60, score: 0.9 }, pFake: 0.7, verdict: 'fake' }],
    wholeImage: null, verdict: 'fake', reason: null, confidence: 0.7, explanation: 'test',
    detector: { kind: 'detector', source: 'builtin:probe', name: 'probe', threshold: 0.5, inputSize: 224 }, ms: 3,
  };
  return { file, sha256, bytes: 99, answerKey: key, result };
}

describe.skipIf(!REDIS_SERVER)('RedisCheckHistory (real redis-server)', () => {
  const work = tempFolder('fakeface-history-redis-');
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis(await freePort(), work.dir);
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
    work.cleanup();
  });

  it('remembers, finds repeats by bytes and key, lists newest first and searches, across two connections', async () => {
    const a = new RedisCheckHistory(redis.url);
    const b = new RedisCheckHistory(redis.url);
    try {
      expect(a.info).toMatchObject({ enabled: true, store: 'redis', location: redis.url, retentionDays: 30 });
      const first = await a.record(check('Press_Photo.jpg', sha('1')));
      await new Promise((r) => setTimeout(r, 3));
      const second = await a.record(check('other.png', sha('2')));
      expect((await b.findRepeat(sha('1'), KEY))?.id).toBe(first.id);
      expect(await b.findRepeat(sha('1'), answerKey({ decidedBy: 'detector:/x', version: '0.1.0' }))).toBeNull();
      expect(await b.get(first.id)).toEqual(first);
      expect(await b.get('not-an-id')).toBeNull();
      const all = await b.list();
      expect(all.total).toBe(2);
      expect(all.checks.map((c) => c.id)).toEqual([second.id, first.id]);
      expect(all.checks[1]).toEqual(toSummary(first));
      expect((await b.list({ q: 'press' })).checks.map((c) => c.file)).toEqual(['Press_Photo.jpg']);
      expect((await b.list({ q: '222222' })).checks.map((c) => c.file)).toEqual(['other.png']);
      expect(await b.list({ q: 'nothing' })).toEqual({ checks: [], total: 0 });
      expect((await b.list({ limit: 1, offset: 1 })).checks.map((c) => c.id)).toEqual([first.id]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps the history across a Redis restart, and prunes by days and by count', async () => {
    await redis.stop();
    await redis.start();
    const history = new RedisCheckHistory(redis.url, { retentionDays: 7, maxChecks: 3 });
    try {
      expect((await history.list()).total).toBe(2);
      for (const c of ['3', '4', '5']) {
        await history.record(check(`${c}.jpg`, sha(c)));
        await new Promise((r) => setTimeout(r, 3));
      }
      expect(await history.prune()).toBe(2); // five kept at most three
      expect((await history.list()).checks.map((c) => c.file)).toEqual(['5.jpg', '4.jpg', '3.jpg']);
      expect(await history.findRepeat(sha('1'), KEY)).toBeNull(); // pruned: no answer from it
      expect(await history.prune(new Date(Date.now() + 8 * 24 * 3600 * 1000))).toBe(3);
      expect(await history.list()).toEqual({ checks: [], total: 0 });
    } finally {
      await history.close();
    }
  }, 30_000);
});
