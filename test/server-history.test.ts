/**
 * The history of checks through the real server and models (in process, SQLite):
 * every check is remembered, a re-upload of the same bytes is answered from
 * history (saying so, without running the models), GET /api/checks searches it,
 * and all of it survives a server restart. --no-history keeps nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckList, CheckRecord, DetectResponse, Health, Job, JobAccepted } from '../src/server/api-types.js';
import { createServer, type FakefaceServer } from '../src/server/index.js';
import { documented } from './helpers/openapi.js';
import { syntheticJpeg, tempFolder, UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';
import { FFMPEG, FFMPEG_MISSING, detectionModule, facePhotos, makeFaceVideo, postFile } from './helpers/server.js';

const detection = await detectionModule();
if (!detection.available) console.warn(`skipping the history tests: ${detection.reason}`);

async function finished(base: string, id: string): Promise<Job> {
  const until = Date.now() + 180_000;
  for (;;) {
    const job = (await (await fetch(`${base}/api/jobs/${id}`)).json()) as Job;
    if (['done', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > until) throw new Error(`job ${id} did not finish`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!detection.available)('history of checks (SQLite, in process)', () => {
  const work = tempFolder('fakeface-history-server-');
  const runsDir = join(work.dir, 'runs');
  let server: FakefaceServer;
  let base = '';
  const start = async (extra: { history?: boolean } = {}) => {
    server = await createServer({ port: 0, runsDir, experimentsDir: join(work.dir, 'experiments'), tmpDir: work.dir, workers: 1, log: () => undefined, ...extra });
    base = await server.listen();
  };
  let picture: Buffer;
  let first: DetectResponse;

  beforeAll(async () => {
    picture = await syntheticJpeg(160, 120, 7);
    await start();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    work.cleanup();
  });

  it('remembers a check, and answers the same bytes under another name from history without the models', async () => {
    const health = (await (await fetch(`${base}/api/health`)).json()) as Health;
    expect(health.history).toEqual({ enabled: true, store: 'sqlite', location: join(runsDir, 'checks.sqlite'), retentionDays: 30, maxChecks: 100_000 });
    expect(documented('Health', health)).toBe(true);

    const answer = await postFile(`${base}/api/detect`, picture, 'street.jpg', 'image/jpeg');
    expect(answer.status).toBe(200);
    first = (await answer.json()) as DetectResponse;
    expect(first.check).toMatchObject({ fromHistory: false });

    const again = (await (await postFile(`${base}/api/detect`, picture, 'copy of street.jpg', 'image/jpeg')).json()) as DetectResponse;
    expect(again.check).toEqual({ id: first.check!.id, fromHistory: true, checkedAt: first.check!.checkedAt });
    expect(again.file).toBe('copy of street.jpg');
    expect(documented('DetectResponse', again)).toBe(true);
    expect({ ...again, file: first.file, check: first.check }).toEqual(first);

    // Other bytes are a new check, and so are the same bytes checked with the whole-image score.
    const other = (await (await postFile(`${base}/api/detect`, await syntheticJpeg(160, 120, 8), 'other.jpg', 'image/jpeg')).json()) as DetectResponse;
    expect(other.check?.fromHistory).toBe(false);
    const whole = (await (await postFile(`${base}/api/detect?wholeImage=true`, picture, 'street.jpg', 'image/jpeg')).json()) as DetectResponse;
    expect(whole.check?.fromHistory).toBe(false);
    expect(whole.wholeImage).not.toBeNull();
  }, 120_000);

  it('lists checks newest first, searches them by name and by hash, and gives one back whole', async () => {
    const all = (await (await fetch(`${base}/api/checks`)).json()) as CheckList;
    expect(all.total).toBe(3); // the repeat was answered, not checked again
    expect(all.checks.map((c) => c.file)).toEqual(['street.jpg', 'other.jpg', 'street.jpg']);
    expect(all.history.store).toBe('sqlite');
    expect(documented('CheckList', all)).toBe(true);
    const entry = all.checks[2]!;
    expect(entry).toMatchObject({ id: first.check!.id, kind: 'image', verdict: first.verdict, bytes: picture.length, detector: first.detector.name });
    expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);

    const byName = (await (await fetch(`${base}/api/checks?q=OTHER`)).json()) as CheckList;
    expect(byName.checks.map((c) => c.file)).toEqual(['other.jpg']);
    const byHash = (await (await fetch(`${base}/api/checks?q=${entry.sha256.slice(0, 10)}`)).json()) as CheckList;
    expect(byHash.checks.map((c) => c.id)).toContain(entry.id);
    expect(byHash.total).toBe(2);
    const paged = (await (await fetch(`${base}/api/checks?limit=1&offset=1`)).json()) as CheckList;
    expect(paged.checks.map((c) => c.file)).toEqual(['other.jpg']);

    const record = (await (await fetch(`${base}/api/checks/${entry.id}`)).json()) as CheckRecord;
    expect(documented('CheckRecord', record)).toBe(true);
    expect(record.result).toEqual({ ...first, check: undefined, file: 'street.jpg' } as unknown as CheckRecord['result']);

    expect((await fetch(`${base}/api/checks/not-an-id`)).status).toBe(400);
    const missing = await fetch(`${base}/api/checks/00000000-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { hint: string }).hint).toMatch(/kept for 30 days/);
    expect((await fetch(`${base}/api/checks?limit=0`)).status).toBe(400);
  });

  it('survives a server restart: the list is the same and the repeat is still answered from history', async () => {
    const before = (await (await fetch(`${base}/api/checks`)).json()) as CheckList;
    await server.close();
    await start();
    const after = (await (await fetch(`${base}/api/checks`)).json()) as CheckList;
    expect(after.checks).toEqual(before.checks);
    const again = (await (await postFile(`${base}/api/detect`, picture, 'after-restart.jpg', 'image/jpeg')).json()) as DetectResponse;
    expect(again.check).toMatchObject({ id: first.check!.id, fromHistory: true });
  }, 120_000);

  it.skipIf(!UTKFACE_DIR || !FFMPEG)('remembers a video with its faces, and answers its re-upload as a finished job', async (ctx) => {
    if (!UTKFACE_DIR || !FFMPEG) return ctx.skip(!UTKFACE_DIR ? UTKFACE_MISSING : FFMPEG_MISSING);
    const video = readFileSync(makeFaceVideo(UTKFACE_DIR, join(work.dir, 'clip.mp4'), 2));
    const accepted = (await (await postFile(`${base}/api/detect`, video, 'clip.mp4', 'video/mp4')).json()) as JobAccepted;
    const job = await finished(base, accepted.job.id);
    expect(job.status).toBe('done');
    expect(job.check?.fromHistory).toBe(false);
    const record = (await (await fetch(`${base}/api/checks/${job.check!.id}`)).json()) as CheckRecord;
    expect(record).toMatchObject({ kind: 'video', file: 'clip.mp4', verdict: job.result!.verdict });
    expect(record.faces.length).toBeGreaterThan(0);
    expect(record.faces[0]!.box.width).toBeGreaterThan(20);

    const repeat = await postFile(`${base}/api/detect`, video, 'clip (1).mp4', 'video/mp4');
    expect(repeat.status).toBe(202);
    const answered = ((await repeat.json()) as JobAccepted).job;
    expect(answered).toMatchObject({ status: 'done', file: 'clip (1).mp4', check: { id: job.check!.id, fromHistory: true } });
    expect(answered.result).toEqual({ ...job.result, file: 'clip (1).mp4' });
    expect(documented('Job', answered)).toBe(true);
    expect(documented('CheckRecord', record)).toBe(true);
  }, 240_000);

  it('with history off remembers nothing and answers every upload anew', async () => {
    await server.close();
    await start({ history: false });
    const health = (await (await fetch(`${base}/api/health`)).json()) as Health;
    expect(health.history).toMatchObject({ enabled: false, store: 'none' });
    const answer = (await (await postFile(`${base}/api/detect`, picture, 'street.jpg', 'image/jpeg')).json()) as DetectResponse;
    expect(answer.check).toBeUndefined();
    expect(answer.verdict).toBe(first.verdict);
    expect(await (await fetch(`${base}/api/checks`)).json()).toMatchObject({ checks: [], total: 0 });
  }, 120_000);
});

describe.skipIf(!detection.available || !UTKFACE_DIR)('history of checks on faces', () => {
  it('keeps the per-face boxes and scores of a photo', async () => {
    const work = tempFolder('fakeface-history-faces-');
    const server = await createServer({ port: 0, runsDir: join(work.dir, 'runs'), experimentsDir: work.dir, tmpDir: work.dir, workers: 1, log: () => undefined });
    try {
      const base = await server.listen();
      const photo = facePhotos(UTKFACE_DIR!, 1, 3)[0]!;
      const result = (await (await postFile(`${base}/api/detect`, readFileSync(photo), 'face.jpg', 'image/jpeg')).json()) as DetectResponse;
      expect(result.faces.length).toBeGreaterThan(0);
      const { checks } = (await (await fetch(`${base}/api/checks`)).json()) as CheckList;
      expect(checks[0]!.faces).toEqual(result.faces.map(({ box, pFake, verdict }) => ({ box: { x: box.x, y: box.y, width: box.width, height: box.height }, pFake, verdict })));
      expect(checks[0]!.pFake).toBe(Math.max(...result.faces.map((f) => f.pFake)));
    } finally {
      await server.close();
      work.cleanup();
    }
  }, 120_000);
});
