/**
 * `fakeface detect --queue redis://… folder/ --json` against a real redis-server
 * (started here on a free loopback port) and a real `fakeface worker`: one JSON
 * line per file, the corrupt photo with its error, the others with verdicts, exit
 * code 1 as plain detect gives for a bad file; Ctrl-C removes the batch's waiting
 * jobs; an unreachable Redis is one line. Skipped, saying so, without redis-server,
 * UTKFace or ffmpeg.
 *
 * One worker only: each loads its own models (~15 s on this machine's 2 shared
 * cores); the spread over several workers is test/queue-redis.test.ts's subject.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAME } from '../src/queue/redis.js';
import { collect, expectOneLineError, runCli, startCli, type CliResult } from './helpers/cli.js';
import { tempFolder, truncatedJpeg, UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';
import { freePort, REDIS_MISSING, REDIS_SERVER, startRedis, type TestRedis } from './helpers/redis.js';
import { FFMPEG, FFMPEG_MISSING, facePhotos, makeFaceVideo } from './helpers/server.js';

const skip = !REDIS_SERVER ? REDIS_MISSING : !UTKFACE_DIR ? UTKFACE_MISSING : !FFMPEG ? FFMPEG_MISSING : null;
if (skip) console.warn(skip);

function startWorker(url: string): Promise<ChildProcess> {
  const child = startCli(['worker', '--queue', url, '--concurrency', '1']);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => /fakeface worker is ready/.test(String(chunk)) && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${stderr}`)));
  });
}

describe.skipIf(skip !== null)('fakeface detect --queue (BullMQ on a real redis-server)', () => {
  const work = tempFolder('fakeface-detect-queue-');
  const folder = join(work.dir, 'batch');
  let redis: TestRedis;
  let worker: ChildProcess | undefined;
  let unreachable: Promise<CliResult>;
  const expected: string[] = [];

  beforeAll(async () => {
    // Nothing listens on this port: its 10 s wait runs while the worker loads its models.
    unreachable = runCli(['detect', '--queue', `redis://127.0.0.1:${await freePort()}`, join(work.dir, 'photo.jpg')]);
    redis = await startRedis(await freePort(), work.dir);
    mkdirSync(join(folder, 'more'), { recursive: true });
    facePhotos(UTKFACE_DIR!, 6, 300).forEach((photo, i) => {
      const target = join(folder, i < 4 ? '' : 'more', basename(photo));
      copyFileSync(photo, target);
      expected.push(target);
    });
    writeFileSync(join(folder, 'broken.jpg'), await truncatedJpeg());
    writeFileSync(join(folder, 'notes.txt'), 'not a picture: left out of the folder walk\n');
    copyFileSync(makeFaceVideo(UTKFACE_DIR!, join(work.dir, 'clip.mp4'), 2), join(folder, 'clip.mp4')); // made beside: ffmpeg's frames stay out
    expected.push(join(folder, 'broken.jpg'), join(folder, 'clip.mp4'));
    worker = await startWorker(redis.url);
  }, 120_000);

  afterAll(async () => {
    if (worker?.exitCode === null) worker.kill('SIGKILL');
    await redis?.stop();
    work.cleanup();
  });

  it('prints one JSON line per file as it finishes: verdicts, and the corrupt photo with its error; exit code 1', async () => {
    const result = await runCli(['detect', '--queue', redis.url, folder, '--json']);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { file: string; kind: string; verdict: string; error?: string });
    expect(lines.map((l) => l.file).sort()).toEqual([...expected].sort());
    for (const line of lines) {
      if (line.file.endsWith('broken.jpg')) expect(line).toMatchObject({ kind: 'error', verdict: 'error', error: expect.stringMatching(/premature end|corrupt/i) });
      else expect(['real', 'fake', 'uncertain']).toContain(line.verdict);
    }
    expect(lines.find((l) => l.file.endsWith('clip.mp4'))?.kind).toBe('video');
    expect(result.stderr).toMatch(/7 checked, 1 failed/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(1);
  }, 120_000);

  it('Ctrl-C removes the jobs of the batch still waiting, and exits 130', async () => {
    const url = `${redis.url}/1`; // database 1: no worker reads it, so every job waits
    const queue = new Queue(QUEUE_NAME, { connection: { url } });
    try {
      const child = startCli(['detect', '--queue', url, folder]);
      const done = collect(child);
      for (let i = 0; (await queue.getWaitingCount()) < expected.length; i++) {
        if (i > 200) throw new Error('the jobs never all reached the queue');
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(new RegExp(`removed ${expected.length} waiting jobs`));
      expect(await queue.getWaitingCount()).toBe(0);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('an unreachable Redis is one line, no stack trace', async () => {
    expectOneLineError(await unreachable, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
  }, 30_000);
});
