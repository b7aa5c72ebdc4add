/**
 * Soak test of `fakeface serve` (loopback only): starts the server as a child
 * process, replays a mixed load at a fixed concurrency (image checks, hostile
 * uploads, videos, generation, runs listing, health, static files) while a
 * prober asks /api/health 10 times a second, then prints status counts and
 * latency percentiles per route, the largest gap between a video job's SSE
 * events, the server's RSS over time and the temporary files it left.
 *
 *   npm run bench:soak -- --requests 200 --seconds 120 --concurrency 4
 *   npm run bench:soak -- --repo /path/to/other/checkout    # the same load against another version
 *
 * Bounded by --requests and --seconds, whichever comes first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { bombPng } from '../test/helpers/hostile-corpus.js';

const { values: flags } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '120' },
    concurrency: { type: 'string', default: '4' },
    repo: { type: 'string', default: resolve(import.meta.dirname, '..') },
    data: { type: 'string', default: resolve(import.meta.dirname, '../../shared/data/utkface-crop_part1') },
  },
});
const maxRequests = Number(flags.requests);
const maxSeconds = Number(flags.seconds);
const concurrency = Number(flags.concurrency);

const work = mkdtempSync(join(tmpdir(), 'fakeface-soak-'));
const serverTmp = join(work, 'tmp');
execFileSync('mkdir', ['-p', serverTmp, join(work, 'runs'), join(work, 'experiments')]);

// ---- fixtures, made here -------------------------------------------------------------
const photos: Buffer[] = existsSync(flags.data)
  ? readdirSync(flags.data).filter((n) => n.endsWith('.jpg')).sort().slice(0, 8).map((n) => readFileSync(join(flags.data, n)))
  : [await sharp({ create: { width: 200, height: 200, channels: 3, background: '#c8a080' } }).jpeg().toBuffer()];
const png = await sharp(photos[0]).png().toBuffer();
const hostile: Array<[string, Buffer]> = [
  ['truncated.jpg', photos[0]!.subarray(0, Math.floor(photos[0]!.length * 0.4))],
  ['truncated.png', png.subarray(0, Math.floor(png.length / 2))],
  ['bomb.png', bombPng(60_000, 60_000)],
  ['polyglot.jpg', Buffer.concat([photos[0]!, Buffer.from('%PDF-1.4\n<html><script>alert(1)</script>')])],
  ['cmyk.jpg', await sharp(photos[0]).toColourspace('cmyk').jpeg().toBuffer()],
  ['notes.jpg', Buffer.from('not a photo\n')],
  ['../../etc/passwd;rm -rf $HOME\u202e.jpg', photos[1 % photos.length]!],
  ['empty.png', Buffer.alloc(0)],
];
let video: Buffer | null = null;
try {
  const frames = join(work, 'frames');
  execFileSync('mkdir', ['-p', frames]);
  photos.slice(0, 4).forEach((p, i) => writeFileSync(join(frames, `f${i}.jpg`), p));
  execFileSync('ffmpeg', ['-y', '-loglevel', 'error', '-framerate', '1', '-i', join(frames, 'f%d.jpg'), '-vf', 'scale=200:200,fps=25,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-t', '4', join(work, 'v.mp4')]);
  video = readFileSync(join(work, 'v.mp4'));
} catch {
  console.warn('soak: no ffmpeg, no video requests');
}

// ---- the server --------------------------------------------------------------------
const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'serve', '--port', '0', '--runs', join(work, 'runs'), '--experiments', join(work, 'experiments'), '--no-history'], {
  cwd: flags.repo,
  env: { ...process.env, TMPDIR: serverTmp, NO_COLOR: '1' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverErr = '';
child.stderr.on('data', (c) => (serverErr += c));
const url = await new Promise<string>((resolveUrl, reject) => {
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
    const m = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) resolveUrl(m[1]!);
  });
  child.on('exit', () => reject(new Error(`serve exited: ${serverErr}`)));
});
const rssMb = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

// ---- the load ----------------------------------------------------------------------
const stats = new Map<string, { ms: number[]; statuses: Map<number, number> }>();
function record(route: string, status: number, ms: number) {
  const s = stats.get(route) ?? { ms: [] as number[], statuses: new Map<number, number>() };
  s.ms.push(ms);
  s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
  stats.set(route, s);
}
async function timed(route: string, send: () => Promise<Response>): Promise<Response | null> {
  const started = performance.now();
  try {
    const response = await send();
    await response.clone().arrayBuffer();
    record(route, response.status, performance.now() - started);
    return response;
  } catch {
    record(route, 0, performance.now() - started);
    return null;
  }
}
const upload = (name: string, bytes: Buffer) => {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  return fetch(`${url}/api/detect`, { method: 'POST', body: form });
};
// Largest gap between a video job's SSE events, while it runs (progress per frame) and while it waits its turn.
let worstSseGapMs = 0;
let worstQueuedGapMs = 0;
async function followJob(eventsUrl: string) {
  const response = await fetch(`${url}${eventsUrl}`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let last = performance.now();
  let running = false;
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const now = performance.now();
    if (running) worstSseGapMs = Math.max(worstSseGapMs, now - last);
    else worstQueuedGapMs = Math.max(worstQueuedGapMs, now - last);
    last = now;
    text += value;
    if (/"status":"running"/.test(value) || /^event: progress$/m.test(value)) running = true;
    if (/"status":"(done|failed|cancelled)"/.test(text.slice(-4000))) break;
  }
  await reader.cancel().catch(() => undefined);
}

let n = 0;
const deadline = performance.now() + maxSeconds * 1000;
const mix = ['image', 'image', 'image', 'hostile', 'hostile', 'generate', 'generate', 'runs', 'static', 'openapi', 'video'];
async function client() {
  while (n < maxRequests && performance.now() < deadline) {
    const i = n++;
    const kind = mix[i % mix.length]!;
    if (kind === 'image') await timed('POST /api/detect (image)', () => upload(`face${i}.jpg`, photos[i % photos.length]!));
    else if (kind === 'hostile') {
      const [name, bytes] = hostile[i % hostile.length]!;
      await timed('POST /api/detect (hostile)', () => upload(name, bytes));
    } else if (kind === 'generate') await timed('POST /api/generate', () => fetch(`${url}/api/generate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ count: 4, seed: i }) }));
    else if (kind === 'runs') await timed('GET /api/runs', () => fetch(`${url}/api/runs`));
    else if (kind === 'static') await timed('GET / (static)', () => fetch(`${url}/`));
    else if (kind === 'openapi') await timed('GET /api/openapi.json', () => fetch(`${url}/api/openapi.json`));
    else if (kind === 'video' && video) {
      const response = await timed('POST /api/detect (video)', () => upload(`clip${i}.mp4`, video!));
      if (response?.status === 202) await followJob(((await response.json()) as { eventsUrl: string }).eventsUrl);
    }
  }
}
let probing = true;
const rss: Array<[number, number]> = [];
const t0 = performance.now();
const prober = (async () => {
  while (probing) {
    await timed('GET /api/health', () => fetch(`${url}/api/health`));
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const sampler = setInterval(() => rss.push([Math.round((performance.now() - t0) / 1000), rssMb()]), 5000);
rss.push([0, rssMb()]);
await Promise.all(Array.from({ length: concurrency }, client));
probing = false;
await prober;
clearInterval(sampler);
rss.push([Math.round((performance.now() - t0) / 1000), rssMb()]);
const leftFiles = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? leftFiles(join(dir, f)) : [join(dir, f)]));
// Uploads still on disk while the server runs (every request has been answered).
const left = leftFiles(serverTmp).filter((f) => /upload-/.test(f));
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));

// ---- the report --------------------------------------------------------------------
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
console.log(`soak: ${n} requests (+ health probes) at concurrency ${concurrency} in ${Math.round((performance.now() - t0) / 1000)} s against ${flags.repo}`);
console.log('route                              n   statuses                 p50 ms   p95 ms   max ms');
let fiveHundreds = 0;
for (const [route, s] of [...stats].sort()) {
  const sorted = [...s.ms].sort((a, b) => a - b);
  const statuses = [...s.statuses].sort().map(([code, count]) => `${code}x${count}`).join(' ');
  fiveHundreds += [...s.statuses].filter(([code]) => code >= 500 && code !== 503).reduce((a, [, c]) => a + c, 0);
  console.log(`${route.padEnd(33)} ${String(sorted.length).padStart(3)}   ${statuses.padEnd(22)} ${pct(sorted, 0.5).toFixed(0).padStart(7)} ${pct(sorted, 0.95).toFixed(0).padStart(8)} ${sorted.at(-1)!.toFixed(0).padStart(8)}`);
}
console.log(`5xx other than 503: ${fiveHundreds}`);
console.log(`largest gap between a video job's SSE events: ${Math.round(worstSseGapMs)} ms while it runs, ${Math.round(worstQueuedGapMs)} ms while it waits its turn`);
console.log(`server RSS (s:MB): ${rss.map(([t, mb]) => `${t}:${mb}`).join(' ')}`);
console.log(`temporary upload files left: ${left.length}${left.length ? ` (${left.join(', ')})` : ''}`);
if (/\n\s+at /.test(serverErr)) console.log(`server stderr had a stack trace:\n${serverErr.slice(0, 2000)}`);
rmSync(work, { recursive: true, force: true });
