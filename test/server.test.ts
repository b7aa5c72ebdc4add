/**
 * The web app's HTTP API, against the real server on an ephemeral port, with a
 * real tiny GAN run, the built-in models (when this install has them), real face
 * photos and mp4s made by ffmpeg at test time.
 */
import { request as httpRequest } from 'node:http';
import { appendFileSync, copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// fastify's own JSON-schema validator, draft 2020-12 (OpenAPI 3.1's), to hold real answers against openapi.json.
import { Ajv2020 } from 'ajv/dist/2020.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageDetection, Job, JobAccepted, VideoDetection, RunDetail, RunList, Health, MetricsPoint, SampleGrid } from '../src/server/api-types.js';
import { generateFromRun } from '../src/generate/index.js';
import { initEngine } from '../src/engine/index.js';
import { builtInDetector, builtInGenerator } from '../src/models/builtin.js';
import { readModelPackCard, type ModelPackCard } from '../src/models/pack.js';
import { createServer, OPENAPI_FILE, type FakefaceServer } from '../src/server/index.js';
import { renderGridPng } from '../src/train/samples.js';
import { UTKFACE_DIR, UTKFACE_MISSING, syntheticJpeg, tempFolder } from './helpers/data.js';
import { BUILT_IN, BUILT_IN_MISSING, detectionModule, facePhotos, FFMPEG, FFMPEG_MISSING, makeFaceVideo, postFile, readEvents, trainTinyRun, withoutBuiltInModels, type SseEvent } from './helpers/server.js';

const work = tempFolder('fakeface-server-test-');
if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);
if (!FFMPEG) console.warn(FFMPEG_MISSING);
if (!BUILT_IN) console.warn(BUILT_IN_MISSING);
const silent = () => undefined;
const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** Skips a test when the detection module does not load (the server answers 503 then). */
function skipUnlessDetection(detection: { available: boolean; reason: string }, ctx: { skip: (note?: string) => never }): void {
  if (detection.available) return;
  const note = `detection module not available (${detection.reason}): skipping`;
  console.warn(note);
  ctx.skip(note);
}

/** Every error answer: JSON with a one-line message (and maybe a hint), never a stack. */
async function expectError(response: Response, status: number, message: RegExp): Promise<{ error: string; hint?: string }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: string; hint?: string };
  expect(Object.keys(body).every((k) => k === 'error' || k === 'hint')).toBe(true);
  expect(body.error).toMatch(message);
  expect(text).not.toMatch(/\n\s+at |node:internal|\.ts:\d+/);
  return body;
}

/** Files left in a server's upload folder (there should be none between requests). */
function leftoverUploads(tmpDir: string): string[] {
  return readdirSync(tmpDir).flatMap((dir) => readdirSync(join(tmpDir, dir)).map((f) => join(dir, f)));
}

/**
 * A raw HTTP GET, so that the path and the Host header reach the server exactly
 * as written (fetch normalises "..", "%2e%2e" and sets Host itself).
 */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode!, headers: { 'content-type': String(res.headers['content-type'] ?? '') } })));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Fails unless `value` is what openapi.json says the schema `name` looks like. */
