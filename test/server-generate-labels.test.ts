/**
 * POST /api/generate with labels (age, gender, race) for a conditional run, against the
 * real server on an ephemeral port, with real tiny runs (one conditional, one not)
 * trained here on UTKFace photos.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunList } from '../src/server/api-types.js';
import { parseConditionRequest } from '../src/data/conditions.js';
import { initEngine } from '../src/engine/index.js';
import { generateFromRun } from '../src/generate/index.js';
import { createServer, type FakefaceServer } from '../src/server/index.js';
import { renderGridPng } from '../src/train/samples.js';
import { train } from '../src/train/train.js';
import { tileGrid, encodePng } from '../src/data/index.js';
import { exportModel } from '../src/export/index.js';
import { BUILT_IN_CONDITIONAL_GENERATOR_NAME, DEFAULT_GENERATOR_NAME } from '../src/models/builtin.js';
import { UTKFACE_DIR, UTKFACE_MISSING, tempFolder } from './helpers/data.js';
import { documented } from './helpers/openapi.js';

const work = tempFolder('fakeface-server-labels-');
if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);
const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function expectError(response: Response, status: number, message: RegExp): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = JSON.parse(text) as { error: string; hint?: string };
  expect(body.error).toMatch(message);
  expect(body.error).not.toContain('\n');
  expect(text).not.toMatch(/\n\s+at |node:internal|\.ts:\d+/);
}


(UTKFACE_DIR ? describe : describe.skip)('POST /api/generate with labels', () => {
  let server: FakefaceServer;
  let url: string;
  const runsDir = join(work.dir, 'runs');
  const tiny = (id: string, conditional: boolean) =>
    train({
      dataDir: UTKFACE_DIR!,
      outDir: join(runsDir, id),
      preset: 'tiny',
      overrides: { iterations: 6, limit: 100, batchSize: 16, sampleEvery: 0, checkpointEvery: 6, conditional },
      cacheDir: join(work.dir, 'cache'),
      engine: { backend: 'wasm' },
    });

  beforeAll(async () => {
    await tiny('cond', true);
    await tiny('plain', false);
    await initEngine({ backend: 'wasm' });
    server = await createServer({ port: 0, runsDir, experimentsDir: join(work.dir, 'no-experiments'), tmpDir: work.dir, workers: 1, log: () => undefined });
    url = await server.listen();
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    work.cleanup();
  });

  it('says which runs are conditional', async () => {
    const list = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
    const byId = Object.fromEntries(list.runs.map((r) => [r.id, r]));
    expect(byId['cond']).toMatchObject({ conditional: true, hasCheckpoint: true });
    expect(byId['plain']).toMatchObject({ conditional: false });
    for (const run of list.runs) expect(documented('RunSummary', run)).toBe(true);
    if (list.builtInGenerator) expect(typeof list.builtInGenerator.conditional).toBe('boolean');
  });

  it('draws the faces asked for: those `fakeface generate --age --gender --race` draws, and others for other labels', async () => {
    const body = { run: 'cond', count: 4, seed: 5, age: '60-80', gender: 'female', race: 'asian' };
    expect(documented('GenerateGridRequest', body)).toBe(true);
    const response = await fetch(`${url}/api/generate`, json(body));
    expect(response.status, await response.clone().text()).toBe(200);
    const png = Buffer.from(await response.arrayBuffer());
    const request = parseConditionRequest({ age: '60-80', gender: 'female', race: 'asian' });
    expect(png).toEqual(await renderGridPng(await generateFromRun(join(runsDir, 'cond'), 4, 5, request)));
    const men = Buffer.from(await (await fetch(`${url}/api/generate`, json({ ...body, gender: 'male' }))).arrayBuffer());
    expect(men).not.toEqual(png);
    // "any" is the same as leaving a field out.
    const open = Buffer.from(await (await fetch(`${url}/api/generate`, json({ run: 'cond', count: 4, seed: 5 }))).arrayBuffer());
    const anyOfAll = Buffer.from(await (await fetch(`${url}/api/generate`, json({ run: 'cond', count: 4, seed: 5, age: 'any', gender: 'any', race: 'any' }))).arrayBuffer());
    expect(anyOfAll).toEqual(open);
    expect(open).not.toEqual(png);
  });

  it('morphs with one set of labels: the strip\'s seedA end is the first face of seedA\'s grid with those labels', async () => {
    const labels = { age: '20-30', gender: 'male' };
    const response = await fetch(`${url}/api/generate`, json({ run: 'cond', seedA: 3, seedB: 4, steps: 4, padding: 0, ...labels }));
    expect(response.status).toBe(200);
    const strip = await sharp(Buffer.from(await response.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    expect(strip.info).toMatchObject({ width: 4 * 32, height: 32 });
    const first = await generateFromRun(join(runsDir, 'cond'), 1, 3, parseConditionRequest(labels));
    const grid = tileGrid(first.pixels, 1, 32, 32, 1, 0);
    const expected = await sharp(await encodePng(grid.pixels, grid.height, grid.width)).raw().toBuffer();
    for (let y = 0; y < 32; y++) {
      const row = strip.data.subarray(y * 4 * 32 * 3, y * 4 * 32 * 3 + 32 * 3);
      expect(Buffer.from(row)).toEqual(expected.subarray(y * 32 * 3, (y + 1) * 32 * 3));
    }
  });

  it('refuses unknown labels, labels of the wrong type, and labels for an unconditional run, in one line', async () => {
    const post = (body: unknown) => fetch(`${url}/api/generate`, json(body));
    await expectError(await post({ run: 'cond', gender: 'robot' }), 400, /^unknown gender "robot": one of male, female$/);
    await expectError(await post({ run: 'cond', age: '50-70' }), 400, /^unknown age "50-70": an age from 1 to 116 or one of 1-12, 13-19, 20-30, 31-45, 46-59, 60-80, 81-116$/);
    await expectError(await post({ run: 'cond', race: 'martian' }), 400, /^unknown race "martian": one of white, black, asian, indian, others$/);
    await expectError(await post({ run: 'cond', age: 65 }), 400, /^age must be a string such as "any", not 65$/);
    await expectError(await post({ run: 'plain', gender: 'female' }), 400, /^plain is not a conditional generator: it cannot take age, gender or race$/);
    await expectError(await post({ run: 'plain', seedA: 1, seedB: 2, age: '20-30' }), 400, /^plain is not a conditional generator/);
    // "any" asks for nothing: an unconditional run takes it.
    expect((await post({ run: 'plain', count: 1, gender: 'any' })).status).toBe(200);
  });

  it('with no run named: the default built-in generator, or the conditional one when labels are asked for', async () => {
    const models = join(work.dir, 'models');
    const conditionalName = BUILT_IN_CONDITIONAL_GENERATOR_NAME;
    const otherName = DEFAULT_GENERATOR_NAME === conditionalName ? 'dcgan64-utkface' : DEFAULT_GENERATOR_NAME;
    const exported = (source: string, name: string) => exportModel({ source: join(runsDir, source), out: join(models, name), dtype: 'float32', name, commandLine: 'test' });
    await exported('cond', conditionalName);
    await exported('plain', otherName);
    const before = process.env['FAKEFACE_MODELS_DIR'];
    process.env['FAKEFACE_MODELS_DIR'] = models;
    try {
      const list = (await (await fetch(`${url}/api/runs`)).json()) as RunList;
      expect(list.builtInGenerators.map((g) => [g.name, g.conditional])).toEqual(
        DEFAULT_GENERATOR_NAME === conditionalName ? [[conditionalName, true], [otherName, false]] : [[otherName, false], [conditionalName, true]],
      );
      expect(list.builtInGenerator?.name).toBe(DEFAULT_GENERATOR_NAME);
      expect(documented('RunList', list)).toBe(true);
      const asked = await fetch(`${url}/api/generate`, json({ count: 2, seed: 1, age: '60-80', gender: 'female' }));
      expect(asked.status).toBe(200);
      expect(asked.headers.get('x-fakeface-run')).toBe(`builtin:${conditionalName}`);
      const plain = await fetch(`${url}/api/generate`, json({ count: 2, seed: 1 }));
      expect(plain.headers.get('x-fakeface-run')).toBe(`builtin:${DEFAULT_GENERATOR_NAME}`);
      // Either built-in can be named.
      expect((await fetch(`${url}/api/generate`, json({ run: `builtin:${otherName}`, count: 1 }))).headers.get('x-fakeface-run')).toBe(`builtin:${otherName}`);
    } finally {
      if (before === undefined) delete process.env['FAKEFACE_MODELS_DIR'];
      else process.env['FAKEFACE_MODELS_DIR'] = before;
    }
  });
});
