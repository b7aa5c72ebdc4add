/**
 * Throughput of `fakeface serve --queue` with 1, 2, 4 … `fakeface worker`
 * processes on this machine: photos/s, 10-second videos/min, and queue latency
 * (a job's time in Redis before a worker starts it, measured on idle workers).
 * Starts its own redis-server on a free loopback port; nothing outside loopback.
 *
 *   npm run bench:queue                               1, 2 and 4 workers; 8 photos, 2 videos each
 *   npm run bench:queue -- --workers 1,2 --photos 12 --videos 2 --seconds 10
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import type { JobAccepted, Job as ApiJob } from '../src/server/api-types.js';
import { createServer } from '../src/server/index.js';
import { QUEUE_NAME } from '../src/queue/redis.js';
import { freePort, REDIS_MISSING, REDIS_SERVER, startRedis } from '../test/helpers/redis.js';
import { facePhotos, makeFaceVideo, postFile } from '../test/helpers/server.js';
import { tempFolder, UTKFACE_DIR, UTKFACE_MISSING } from '../test/helpers/data.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4' },
    photos: { type: 'string', default: '8' },
    videos: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
  },
});
if (!REDIS_SERVER || !UTKFACE_DIR) {
  console.log(`bench:queue: ${!REDIS_SERVER ? REDIS_MISSING : UTKFACE_MISSING}`);
  process.exit(0);
}
const work = tempFolder('fakeface-bench-queue-');
const redis = await startRedis(await freePort(), work.dir);
const server = await createServer({ port: 0, runsDir: work.dir, experimentsDir: work.dir, queue: redis.url, tmpDir: work.dir, history: false, log: () => undefined });
const base = await server.listen();
const photos = facePhotos(UTKFACE_DIR, Number(args.photos), 100);
const video = makeFaceVideo(UTKFACE_DIR, join(work.dir, 'clip.mp4'), Number(args.seconds));
const queue = new Queue(QUEUE_NAME, { connection: { url: redis.url } });

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'worker', '--queue', redis.url], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => /is ready/.test(String(chunk)) && resolve(child));
    child.on('exit', (code) => reject(new Error(`worker exited (${code})`)));
  });
}

const checkPhoto = async (photo: string) => {
  const response = await postFile(`${base}/api/detect`, readFileSync(photo), 'p.jpg', 'image/jpeg');
  if (response.status !== 200) throw new Error(`photo: ${response.status} ${await response.text()}`);
};
const checkVideo = async () => {
  const { job } = (await (await postFile(`${base}/api/detect`, readFileSync(video), 'v.mp4', 'video/mp4')).json()) as JobAccepted;
  for (;;) {
    const state = (await (await fetch(`${base}/api/jobs/${job.id}`)).json()) as ApiJob;
    if (state.status === 'done') return;
    if (state.status !== 'queued' && state.status !== 'running') throw new Error(`video: ${state.status} ${state.error}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[] = [];
let workers: ChildProcess[] = [];
for (const count of args.workers.split(',').map(Number)) {
  while (workers.length < count) workers.push(await startWorker());
  await checkPhoto(photos[0]!); // warm-up: every worker has loaded its models once it is ready
  let t = performance.now();
  await Promise.all(photos.map(checkPhoto));
  const photosPerSecond = photos.length / ((performance.now() - t) / 1000);
  t = performance.now();
  await Promise.all(Array.from({ length: Number(args.videos) }, checkVideo));
  const videosPerMinute = Number(args.videos) / ((performance.now() - t) / 60_000);
  // Queue latency: one photo at a time on idle workers, time in Redis until a worker took it.
  await queue.clean(0, 10_000, 'completed');
  for (let i = 0; i < 5; i++) await checkPhoto(photos[i % photos.length]!);
  const done = await queue.getCompleted(0, 10);
  const latency = median(done.map((j) => (j.processedOn ?? 0) - j.timestamp));
  const row = `| ${count} | ${photosPerSecond.toFixed(2)} (${(photosPerSecond / count).toFixed(2)} per worker) | ${videosPerMinute.toFixed(2)} (${(videosPerMinute / count).toFixed(2)} per worker) | ${latency} ms |`;
  console.log(row);
  rows.push(row);
}
console.log(`\n${photos.length} photos (200x200 UTKFace) and ${args.videos} videos of ${args.seconds} s (2 fps: ${Number(args.seconds) * 2} frames) per row, on ${(await import('node:os')).availableParallelism()} cores\n`);
console.log('| workers | photos/s | 10 s videos/min | queue latency (median, idle workers) |\n|---|---|---|---|');
console.log(rows.join('\n'));
for (const w of workers) w.kill('SIGTERM');
workers = [];
await queue.close();
await server.close();
await redis.stop();
work.cleanup();