const openapi = new Ajv2020({ strict: false, allErrors: true }).addSchema({ ...JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')), $id: 'openapi.json' });
function expectDocumented(name: string, value: unknown): void {
  const check = openapi.getSchema(`openapi.json#/components/schemas/${name}`)!;
  expect(check(value), `the answer does not match openapi.json's ${name}: ${openapi.errorsText(check.errors)}`).toBe(true);
}

/** The verdict fields every detection answer has: a reason and no confidence exactly when uncertain, and a sentence for people. */
function expectVerdictFields(result: ImageDetection | VideoDetection): void {
  expect(['real', 'fake', 'uncertain']).toContain(result.verdict);
  if (result.verdict === 'uncertain') {
    expect(result.reason).toMatchObject({ code: expect.stringMatching(/^(no-face|face-too-small|out-of-range|near-threshold)$/), message: expect.stringMatching(/\w/) });
    expect(result.confidence).toBeNull();
  } else {
    expect(result.reason).toBeNull();
    expect(result.confidence).toBeGreaterThanOrEqual(0.5);
  }
  expect(result.explanation).toMatch(/\w/);
}

afterAll(() => work.cleanup());

describe('the server without runs or built-in models', () => {
  let server: FakefaceServer;
  let url: string;
  let detection: { available: boolean; reason: string };
  let restoreModels: () => void;
  const tmpDir = join(work.dir, 'uploads-empty');
  const experimentsDir = join(work.dir, 'experiments');

  beforeAll(async () => {
    restoreModels = withoutBuiltInModels();
    detection = await detectionModule();
    mkdirSync(tmpDir);
    mkdirSync(join(experimentsDir, 'table1', 'figures'), { recursive: true });
    writeFileSync(join(experimentsDir, 'table1', 'report.html'), '<!doctype html><title>Table 1 reproduction</title><img src="figures/fig2.png">');
    writeFileSync(join(experimentsDir, 'table1', 'figures', 'fig2.png'), await sharp({ create: { width: 4, height: 4, channels: 3, background: '#888' } }).png().toBuffer());
    writeFileSync(join(experimentsDir, 'table1', 'secret.sh'), 'echo hi\n');
    mkdirSync(join(experimentsDir, 'no-report'));
    server = await createServer({ port: 0, runsDir: join(work.dir, 'no-runs'), experimentsDir, tmpDir, maxUploadMb: 1, log: silent });
    url = await server.listen();
  });
  afterAll(async () => {
    await server?.close();
    restoreModels();
  });

  it('binds 127.0.0.1 on an ephemeral port by default and reports its health', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = (await (await fetch(`${url}/api/health`)).json()) as Health;
    expect(health).toMatchObject({ status: 'ok', runs: 0, maxUploadBytes: 1024 * 1024, jobs: { running: 0, waiting: 0, capacity: 5 } });
    expect(health.engine).toMatch(/^(wasm|cpu \(native OpenBLAS)/);
    expect(typeof health.detection.available).toBe('boolean');
  });

  it('serves the checked-in OpenAPI document, which lists every route and no other', async () => {
    const response = await fetch(`${url}/api/openapi.json`);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const served = await response.json();
    expect(served).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
    const documented = Object.entries(served.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const routes = server.routes.filter((r) => r.includes('/api/') || r.includes('/experiments/')).map((r) => r.replace(/\/\*$/, '/:path'));
    expect(new Set(documented)).toEqual(new Set(routes));
  });

  it('answers unknown endpoints and bad hosts with JSON errors', async () => {
    await expectError(await fetch(`${url}/api/nope`), 404, /^no such endpoint: GET \/api\/nope$/);
    // DNS rebinding: a name that resolves to 127.0.0.1 is not localhost.
    await expectError(await rawGet(url, '/api/health', { Host: 'evil.example:80' }), 403, /^host "evil.example" not allowed: this server answers on localhost only$/);
    expect((await rawGet(url, '/api/health', { Host: 'localhost' })).status).toBe(200);
    // Another site's page may not post here.
    await expectError(await postFile(`${url}/api/detect`, Buffer.from('x'), 'a.jpg', 'image/jpeg', { Origin: 'https://evil.example' }), 403, /cross-origin request from https:\/\/evil.example refused/);
  });

  describe('refuses bad uploads with a status and a message, leaving no temporary file', () => {
    const cases: Array<[string, () => Promise<Response>, number, RegExp]> = [
      ['a text file named .jpg', () => postFile(`${url}/api/detect`, Buffer.from('just some notes, not a photo\n'), 'photo.jpg', 'image/jpeg'), 415, /^unsupported file type: this looks like text; send an image \(JPEG, PNG, WebP\) or a video \(MP4, MOV, WebM\)$/],
      ['a GIF', () => postFile(`${url}/api/detect`, Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'binary'), 'anim.gif', 'image/gif'), 415, /this looks like a GIF image/],
      ['a PDF named .mp4', () => postFile(`${url}/api/detect`, Buffer.from('%PDF-1.7\n%...'), 'clip.mp4', 'video/mp4'), 415, /this looks like a PDF document/],
      ['an empty file', () => postFile(`${url}/api/detect`, Buffer.alloc(0), 'empty.png', 'image/png'), 415, /this looks like an empty file/],
      ['a HEIC photo', () => postFile(`${url}/api/detect`, Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(32)]), 'a.heic'), 415, /HEIF\/AVIF image/],
      ['a file over the limit (refused by Content-Length)', () => postFile(`${url}/api/detect`, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(3 * 1024 * 1024)]), 'big.jpg', 'image/jpeg'), 413, /^upload too large: 3 MiB is more than the 1 MiB limit$/],
      ['a file just over the limit (refused while streaming)', () => postFile(`${url}/api/detect`, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(1024 * 1024 + 10_000)]), 'big.jpg', 'image/jpeg'), 413, /^upload too large: the file is larger than the 1 MiB limit$/],
      ['a form without a file', () => fetch(`${url}/api/detect`, { method: 'POST', body: (() => { const f = new FormData(); f.append('note', 'hello'); return f; })() }), 400, /^no file in the upload: send it in a form field named "file"$/],
      ['a JSON body', () => fetch(`${url}/api/detect`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"file": "photo.jpg"}' }), 400, /^expected a multipart\/form-data upload with the file in a field named "file"$/],
      ['a raw octet stream', () => fetch(`${url}/api/detect`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from([0xff, 0xd8, 0xff]) }), 415, /^unsupported Content-Type/],
      ['a path as run id', () => postFile(`${url}/api/detect?run=..%2F..%2Fetc`, Buffer.from([0xff, 0xd8, 0xff]), 'a.jpg'), 400, /^invalid run id "\.\.\/\.\.\/etc"$/],
      ['an unknown run', () => postFile(`${url}/api/detect?run=nope`, Buffer.from([0xff, 0xd8, 0xff]), 'a.jpg'), 404, /^no run "nope" in /],
      ['a bad wholeImage flag', () => postFile(`${url}/api/detect?wholeImage=maybe`, Buffer.from([0xff, 0xd8, 0xff]), 'a.jpg'), 400, /^wholeImage must be true or false, not "maybe"$/],
    ];
    for (const [name, send, status, message] of cases) {
      it(`${name}: ${status}`, async () => {
        const body = await expectError(await send(), status, message);
        if (status === 413 && /limit/.test(body.error)) expect(body.hint).toMatch(/--max-upload-mb/);
        expect(leftoverUploads(tmpDir)).toEqual([]);
      });
    }
  });

  it('says how to train a run when there is none, and has nothing to generate with', async () => {
    const list = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
    expect(list).toMatchObject({ runs: [], defaultRun: null, builtInGenerator: null, builtInDetector: null, defaultDetector: null, trainCommand: 'npx fakeface train --data DIR --preset tiny --out runs/tiny' });
    for (const request of [{ count: 4 }, { seedA: 1, seedB: 2 }]) {
      const body = await expectError(await fetch(`${url}/api/generate`, json(request)), 404, /^no run with a checkpoint in .+, and no built-in generator$/);
      expect(body.hint).toBe('train one first: npx fakeface train --data DIR --preset tiny --out runs/tiny');
    }
    // Without the built-in generator, its id is an ordinary experiment:run id.
    await expectError(await fetch(`${url}/api/generate`, json({ run: 'builtin:dcgan64-utkface' })), 404, /^no run "builtin:dcgan64-utkface" in experiment "builtin"$/);
  });

  it('answers 503 to a check when it has no detector at all (no --detector, no built-in one, no run)', async (ctx) => {
    skipUnlessDetection(detection, ctx);
    const photo = UTKFACE_DIR ? readFileSync(facePhotos(UTKFACE_DIR, 1, 3)[0]!) : await syntheticJpeg(64, 64);
    const body = await expectError(await postFile(`${url}/api/detect`, photo, 'face.jpg', 'image/jpeg'), 503, /^no detector to check with: this server has no --detector, this install no built-in detector, and there is no trained run$/);
    expect(body.hint).toBe('start it with --detector DIR (from fakeface detector train), or train a GAN run first: npx fakeface train --data DIR --preset tiny --out runs/tiny');
    expect(leftoverUploads(tmpDir)).toEqual([]);
  });

  it('lists experiment reports and serves their files, nothing else', async () => {
    const list = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
    expect(list.experiments).toEqual([{ id: 'table1', title: 'Table 1 reproduction', url: '/experiments/table1/report.html' }]);
    const report = await fetch(`${url}/experiments/table1/report.html`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await fetch(`${url}/experiments/table1/figures/fig2.png`)).status).toBe(200);
    await expectError(await fetch(`${url}/experiments/table1/secret.sh`), 400, /^invalid report path "secret.sh"$/);
    await expectError(await fetch(`${url}/experiments/table1/missing.html`), 404, /^experiment "table1" has no missing.html$/);
    await expectError(await rawGet(url, '/experiments/table1/%2e%2e/%2e%2e/package.json'), 400, /^invalid report path "..\/..\/package.json"$/);
    await expectError(await rawGet(url, '/experiments/table1/..%2F..%2F..%2Fpackage.json'), 400, /^invalid report path/);
    await expectError(await rawGet(url, '/experiments/%2e%2e/package.json'), 400, /^invalid experiment id "\.\."$/);
    await expectError(await rawGet(url, '/experiments/table1/../../../package.json'), 400, /^invalid report path "..\/..\/..\/package.json"$/);
  });
});

