/**
 * fakeface serve --queue redis://… with fakeface worker processes, against a real
 * redis-server started here on a free loopback port (skipped, saying so, without
 * one). The server is the library's createServer (no models in this process: it
 * has none to run); the workers are the real CLI, so they can be killed.
 *
 * As the issue asks: 3 workers and 60 mixed jobs (20 photos, 2 videos, 36
 * generations, 1 corrupt photo, 1 malformed payload), each answered exactly once;
 * then the kill -9, Redis restart, history and Ctrl-C cases.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckList, DetectResponse, Health, ImageDetection, Job, JobAccepted } from '../src/server/api-types.js';
import { createServer, type FakefaceServer } from '../src/server/index.js';
import { QUEUE_NAME } from '../src/queue/redis.js';
import { startCli } from './helpers/cli.js';
import { tempFolder, truncatedJpeg, UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';
import { REDIS_MISSING, REDIS_SERVER, freePort, startRedis, type TestRedis } from './helpers/redis.js';
import { FFMPEG, FFMPEG_MISSING, facePhotos, makeFaceVideo, postFile } from './helpers/server.js';

const skip = !REDIS_SERVER ? REDIS_MISSING : !UTKFACE_DIR ? UTKFACE_MISSING : !FFMPEG ? FFMPEG_MISSING : null;
if (skip) console.warn(skip);

interface TestWorker {
  child: ChildProcess;
  stderr: string;
  exited: Promise<number | null>;
}

function startWorker(url: string): Promise<TestWorker> {
  const child = startCli(['worker', '--queue', url, '--concurrency', '1', '--lock-seconds', '3']);
  const worker: TestWorker = { child, stderr: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stderr!.on('data', (chunk) => (worker.stderr += chunk));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (/fakeface worker is ready/.test(out)) resolve(worker);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${worker.stderr}`)));
  });
}

/** "job ID (kind) done" lines of every worker, by job id. */
function doneCounts(workers: TestWorker[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of workers) for (const m of w.stderr.matchAll(/job (\S+) \(\S+\) (?:done|failed)/g)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  return counts;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function finishedJob(base: string, id: string, timeoutMs = 180_000): Promise<Job> {
  return waitFor(`job ${id}`, async () => {
    const job = (await (await fetch(`${base}/api/jobs/${id}`)).json()) as Job;
    return ['done', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
  }, timeoutMs);
}

describe.skipIf(skip !== null)('jobs on a Redis queue (BullMQ) with fakeface workers', () => {
  const work = tempFolder('fakeface-queue-');
  let redis: TestRedis;
  let server: FakefaceServer;
  let base = '';
  const workers: TestWorker[] = [];
  const logs: string[] = [];
  let photos: string[] = [];
  let shortVideo = '';
  let longVideo = '';

  beforeAll(async () => {
    redis = await startRedis(await freePort(), work.dir);
    photos = facePhotos(UTKFACE_DIR!, 20, 40);
    shortVideo = makeFaceVideo(UTKFACE_DIR!, join(work.dir, 'short.mp4'), 2);
    longVideo = makeFaceVideo(UTKFACE_DIR!, join(work.dir, 'long.mp4'), 8);
    server = await createServer({ port: 0, runsDir: work.dir, experimentsDir: work.dir, queue: redis.url, tmpDir: work.dir, history: false, log: (m) => logs.push(m) });
    base = await server.listen();
    workers.push(...(await Promise.all([startWorker(redis.url), startWorker(redis.url), startWorker(redis.url)])));
  }, 180_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await server?.close();
    await redis?.stop();
    work.cleanup();
  });

  it('health shows the Redis queue, its depth and the workers; the server runs no models', async () => {
    const health = (await (await fetch(`${base}/api/health`)).json()) as Health;
    expect(health.queue).toMatchObject({ mode: 'redis', url: redis.url, connected: true, workers: 3, error: null });
    expect(health.engine).toMatch(/models run on fakeface workers/);
    expect(typeof health.queue.waiting).toBe('number');
  });

  it('answers every one of 60 mixed jobs exactly once (photos, videos, generations); a corrupt photo and a malformed payload fail alone with their message', async () => {
    // A malformed job put straight into Redis (as a buggy or hostile producer would): it fails, and nothing else does.
    const queue = new Queue(QUEUE_NAME, { connection: { url: redis.url } });
    const events = new QueueEvents(QUEUE_NAME, { connection: { url: redis.url } });
    await events.waitUntilReady();
    const malformed = await queue.add('detect-image', { kind: 'detect-image', file: 'relative/path.jpg', opts: {} }, { jobId: 'malformed-1' });
    const malformedOutcome = malformed.waitUntilFinished(events, 300_000).then(
      () => 'finished',
      (error: Error) => error.message,
    );
    const imageAnswers = photos.map((photo) => postFile(`${base}/api/detect`, readFileSync(photo), photo.split('/').pop()!, 'image/jpeg'));
    const poisoned = postFile(`${base}/api/detect`, await truncatedJpeg(), 'broken.jpg', 'image/jpeg');
    const videoAnswers = [shortVideo, shortVideo].map((v, i) => postFile(`${base}/api/detect`, readFileSync(v), `clip${i}.mp4`, 'video/mp4'));
    const generated = Array.from({ length: 36 }, (_, seed) =>
      fetch(`${base}/api/generate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ count: 4, seed }) }),
    );
    expect(await malformedOutcome).toMatch(/invalid job: file must be an absolute path/);
    await Promise.all([queue.close(), events.close()]);

    const images = await Promise.all(imageAnswers);
    for (const response of images) expect(response.status).toBe(200);
    const results = (await Promise.all(images.map((r) => r.json()))) as ImageDetection[];
    expect(results.map((r) => r.file).sort()).toEqual(photos.map((p) => p.split('/').pop()).sort());
    for (const result of results) expect(['fake', 'real', 'uncertain']).toContain(result.verdict);

    const grids = await Promise.all(generated);
    for (const grid of grids) expect(grid.headers.get('content-type'), `generate: ${grid.status}`).toBe('image/png');
    const pngs = await Promise.all(grids.map(async (g) => Buffer.from(await g.arrayBuffer()).toString('base64')));
    expect(new Set(pngs).size).toBe(36); // each seed its own faces

    const broken = await poisoned;
    expect(broken.status).toBe(422);
    expect(((await broken.json()) as { error: string }).error).toMatch(/corrupt JPEG data|truncated|premature end/i);

    const accepted = (await Promise.all((await Promise.all(videoAnswers)).map((r) => r.json()))) as JobAccepted[];
    const jobs = await Promise.all(accepted.map((a) => finishedJob(base, a.job.id)));
    for (const job of jobs) {
      expect(job.status).toBe('done');
      expect(job.result?.frames.length).toBeGreaterThan(0);
      expect(job.keyFrames.length).toBeGreaterThan(0);
    }
    const thumb = await fetch(`${base}${jobs[0]!.keyFrames[0]!.url}`);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');

    // Exactly once: 59 jobs + the malformed one, each run by one worker, one time.
    const counts = doneCounts(workers);
    expect(counts.size).toBe(60);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(workers.every((w) => /\) done in/.test(w.stderr))).toBe(true); // every worker took work
  }, 400_000);

  it('kill -9 of the worker running a video: the video completes on the other worker', async () => {
    const response = await postFile(`${base}/api/detect`, readFileSync(longVideo), 'long.mp4', 'video/mp4');
    const { job } = (await response.json()) as JobAccepted;
    // Wait until it is under way (frames done), then find its worker and kill it.
    await waitFor('the video to start', async () => ((await (await fetch(`${base}/api/jobs/${job.id}`)).json()) as Job).progress.done > 0, 120_000);
    const victim = workers.find((w) => w.child.exitCode === null && /job \S+ \(analyse-video\) started/.test(w.stderr.split('\n').filter((l) => /started|done|failed/.test(l)).pop() ?? ''));
    expect(victim).toBeDefined();
    victim!.child.kill('SIGKILL');
    await victim!.exited;
    const finished = await finishedJob(base, job.id, 240_000);
    expect(finished.status).toBe('done');
    expect(finished.result?.frames.length).toBe(16);
    expect(workers.filter((w) => w !== victim).some((w) => /\(analyse-video\) done/.test(w.stderr))).toBe(true);
    // Back to three workers for what follows.
    workers.splice(workers.indexOf(victim!), 1, await startWorker(redis.url));
  }, 400_000);

  it('Redis restarted mid-run: health says so, the queued jobs survive and are answered', async () => {
    const answers = photos.slice(0, 4).map((photo) => postFile(`${base}/api/detect`, readFileSync(photo), photo.split('/').pop()!, 'image/jpeg'));
    const video = (await (await postFile(`${base}/api/detect`, readFileSync(shortVideo), 'during-restart.mp4', 'video/mp4')).json()) as JobAccepted;
    await waitFor('jobs in Redis', async () => {
      const h = (await (await fetch(`${base}/api/health`)).json()) as Health;
      return h.queue.waiting + h.queue.active >= 2;
    }, 30_000);
    await redis.stop();
    const down = (await (await fetch(`${base}/api/health`)).json()) as Health;
    expect(down.status).toBe('ok');
    expect(down.queue.connected).toBe(false);
    expect(down.queue.error).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();
    const responses = await Promise.all(answers);
    for (const r of responses) expect(r.status).toBe(200);
    const job = await finishedJob(base, video.job.id);
    expect(job.status).toBe('done');
    const up = (await (await fetch(`${base}/api/health`)).json()) as Health;
    expect(up.queue.connected).toBe(true);
  }, 400_000);

  it('keeps the history of checks in Redis: after a server restart it lists the check and answers the same photo from it', async () => {
    const options = { port: 0, runsDir: join(work.dir, 'history-runs'), experimentsDir: work.dir, queue: redis.url, tmpDir: work.dir, log: (m: string) => logs.push(m) };
    const photo = readFileSync(photos[5]!);
    let historyServer = await createServer(options);
    try {
      let at = await historyServer.listen();
      const health = (await (await fetch(`${at}/api/health`)).json()) as Health;
      expect(health.history).toMatchObject({ enabled: true, store: 'redis', location: redis.url });
      const first = (await (await postFile(`${at}/api/detect`, photo, 'newsroom.jpg', 'image/jpeg')).json()) as DetectResponse;
      expect(first.check).toMatchObject({ fromHistory: false });
      await historyServer.close();

      historyServer = await createServer(options);
      at = await historyServer.listen();
      const list = (await (await fetch(`${at}/api/checks?q=newsroom`)).json()) as CheckList;
      expect(list.checks.map((c) => c.id)).toEqual([first.check!.id]);
      const before = doneCounts(workers).size;
      const again = (await (await postFile(`${at}/api/detect`, photo, 'newsroom (2).jpg', 'image/jpeg')).json()) as DetectResponse;
      expect(again.check).toEqual({ ...first.check, fromHistory: true });
      expect(again.verdict).toBe(first.verdict);
      expect(doneCounts(workers).size).toBe(before); // no worker ran it
    } finally {
      await historyServer.close();
    }
  }, 300_000);

  it('DELETE of a video a worker is running: the job is cancelled, and the worker stops it within seconds', async () => {
    const before = workers.map((w) => w.stderr.length);
    const { job } = (await (await postFile(`${base}/api/detect`, readFileSync(longVideo), 'to-cancel.mp4', 'video/mp4')).json()) as JobAccepted;
    await waitFor('the video to start', async () => ((await (await fetch(`${base}/api/jobs/${job.id}`)).json()) as Job).progress.done > 0, 120_000);
    const stopped = (await (await fetch(`${base}/api/jobs/${job.id}`, { method: 'DELETE' })).json()) as Job;
    expect(stopped.status).toBe('cancelled');
    const since = () => workers.map((w, i) => w.stderr.slice(before[i] ?? 0)).join('');
    await waitFor('the worker to stop the video', async () => /\(analyse-video\) failed: [^\n]*cancel/i.test(since()), 15_000);
    expect(since()).not.toMatch(/\(analyse-video\) done/);
  }, 200_000);

  it('Ctrl-C of a worker finishes its job, then it exits 0', async () => {
    const [worker, ...others] = workers as [TestWorker, ...TestWorker[]];
    for (const other of others) other.child.kill('SIGKILL'); // so the video goes to `worker`
    await Promise.all(others.map((other) => other.exited));
    const { job } = (await (await postFile(`${base}/api/detect`, readFileSync(shortVideo), 'graceful.mp4', 'video/mp4')).json()) as JobAccepted;
    await waitFor('the video to start', async () => ((await (await fetch(`${base}/api/jobs/${job.id}`)).json()) as Job).progress.done > 0, 120_000);
    worker.child.kill('SIGINT');
    expect(await worker.exited).toBe(0);
    expect(worker.stderr).toMatch(/stopping after the 1 job it holds/);
    const finished = await finishedJob(base, job.id, 30_000);
    expect(finished.status).toBe('done');
  }, 300_000);
});

