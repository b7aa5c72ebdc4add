import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageDetection } from '../detect/types.js';
import { answerKey, type NewCheck } from './check-history.js';
import { MIGRATIONS, SqliteCheckHistory } from './sqlite-history.js';

const KEY = answerKey({ decidedBy: 'builtin:probe', version: '0.1.0' });

function imageResult(pFakes: number[], verdict: ImageDetection['verdict']): ImageDetection {
  return {
    kind: 'image',
    file: 'x.jpg',
    width: 200,
    height: 200,
    faces: pFakes.map((pFake, i) => ({ box: { x: 10 * i, y: 5, width: 80, height: 90, score: 0.9 }, pFake, verdict })),
    wholeImage: null,
    verdict,
    reason: null,
    confidence: 0.8,
    explanation: 'test',
    detector: { kind: 'detector', source: 'builtin:probe', name: 'probe', threshold: 0.5, inputSize: 224 },
    ms: 12,
  };
}

const check = (file: string, sha256: string, pFakes = [0.9], key = KEY): NewCheck => ({ file, sha256, bytes: 1234, answerKey: key, result: imageResult(pFakes, 'fake') });
const sha = (c: string) => c.repeat(64);

describe('SqliteCheckHistory', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fakeface-history-'));
    file = join(dir, 'sub', 'checks.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes no file until the first check, then keeps checks across reopening', async () => {
    const history = new SqliteCheckHistory(file);
    expect(await history.list()).toEqual({ checks: [], total: 0 });
    expect(await history.findRepeat(sha('a'), KEY)).toBeNull();
    expect(existsSync(file)).toBe(false);

    const first = await history.record(check('Holiday.JPG', sha('a'), [0.2, 0.95]));
    expect(first).toMatchObject({ file: 'Holiday.JPG', kind: 'image', verdict: 'fake', pFake: 0.95, detector: 'probe', bytes: 1234 });
    expect(first.faces).toEqual([
      { box: { x: 0, y: 5, width: 80, height: 90 }, pFake: 0.2, verdict: 'fake' },
      { box: { x: 10, y: 5, width: 80, height: 90 }, pFake: 0.95, verdict: 'fake' },
    ]);
    await history.close();
    expect(existsSync(file)).toBe(true);

    const reopened = new SqliteCheckHistory(file);
    expect(await reopened.get(first.id)).toEqual(first);
    expect((await reopened.findRepeat(sha('a'), KEY))?.id).toBe(first.id);
    await reopened.close();
  });

  it('answers a repeat only under the same key, newest first', async () => {
    const history = new SqliteCheckHistory(file);
    const old = await history.record(check('a.jpg', sha('a')));
    await new Promise((r) => setTimeout(r, 5));
    const newer = await history.record(check('a-again.jpg', sha('a')));
    const otherDetector = answerKey({ decidedBy: 'detector:/models/other', version: '0.1.0' });
    expect((await history.findRepeat(sha('a'), KEY))?.id).toBe(newer.id);
    expect(await history.findRepeat(sha('a'), otherDetector)).toBeNull();
    expect(await history.findRepeat(sha('a'), answerKey({ decidedBy: 'builtin:probe', version: '0.2.0' }))).toBeNull();
    expect(await history.findRepeat(sha('a'), answerKey({ decidedBy: 'builtin:probe', wholeImage: true, version: '0.1.0' }))).toBeNull();
    expect(await history.findRepeat(sha('b'), KEY)).toBeNull();
    expect((await history.list()).checks.map((c) => c.id)).toEqual([newer.id, old.id]);
    await history.close();
  });

  it('searches by part of the name (any case) or the start of the sha256, and pages', async () => {
    const history = new SqliteCheckHistory(file);
    await history.record(check('Press_Photo_1.jpg', sha('1')));
    await history.record(check('press_photo_2.jpg', sha('2')));
    await history.record(check('cat%_100.png', sha('3')));
    const names = async (q: string, limit?: number, offset?: number) => {
      const { checks, total } = await history.list({ q, limit, offset });
      return { files: checks.map((c) => c.file).sort(), total };
    };
    expect(await names('PHOTO')).toEqual({ files: ['Press_Photo_1.jpg', 'press_photo_2.jpg'], total: 2 });
    expect(await names('%_')).toEqual({ files: ['cat%_100.png'], total: 1 }); // no LIKE wildcards
    expect(await names('222222')).toEqual({ files: ['press_photo_2.jpg'], total: 1 });
    expect(await names('22222')).toEqual({ files: [], total: 0 }); // too short for a hash, in no name
    expect(await names('photo', 1, 1)).toMatchObject({ total: 2 });
    expect((await history.list({ q: 'photo', limit: 1, offset: 1 })).checks).toHaveLength(1);
    expect(await names('')).toMatchObject({ total: 3 });
    await history.close();
  });

  it('prunes past the retention days and beyond the most checks kept', async () => {
    const history = new SqliteCheckHistory(file, { retentionDays: 7, maxChecks: 3 });
    for (const c of ['1', '2', '3', '4', '5']) {
      await history.record(check(`${c}.jpg`, sha(c)));
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await history.prune()).toBe(2);
    expect((await history.list()).checks.map((c) => c.file)).toEqual(['5.jpg', '4.jpg', '3.jpg']);
    expect(await history.prune(new Date(Date.now() + 6 * 24 * 3600 * 1000))).toBe(0);
    expect(await history.prune(new Date(Date.now() + 8 * 24 * 3600 * 1000))).toBe(3);
    expect(await history.list()).toMatchObject({ total: 0 });
    await history.close();
  });

  it('migrates a file made by schema 1 and keeps its checks searchable', async () => {
    const old = new Database(join(dir, 'v1.sqlite'));
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old.prepare(
      `INSERT INTO checks (id, file, sha256, bytes, kind, verdict, confidence, p_fake, detector, answer_key, checked_at, faces, result)
       VALUES ('0b7c8a36-2c11-4d39-9f0e-5b1b0c1d2e3f', 'Old_Name.jpg', ?, 10, 'image', 'real', 0.7, 0.1, 'probe', ?, ?, '[]', ?)`,
    ).run(sha('c'), KEY, Date.now(), JSON.stringify(imageResult([0.1], 'real')));
    old.close();

    const history = new SqliteCheckHistory(join(dir, 'v1.sqlite'));
    const { checks } = await history.list({ q: 'old_name' });
    expect(checks.map((c) => c.file)).toEqual(['Old_Name.jpg']);
    await history.close();
    const reread = new Database(join(dir, 'v1.sqlite'));
    expect(reread.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    reread.close();
  });

  it('refuses a file from a newer fakeface, and one that is not a database, naming it', () => {
    const newer = join(dir, 'newer.sqlite');
    const db = new Database(newer);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => new SqliteCheckHistory(newer)).toThrow(new RegExp(`history file ${newer.replace(/[.]/g, '\\.')} is from a newer fakeface`));

    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(garbage, 'this is not sqlite, just text that happens to be long enough to look like a header '.repeat(20));
    expect(() => new SqliteCheckHistory(garbage)).toThrow(/cannot open the history file .*garbage\.sqlite: .*not a database.*--no-history/);
  });
});