describe.skipIf(!BUILT_IN)('the server with the built-in models and no runs', () => {
  let server: FakefaceServer;
  let url: string;
  let card: ModelPackCard;
  let detection: { available: boolean; reason: string };
  const tmpDir = join(work.dir, 'uploads-builtin');
  const generatorId = `builtin:${BUILT_IN?.generator.name}`;

  beforeAll(async () => {
    mkdirSync(tmpDir);
    card = await readModelPackCard(BUILT_IN!.generator.dir);
    // The reference faces are drawn in this process: on the engine the server's model workers use.
    await initEngine({ backend: 'wasm' });
    detection = await detectionModule();
    server = await createServer({ port: 0, runsDir: join(work.dir, 'no-runs'), experimentsDir: join(work.dir, 'no-experiments'), tmpDir, log: silent });
    url = await server.listen();
  });
  afterAll(() => server?.close());

  it('lists the built-in generator (resolution and iteration from its card) and detector beside the empty runs', async () => {
    const list = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
    const { generator, detector } = BUILT_IN!;
    expect(list).toMatchObject({
      runs: [],
      defaultRun: null,
      builtInGenerator: { id: `builtin:${generator.name}`, name: generator.name, label: `built-in: ${generator.name}`, resolution: card.config.resolution, iteration: card.iteration, architecture: card.config.architecture },
      builtInDetector: { id: `builtin:${detector.name}`, name: detector.name, label: `built-in: ${detector.name}` },
      defaultDetector: `built-in: ${detector.name}`,
    });
  });

  it('generates with the built-in generator when no run is named: the faces `fakeface generate` draws with it', async () => {
    const response = await fetch(`${url}/api/generate`, json({ count: 4, seed: 1 }));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-fakeface-run')).toBe(generatorId);
    expect(response.headers.get('x-fakeface-iteration')).toBe(String(card.iteration));
    expect(response.headers.get('content-disposition')).toBe(`inline; filename="fakeface-builtin-${BUILT_IN!.generator.name}-seed-1-4.png"`);
    const png = Buffer.from(await response.arrayBuffer());
    const side = card.config.resolution;
    expect(await sharp(png).metadata()).toMatchObject({ width: 2 * (side + 2) + 2, height: 2 * (side + 2) + 2 }); // 2x2 faces, 2 px padding
    expect(png).toEqual(await renderGridPng(await generateFromRun(BUILT_IN!.generator.dir, 4, 1)));
    // Named by its id: the same grid.
    expect(Buffer.from(await (await fetch(`${url}/api/generate`, json({ run: generatorId, count: 4, seed: 1 }))).arrayBuffer())).toEqual(png);
  });

  it('interpolates with the built-in generator when no run is named', async () => {
    const response = await fetch(`${url}/api/generate`, json({ seedA: 1, seedB: 2, steps: 4 }));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('x-fakeface-run')).toBe(generatorId);
    const side = card.config.resolution;
    expect(await sharp(Buffer.from(await response.arrayBuffer())).metadata()).toMatchObject({ width: 4 * (side + 2) + 2, height: side + 4 });
  });

  it('draws bare faces with padding 0: one face is exactly its pixels, without the grid frame', async () => {
    const side = card.config.resolution;
    const png = async (body: object) => Buffer.from(await (await fetch(`${url}/api/generate`, json(body))).arrayBuffer());
    const bare = await png({ count: 1, seed: 5, padding: 0 });
    expect(await sharp(bare).metadata()).toMatchObject({ width: side, height: side });
    // The same face as inside the framed grid.
    const framed = await png({ count: 1, seed: 5 });
    expect(await sharp(framed).metadata()).toMatchObject({ width: side + 4, height: side + 4 });
    const inner = await sharp(framed).extract({ left: 2, top: 2, width: side, height: side }).raw().toBuffer();
    expect(inner.equals(await sharp(bare).raw().toBuffer())).toBe(true);
    expect(await sharp(await png({ count: 4, seed: 5, padding: 0 })).metadata()).toMatchObject({ width: 2 * side, height: 2 * side });
    expect(await sharp(await png({ seedA: 1, seedB: 2, steps: 3, padding: 0 })).metadata()).toMatchObject({ width: 3 * side, height: side });
    await expectError(await fetch(`${url}/api/generate`, json({ count: 1, padding: -1 })), 400, /^padding must be an integer from 0 to 16, not -1$/);
  });

  it('checks a real face photo with the built-in detector, and names it', async (ctx) => {
    skipUnlessDetection(detection, ctx);
    if (!UTKFACE_DIR) return ctx.skip(UTKFACE_MISSING);
    const response = await postFile(`${url}/api/detect`, readFileSync(facePhotos(UTKFACE_DIR, 1, 3)[0]!), 'face.jpg', 'image/jpeg');
    expect(response.status, await response.clone().text()).toBe(200);
    const result = (await response.json()) as ImageDetection;
    expect(result.faces.length).toBeGreaterThanOrEqual(1);
    expectVerdictFields(result);
    expectDocumented('ImageDetection', result);
    expect(result.detector).toMatchObject({ kind: 'detector', source: `builtin:${BUILT_IN!.detector.name}` });
    expect(result.detector.name).toContain(BUILT_IN!.detector.name);
    // The built-in detector says what it is in plain words, and where it looks on each face.
    expect(result.detector.about?.limits.length).toBeGreaterThanOrEqual(1);
    for (const face of result.faces) if (face.map) expect(face.map.values).toHaveLength(face.map.grid ** 2);
    expect(leftoverUploads(tmpDir)).toEqual([]);
  });
});

