/**
 * How the server sends things: gzip and Brotli for text, JS, CSS, SVG and JSON
 * when the client asks; never for images (compressed already) or for event
 * streams (each event must go out as it happens); content-hashed assets cached
 * for good. A hand-made page folder and run folder: no model, no training.
 */
import { request as httpRequest } from 'node:http';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type FakefaceServer } from '../src/server/index.js';
import { tempFolder } from './helpers/data.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET with exactly these headers (fetch would ask for and undo compression by itself). */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const decode = (response: RawResponse) =>
  response.headers['content-encoding'] === 'br' ? brotliDecompressSync(response.body) : response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.body) : response.body;

describe('the server on the wire', () => {
  const work = tempFolder('fakeface-transport-');
  const webDir = join(work.dir, 'web');
  const runsDir = join(work.dir, 'runs');
  const runDir = join(runsDir, 'live');
  const script = `export function hello(name) {\n  return 'hello ' + name;\n}\n`.repeat(200);
  const metricsLine = (iteration: number) => JSON.stringify({ iteration, dLossReal: 0.7, dLossFake: 0.7, gLoss: 0.69, dAcc: 0.5, dAccReal: 0.5, dAccFake: 0.5, ms: 12 });
  let server: FakefaceServer;
  let url: string;

  beforeAll(async () => {
    mkdirSync(join(webDir, 'assets'), { recursive: true });
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>fakeface</title><script type="module" src="./assets/index-0a1b2c3d.js"></script>');
    writeFileSync(join(webDir, 'assets', 'index-0a1b2c3d.js'), script);
    writeFileSync(join(webDir, 'assets', 'index-0a1b2c3d.css'), 'body { margin: 0; padding: 0; color: #222; }\n'.repeat(100));
    writeFileSync(join(webDir, 'assets', 'mark-0a1b2c3d.svg'), `<svg xmlns="http://www.w3.org/2000/svg">${'<circle cx="5" cy="5" r="4"/>'.repeat(100)}</svg>`);
    mkdirSync(join(runDir, 'samples'), { recursive: true });
    writeFileSync(join(runDir, 'config.json'), JSON.stringify({ preset: 'tiny', architecture: 'dcgan', resolution: 32, iterations: 1000 }));
    writeFileSync(join(runDir, 'state.json'), JSON.stringify({ status: 'running', iteration: 0, iterations: 1000, updatedAt: new Date().toISOString(), stopReason: null, engine: 'wasm' }));
    writeFileSync(join(runDir, 'metrics.jsonl'), Array.from({ length: 40 }, (_, i) => metricsLine(i + 1)).join('\n') + '\n');
    // Noise does not compress: a PNG well over the 1 KB threshold.
    const noise = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251));
    writeFileSync(join(runDir, 'samples', 'step_000010.png'), await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer());
    server = await createServer({ port: 0, runsDir, experimentsDir: join(work.dir, 'experiments'), webDir, tmpDir: work.dir, watchIntervalMs: 100, log: () => undefined });
    url = await server.listen();
  });
  afterAll(async () => {
    await server?.close();
    work.cleanup();
  });

  it('sends a hashed JS asset Brotli- or gzip-compressed, as asked, and cached for good', async () => {
    for (const encoding of ['br', 'gzip'] as const) {
      const response = await rawGet(url, '/assets/index-0a1b2c3d.js', { 'Accept-Encoding': encoding });
      expect(response.status).toBe(200);
      expect(response.headers['content-encoding']).toBe(encoding);
      expect(response.headers['vary']).toMatch(/accept-encoding/i);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.body.length).toBeLessThan(script.length / 10);
      expect(decode(response).toString()).toBe(script);
    }
    // Br preferred when both are welcome.
    expect((await rawGet(url, '/assets/index-0a1b2c3d.js', { 'Accept-Encoding': 'gzip, deflate, br' })).headers['content-encoding']).toBe('br');
    // Nothing asked, nothing done.
    const plain = await rawGet(url, '/assets/index-0a1b2c3d.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(script);
  });

  it('compresses CSS and SVG too, and revalidates the page itself', async () => {
    for (const path of ['/assets/index-0a1b2c3d.css', '/assets/mark-0a1b2c3d.svg']) {
      expect((await rawGet(url, path, { 'Accept-Encoding': 'gzip' })).headers['content-encoding'], path).toBe('gzip');
    }
    expect((await rawGet(url, '/', { 'Accept-Encoding': 'gzip' })).headers['cache-control']).toBe('no-cache');
  });

  it('compresses JSON answers of the API when asked', async () => {
    const openapi = await rawGet(url, '/api/openapi.json', { 'Accept-Encoding': 'gzip' });
    expect(openapi.headers['content-type']).toMatch(/^application\/json/);
    expect(openapi.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(decode(openapi).toString())).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
    const run = await rawGet(url, '/api/runs/live', { 'Accept-Encoding': 'br' });
    expect(run.headers['content-encoding']).toBe('br');
    expect((JSON.parse(decode(run).toString()) as { metrics: unknown[] }).metrics).toHaveLength(40);
  });

  it('leaves PNG images as they are', async () => {
    const png = await rawGet(url, '/api/runs/live/samples/step_000010.png', { 'Accept-Encoding': 'br, gzip' });
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.headers['content-encoding']).toBeUndefined();
    expect(png.body.equals(readFileSync(join(runDir, 'samples', 'step_000010.png')))).toBe(true);
  });

  it('streams run events uncompressed, each as it happens (not held in a buffer)', async () => {
    const { hostname, port } = new URL(url);
    const seen: string[] = [];
    const result = await new Promise<{ headers: Record<string, string | string[] | undefined>; times: number[] }>((resolve, reject) => {
      const times: number[] = [];
      let appended = 0;
      const req = httpRequest({ host: hostname, port, path: '/api/runs/live/events', headers: { Accept: 'text/event-stream', 'Accept-Encoding': 'gzip, br' } }, (res) => {
        let buffer = '';
        const timer = setTimeout(() => {
          req.destroy();
          reject(new Error(`no metrics event within 15 s; saw ${JSON.stringify(seen)}`));
        }, 15_000);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = /^event: (.*)$/m.exec(buffer.slice(0, end))?.[1];
            buffer = buffer.slice(end + 2);
            if (!event) continue;
            seen.push(event);
            if (event === 'snapshot') {
              // One new line, a few KB short of any compressor's flush size.
              appended = Date.now();
              appendFileSync(join(runDir, 'metrics.jsonl'), metricsLine(41) + '\n');
            }
            if (event === 'metrics') {
              times.push(Date.now() - appended);
              clearTimeout(timer);
              req.destroy();
              resolve({ headers: res.headers, times });
            }
          }
        });
      });
      req.on('error', (error) => (seen.includes('metrics') ? undefined : reject(error)));
      req.end();
    });
    expect(result.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(result.headers['content-encoding']).toBeUndefined();
    expect(seen.slice(0, 2)).toEqual(['snapshot', 'metrics']);
    // The watcher polls every 100 ms: the event comes long before the 15 s heartbeat would push a buffer out.
    expect(result.times[0]).toBeLessThan(5_000);
  });
});