describe.skipIf(!UTKFACE_DIR)('the server with a trained run', () => {
  let server: FakefaceServer;
  let url: string;
  let detection: { available: boolean; reason: string };
  const runsDir = join(work.dir, 'runs');
  const experimentsDir = join(work.dir, 'experiments-with-runs');
  const tmpDir = join(work.dir, 'uploads');
  const needsDetection = (ctx: { skip: (note?: string) => never }) => skipUnlessDetection(detection, ctx);

  beforeAll(async () => {
    mkdirSync(tmpDir);
    await trainTinyRun(UTKFACE_DIR!, runsDir, 'tiny', join(work.dir, 'cache'));
    // An experiment's run (experiments/<id>/runs/<run>), finished a day ago.
    const experimentRun = join(experimentsDir, 'exp1', 'runs', 'model1');
    cpSync(join(runsDir, 'tiny'), experimentRun, { recursive: true });
    const dayAgo = new Date(Date.now() - 86_400_000);
    utimesSync(join(experimentRun, 'metrics.jsonl'), dayAgo, dayAgo);
    detection = await detectionModule();
    server = await createServer({ port: 0, runsDir, tmpDir, experimentsDir, watchIntervalMs: 100, history: false, log: silent });
    url = await server.listen();
  }, 900_000);
  afterAll(() => server?.close());

  it('lists the run with its state, last metrics and newest sample', async () => {
    const list = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
    expect(list.defaultRun).toBe('tiny');
    const detector = builtInDetector();
    expect(list.defaultDetector).toBe(detector ? `built-in: ${detector.name}` : 'discriminator of run tiny');
    expect(list.runs.map((r) => r.id)).toEqual(['tiny', 'exp1:model1']);
    expect(list.runs[1]).toMatchObject({ id: 'exp1:model1', experiment: 'exp1', latestSample: '/api/runs/exp1%3Amodel1/samples/step_000020.png' });
    expect(list.runs[0]).toMatchObject({ id: 'tiny', experiment: null, status: 'finished', iteration: 20, iterations: 20, preset: 'tiny', resolution: 32, hasCheckpoint: true, latestSample: '/api/runs/tiny/samples/step_000020.png' });
    expect(list.runs[0]!.last!.iteration).toBe(20);
    const run = (await (await fetch(`${url}/api/runs/tiny`)).json()) as RunDetail;
    expect(run.metrics.map((m) => m.iteration)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(run.metricsTotal).toBe(20);
    expect(run.samples.map((s) => s.iteration)).toEqual([10, 20]);
    expect(run.config).toMatchObject({ preset: 'tiny', latentDim: 32 });
  });

  it('serves sample grids and refuses bad run ids and file names', async () => {
    const latest = await fetch(`${url}/api/runs/tiny/samples/latest.png`);
    expect(latest.status).toBe(200);
    expect(latest.headers.get('content-type')).toBe('image/png');
    expect(latest.headers.get('x-fakeface-iteration')).toBe('20');
    expect(Buffer.from(await latest.arrayBuffer())).toEqual(readFileSync(join(runsDir, 'tiny', 'samples', 'step_000020.png')));
    expect((await fetch(`${url}/api/runs/tiny/samples/step_000010.png`)).status).toBe(200);
    await expectError(await fetch(`${url}/api/runs/tiny/samples/step_000030.png`), 404, /^run "tiny" has no sample step_000030.png$/);
    await expectError(await fetch(`${url}/api/runs/tiny/samples/config.json`), 400, /^invalid sample name "config.json"$/);
    await expectError(await fetch(`${url}/api/runs/tiny/samples/..%2Fconfig.json`), 400, /^invalid sample name "..\/config.json"$/);
    await expectError(await rawGet(url, '/api/runs/%2e%2e'), 400, /^invalid run id "\.\."$/);
    await expectError(await rawGet(url, '/api/runs/%2e%2e/samples/latest.png'), 400, /^invalid run id "\.\."$/);
    await expectError(await fetch(`${url}/api/runs/..%2F..%2Fetc`), 400, /^invalid run id "..\/..\/etc"$/);
    await expectError(await fetch(`${url}/api/runs/a%00b`), 400, /^invalid run id/);
    await expectError(await fetch(`${url}/api/runs/nope`), 404, /^no run "nope" in /);
    await expectError(await fetch(`${url}/api/runs/nope/samples/latest.png`), 404, /^no run "nope"/);
    // Caught by the static files' traversal guard (403) or, without a built page, by no route (404).
    const traversal = await rawGet(url, '/api/runs/../../package.json');
    await expectError(traversal, traversal.status === 403 ? 403 : 404, /^(Forbidden|no such endpoint)/);
  });

  it('serves the runs of experiments as <experiment>:<run>', async () => {
    const run = (await (await fetch(`${url}/api/runs/exp1:model1`)).json()) as RunDetail;
    expect(run).toMatchObject({ id: 'exp1:model1', experiment: 'exp1', iteration: 20 });
    expect((await fetch(`${url}/api/runs/exp1%3Amodel1/samples/latest.png`)).status).toBe(200);
    const grid = await fetch(`${url}/api/generate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"run": "exp1:model1", "count": 1}' });
    expect(grid.headers.get('content-disposition')).toBe('inline; filename="fakeface-exp1-model1-seed-0-1.png"');
    await expectError(await fetch(`${url}/api/runs/exp1:model1:x`), 400, /^invalid run id "exp1:model1:x"$/);
    await expectError(await rawGet(url, '/api/runs/exp1:..'), 400, /^invalid run id "exp1:.."$/);
    await expectError(await rawGet(url, '/api/runs/..:model1'), 400, /^invalid run id "..:model1"$/);
    await expectError(await fetch(`${url}/api/runs/nope:model1`), 404, /^no run "nope:model1" in experiment "nope"$/);
  });

  it('streams new metrics lines and sample grids of a run in progress (SSE)', async () => {
    const live = join(runsDir, 'live');
    cpSync(join(runsDir, 'tiny'), live, { recursive: true });
    const last = JSON.parse(readFileSync(join(live, 'metrics.jsonl'), 'utf8').trim().split('\n').pop()!) as MetricsPoint;
    const events = await readEvents(
      `${url}/api/runs/live/events`,
      (es) => es.some((e) => e.event === 'metrics') && es.some((e) => e.event === 'sample'),
      20_000,
      () => {
        // Half a line first: only complete lines are sent.
        appendFileSync(join(live, 'metrics.jsonl'), JSON.stringify({ ...last, iteration: 21 }) + '\n' + JSON.stringify({ ...last, iteration: 22 }).slice(0, 20));
        copyFileSync(join(live, 'samples', 'step_000020.png'), join(live, 'samples', 'step_000030.png'));
      },
    );
    const snapshot = events[0]!;
    expect(snapshot.event).toBe('snapshot');
    expect((snapshot.data as RunDetail).metrics).toHaveLength(20);
    const metrics = events.filter((e) => e.event === 'metrics').flatMap((e) => e.data as MetricsPoint[]);
    expect(metrics.map((m) => m.iteration)).toEqual([21]);
    expect(events.find((e) => e.event === 'sample')!.data as SampleGrid).toEqual({ iteration: 30, url: '/api/runs/live/samples/step_000030.png' });
  });

  it('generates the same grid for the same seed, and a different one for another', async () => {
    const grid = async (body: object) => {
      const response = await fetch(`${url}/api/generate`, json(body));
      expect(response.status, await response.clone().text()).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/png');
      return { png: Buffer.from(await response.arrayBuffer()), headers: response.headers };
    };
    const a = await grid({ run: 'tiny', count: 4, seed: 1 });
    expect(await sharp(a.png).metadata()).toMatchObject({ width: 70, height: 70 }); // 2x2 faces of 32 px, 2 px padding
    expect(a.headers.get('x-fakeface-run')).toBe('tiny');
    expect(a.headers.get('x-fakeface-iteration')).toBe('20');
    expect(a.headers.get('content-disposition')).toBe('inline; filename="fakeface-tiny-seed-1-4.png"');
    expect((await grid({ run: 'tiny', count: 4, seed: 1 })).png).toEqual(a.png);
    expect((await grid({ run: 'tiny', count: 4, seed: 2 })).png).not.toEqual(a.png);
    // No run named: the built-in generator when this install has one, else the newest run with a checkpoint.
    const unnamed = await grid({ count: 4, seed: 1 });
    const builtIn = builtInGenerator();
    if (builtIn) expect(unnamed.headers.get('x-fakeface-run')).toBe(`builtin:${builtIn.name}`);
    else expect(unnamed.png).toEqual(a.png);
    const restoreModels = withoutBuiltInModels();
    try {
      // (the SSE test's copy of tiny, "live", may be the newest: same checkpoint, same faces)
      const { defaultRun } = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
      const newest = await grid({ count: 4, seed: 1 });
      expect(newest.headers.get('x-fakeface-run')).toBe(defaultRun);
      expect(newest.png).toEqual(a.png);
    } finally {
      restoreModels();
    }
    expect(await sharp((await grid({ run: 'tiny', count: 6, seed: 1, columns: 6 })).png).metadata()).toMatchObject({ width: 6 * 34 + 2, height: 36 });
  });

  it('interpolates between two seeds: a strip whose ends are the first face of each seed', async () => {
    const response = await fetch(`${url}/api/generate`, json({ run: 'tiny', seedA: 5, seedB: 6, steps: 5 }));
    expect(response.status).toBe(200);
    const strip = Buffer.from(await response.arrayBuffer());
    expect(await sharp(strip).metadata()).toMatchObject({ width: 5 * 34 + 2, height: 36 });
    const face = async (png: Buffer, column: number) => sharp(png).extract({ left: 2 + column * 34, top: 2, width: 32, height: 32 }).raw().toBuffer();
    const single = async (seed: number) => Buffer.from(await (await fetch(`${url}/api/generate`, json({ run: 'tiny', count: 1, seed }))).arrayBuffer());
    const maxDiff = (x: Buffer, y: Buffer) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    expect(maxDiff(await face(strip, 0), await face(await single(5), 0))).toBeLessThanOrEqual(2);
    expect(maxDiff(await face(strip, 4), await face(await single(6), 0))).toBeLessThanOrEqual(2);
    expect(maxDiff(await face(strip, 2), await face(strip, 0))).toBeGreaterThan(10);
  });

  it('refuses bad generate requests with a message', async () => {
    const post = (body: unknown) => fetch(`${url}/api/generate`, json(body));
    await expectError(await post({ count: 0 }), 400, /^count must be an integer from 1 to 64, not 0$/);
    await expectError(await post({ count: 1000 }), 400, /^count must be an integer from 1 to 64, not 1000$/);
    await expectError(await post({ count: 2.5 }), 400, /^count must be an integer from 1 to 64, not 2.5$/);
    await expectError(await post({ seed: -1 }), 400, /^seed must be an integer from 0 to 4294967295, not -1$/);
    await expectError(await post({ seed: '7' }), 400, /^seed must be an integer from 0 to 4294967295, not "7"$/);
    await expectError(await post({ seedA: 1, seedB: 2, steps: 1 }), 400, /^steps must be an integer from 2 to 16, not 1$/);
    await expectError(await post({ seedA: 1 }), 400, /^seedB must be an integer from 0 to 4294967295, not undefined$/);
    await expectError(await post({ seedA: 1, seedB: 2, count: 4 }), 400, /^send either \{count, seed, columns\} for a grid or \{seedA, seedB, steps\} for an interpolation, not both$/);
    await expectError(await post({ count: 4, size: 9 }), 400, /^unknown field "size"$/);
    await expectError(await post([1, 2]), 400, /^expected a JSON object body/);
    await expectError(await post({ run: '../tiny' }), 400, /^invalid run id "..\/tiny"$/);
    await expectError(await post({ run: 7 }), 400, /^run id must be a string, not 7$/);
    await expectError(await post({ run: 'nope' }), 404, /^no run "nope" in /);
    await expectError(await fetch(`${url}/api/generate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"count": ' }), 400, /^invalid JSON body/);
    await expectError(await fetch(`${url}/api/generate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(100_000) }) }), 413, /^request body too large$/);
  });

  it('checks a real face photo and answers with the faces, the verdict and the detector', async (ctx) => {
    needsDetection(ctx);
    const [photo] = facePhotos(UTKFACE_DIR!, 1, 3);
    const started = performance.now();
    const response = await postFile(`${url}/api/detect`, readFileSync(photo!), 'face photo.jpg', 'image/jpeg');
    const ms = performance.now() - started;
    expect(response.status, await response.clone().text()).toBe(200);
    const result = (await response.json()) as ImageDetection;
    console.log(`image checked in ${Math.round(ms)} ms (server ${result.ms} ms)`);
    expect(result).toMatchObject({ kind: 'image', file: 'face photo.jpg', width: 200, height: 200 });
    expect(result.faces.length).toBeGreaterThanOrEqual(1);
    for (const face of result.faces) expect(face.pFake).toBeGreaterThanOrEqual(0);
    expectVerdictFields(result);
    expectDocumented('ImageDetection', result);
    // No --detector: the built-in detector decides before any run's discriminator, and the answer says which.
    const { defaultRun } = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
    const builtIn = builtInDetector();
    if (builtIn) expect(result.detector).toMatchObject({ kind: 'detector', source: `builtin:${builtIn.name}` });
    else expect(result.detector).toMatchObject({ kind: 'discriminator', source: join(runsDir, defaultRun!) });
    expect(leftoverUploads(tmpDir)).toEqual([]);

    // No built-in detector either: the newest run's discriminator.
    const restoreModels = withoutBuiltInModels();
    try {
      expect(((await (await fetch(`${url}/api/runs`)).json()) as RunList).defaultDetector).toBe(`discriminator of run ${defaultRun}`);
      const fallback = (await (await postFile(`${url}/api/detect`, readFileSync(photo!), 'a.jpg')).json()) as ImageDetection;
      expect(fallback.detector).toMatchObject({ kind: 'discriminator', source: join(runsDir, defaultRun!) });
      expectVerdictFields(fallback);
      expectDocumented('ImageDetection', fallback);
    } finally {
      restoreModels();
    }

    const named = (await (await postFile(`${url}/api/detect?run=tiny`, readFileSync(photo!), 'a.jpg')).json()) as ImageDetection;
    expect(named.detector.source).toBe(join(runsDir, 'tiny'));
  });

  it('answers 422 for a corrupt image, naming the problem but not the temporary file', async (ctx) => {
    needsDetection(ctx);
    const [photo] = facePhotos(UTKFACE_DIR!, 1);
    const bytes = readFileSync(photo!);
    const body = await expectError(await postFile(`${url}/api/detect`, bytes.subarray(0, 200), 'cut.jpg', 'image/jpeg'), 422, /./);
    expect(body.error).not.toMatch(/upload-|fakeface-uploads|\/tmp\//);
    expect(leftoverUploads(tmpDir)).toEqual([]);
  });

  describe.skipIf(!FFMPEG)('videos', () => {
    let video: string;
    beforeAll(() => {
      video = makeFaceVideo(UTKFACE_DIR!, join(work.dir, 'faces-2s.mp4'), 2);
    });

    it('turns an mp4 into a job: 202, progress by SSE, then the timeline, verdict and key-frame thumbnails', async (ctx) => {
      needsDetection(ctx);
      const started = performance.now();
      const response = await postFile(`${url}/api/detect`, readFileSync(video), 'faces.mp4', 'video/mp4');
      expect(response.status, await response.clone().text()).toBe(202);
      const accepted = (await response.json()) as JobAccepted;
      expect(response.headers.get('location')).toBe(`/api/jobs/${accepted.job.id}`);
      expect(accepted).toMatchObject({ statusUrl: `/api/jobs/${accepted.job.id}`, eventsUrl: `/api/jobs/${accepted.job.id}/events`, job: { kind: 'video', file: 'faces.mp4' } });
      const events: SseEvent[] = await readEvents(`${url}${accepted.eventsUrl}`, () => false, 120_000);
      const final = events[events.length - 1]!;
      expect(final.event).toBe('job');
      const job = final.data as Job;
      console.log(`2-second video analysed in ${Math.round(performance.now() - started)} ms`);
      expect(job.status, job.error ?? '').toBe('done');
      const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as { done: number; total: number | null });
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress[progress.length - 1]!.done).toBe(job.result!.framesAnalysed);
      expect(job.result).toMatchObject({ kind: 'video', file: 'faces.mp4', width: 200, height: 200 });
      expect(job.result!.frames.length).toBeGreaterThanOrEqual(3);
      expect(job.result!.framesWithFaces).toBeGreaterThanOrEqual(1);
      expectVerdictFields(job.result!);
      expectDocumented('Job', job);
      expect(job.keyFrames.length).toBe(Math.min(job.result!.keyFrames.length, 6));
      // Key frames are the frames that drove the decision: none when no frame could be judged.
      if (job.keyFrames.length === 0) {
        expect(job.result).toMatchObject({ verdict: 'uncertain', pFake: null });
        console.warn(`no frame of the 2-second video could be judged (${job.result!.reason?.message}): no thumbnail to check`);
      } else {
        const thumb = await fetch(`${url}${job.keyFrames[0]!.url}`);
        expect(thumb.headers.get('content-type')).toBe('image/jpeg');
        expect(await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).toMatchObject({ format: 'jpeg', width: 200 });
      }
      // The same job by polling, and nothing left behind.
      expect(((await (await fetch(`${url}${accepted.statusUrl}`)).json()) as Job).status).toBe('done');
      expect(leftoverUploads(tmpDir)).toEqual([]);
      await expectError(await fetch(`${url}/api/jobs/${job.id}/frames/9.jpg`), 404, /has no frame thumbnail "9.jpg"/);
    });

    it('reports a corrupt video as a failed job with the reason', async (ctx) => {
      needsDetection(ctx);
      const bytes = readFileSync(video);
      const response = await postFile(`${url}/api/detect`, Buffer.concat([bytes.subarray(0, 64), Buffer.alloc(4096, 7)]), 'broken.mp4', 'video/mp4');
      expect(response.status).toBe(202);
      const { job, eventsUrl } = (await response.json()) as JobAccepted;
      const events = await readEvents(`${url}${eventsUrl}`, () => false, 60_000);
      const final = events[events.length - 1]!.data as Job;
      expect(final).toMatchObject({ id: job.id, status: 'failed', result: null });
      expect(final.error).toMatch(/./);
      expect(final.error).not.toMatch(/upload-|\/tmp\//);
      expect(leftoverUploads(tmpDir)).toEqual([]);
    });

    it('answers 503 with Retry-After when the job queue is full', async (ctx) => {
      needsDetection(ctx);
      const busyTmp = join(work.dir, 'uploads-busy');
      mkdirSync(busyTmp);
      const busy = await createServer({ port: 0, runsDir, experimentsDir, tmpDir: busyTmp, concurrentJobs: 1, queuedJobs: 0, history: false, log: silent });
      try {
        const busyUrl = await busy.listen();
        const first = await postFile(`${busyUrl}/api/detect`, readFileSync(video), 'one.mp4', 'video/mp4');
        expect(first.status).toBe(202);
        const second = await postFile(`${busyUrl}/api/detect`, readFileSync(video), 'two.mp4', 'video/mp4');
        const body = await expectError(second, 503, /^the server is busy: 1 video analyses running and 0 waiting \(the limit\)$/);
        expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(body.hint).toMatch(/^try again in \d+ s$/);
        const { eventsUrl } = (await first.json()) as JobAccepted;
        await readEvents(`${busyUrl}${eventsUrl}`, () => false, 120_000);
      } finally {
        await busy.close();
      }
      expect(leftoverUploads(busyTmp)).toEqual([]);
    });

    it('cancels a job with DELETE: it stops, its upload is deleted, and its stream ends with status cancelled', async (ctx) => {
      needsDetection(ctx);
      const response = await postFile(`${url}/api/detect`, readFileSync(video), 'cancel-me.mp4', 'video/mp4');
      expect(response.status).toBe(202);
      const { job, statusUrl, eventsUrl } = (await response.json()) as JobAccepted;
      const cancelled = await fetch(`${url}${statusUrl}`, { method: 'DELETE' });
      expect(cancelled.status).toBe(200);
      const stopped = (await cancelled.json()) as Job;
      expect(stopped).toMatchObject({ id: job.id, status: 'cancelled', result: null, error: expect.stringMatching(/^cancelled/) });
      expect(stopped.finishedAt).not.toBeNull();
      expectDocumented('Job', stopped);
      // Answered once it has stopped: nothing running, the upload gone, the stream says so and ends.
      expect(((await (await fetch(`${url}/api/health`)).json()) as Health).jobs).toMatchObject({ running: 0, waiting: 0 });
      expect(leftoverUploads(tmpDir)).toEqual([]);
      const events = await readEvents(`${url}${eventsUrl}`, () => false, 10_000);
      expect(events.map((e) => [e.event, (e.data as Job).status])).toEqual([['job', 'cancelled']]);
      // Again: the same stopped job.
      expect(((await (await fetch(`${url}${statusUrl}`, { method: 'DELETE' })).json()) as Job).status).toBe('cancelled');
    });

    it('answers 404 for unknown jobs and 400 for malformed ids', async () => {
      await expectError(await fetch(`${url}/api/jobs/00000000-0000-4000-8000-000000000000`), 404, /^no job 00000000-0000-4000-8000-000000000000$/);
      await expectError(await fetch(`${url}/api/jobs/..%2F..`), 400, /^invalid job id "..\/.."$/);
      await expectError(await fetch(`${url}/api/jobs/00000000-0000-4000-8000-000000000000`, { method: 'DELETE' }), 404, /^no job /);
      await expectError(await fetch(`${url}/api/jobs/..%2F..`, { method: 'DELETE' }), 400, /^invalid job id/);
    });
  });
});
