import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, expectOneLineError, runCli, startCli } from './helpers/cli.js';
import { UTKFACE_DIR } from './helpers/data.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fakeface-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('fakeface CLI', () => {
  it('has --help on every command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['train', 'generate', 'detect', 'runs', 'export']) {
      expect(top.stdout).toContain(command);
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: fakeface ${command}`));
    }
    expect((await runCli(['train', '--help'])).stdout).toMatch(/--batch-size <n>[\s\S]*--resume/);
  }, 300_000);

  it('reports bad usage in one line', async () => {
    const data = join(work, 'data');
    expectOneLineError(await runCli(['train', '--data', join(work, 'missing'), '--preset', 'tiny', '--out', join(work, 'r1')]), /missing/);
    expectOneLineError(await runCli(['train', '--data', work, '--preset', 'model9', '--out', join(work, 'r1')]), /unknown preset "model9"/);
    expectOneLineError(await runCli(['train', '--data', work, '--preset', 'tiny', '--batch-size', '-5', '--out', join(work, 'r1')]), /batchSize/);
    expectOneLineError(await runCli(['train', '--data', work, '--preset', 'tiny', '--bogus', '--out', join(work, 'r1')]), /unknown option '--bogus'/);
    expectOneLineError(await runCli(['train', '--preset', 'tiny', '--out', join(work, 'r1')]), /--data/);
    expectOneLineError(await runCli(['generate', '--run', join(work, 'no-such-run')]), /run folder not found/);
    expectOneLineError(await runCli(['train', '--data', data, '--preset', 'tiny', '--backend', 'gpu', '--out', join(work, 'r1')]), /unknown backend "gpu"/);
    expect(existsSync(join(work, 'r1'))).toBe(false);
  }, 600_000);

  it('lists no runs in an empty folder', async () => {
    const result = await runCli(['runs', '--dir', join(work, 'none')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/no runs/);
  });
});

(UTKFACE_DIR ? describe : describe.skip)('fakeface CLI on real faces', () => {
  const run = () => join(work, 'runs', 'tiny');
  const trainArgs = () => ['train', '--data', UTKFACE_DIR!, '--preset', 'tiny', '--out', run(), '--limit', '300', '--iterations', '60', '--checkpoint-every', '5', '--sample-every', '20', '--cache-dir', join(work, 'cache')];

  it('survives kill -9 mid-run and finishes with --resume', async () => {
    const child = startCli(trainArgs());
    const finished = collect(child);
    const metricsFile = join(run(), 'metrics.jsonl');
    // Wait until some checkpoints exist and training is under way, then kill hard.
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const lines = existsSync(metricsFile) ? (await readFile(metricsFile, 'utf8')).trim().split('\n').length : 0;
      if (lines >= 12) break;
    }
    child.kill('SIGKILL');
    const killed = await finished;
    expect(killed.signal).toBe('SIGKILL');
    const state = JSON.parse(await readFile(join(run(), 'state.json'), 'utf8'));
    expect(state.status).toBe('running');

    const resumed = await runCli([...trainArgs(), '--resume']);
    expect(resumed.stderr).toMatch(/resuming at iteration \d+/);
    expect(resumed.code).toBe(0);
    const iterations = (await readFile(metricsFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
    expect(iterations).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(resumed.stderr).toMatch(/engine (wasm|cpu|node)/);
  }, 900_000);

  it('generates a grid and separate faces from the run', async () => {
    const grid = join(work, 'faces.png');
    const result = await runCli(['generate', '--run', run(), '-n', '16', '--out', grid, '--seed', '3']);
    expect(result.code).toBe(0);
    expect(await sharp(grid).metadata()).toMatchObject({ width: 4 * 32 + 5 * 2, height: 4 * 32 + 5 * 2, format: 'png' });
    const again = join(work, 'faces-again.png');
    await runCli(['generate', '--run', run(), '-n', '16', '--out', again, '--seed', '3']);
    expect(await readFile(again)).toEqual(await readFile(grid));
    const folder = join(work, 'separate');
    expect((await runCli(['generate', '--run', run(), '-n', '3', '--separate', '--out', folder])).code).toBe(0);
    expect(existsSync(join(folder, 'face_0002.png'))).toBe(true);
  }, 600_000);

  it('exports the run as a float16 generator folder that generate reads, with the training command on its card', async () => {
    const pack = join(work, 'exported');
    const quality = join(work, 'quality.json');
    await writeFile(quality, JSON.stringify({ fid: 1.5, kid: 0.01 }));
    const exported = await runCli(['export', run(), '--out', pack, '--quality', quality]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/wrote generator .*float16 weights/);
    const card = JSON.parse(await readFile(join(pack, 'fakeface-model.json'), 'utf8'));
    expect(card).toMatchObject({ format: 'fakeface-model/1', kind: 'generator', iteration: 60, weights: { dtype: 'float16' }, quality: { fid: 1.5 } });
    expect(card.source.commandLines[0]).toMatch(/fakeface train --data .* --preset tiny/);
    expect(card.source.commandLines.at(-1)).toMatch(/fakeface export/);
    // The same noise through the float16 copy: the same grid to within float16 rounding.
    const [a, b] = [join(work, 'from-run.png'), join(work, 'from-pack.png')];
    expect((await runCli(['generate', '--run', run(), '-n', '4', '--out', a])).code).toBe(0);
    expect((await runCli(['generate', '--run', pack, '-n', '4', '--out', b])).code).toBe(0);
    const [pa, pb] = [await sharp(a).raw().toBuffer(), await sharp(b).raw().toBuffer()];
    expect(pa.length).toBe(pb.length);
    let maxDiff = 0;
    for (let i = 0; i < pa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pa[i]! - pb[i]!));
    expect(maxDiff).toBeLessThanOrEqual(8);
    // An exported generator has no discriminator; bad options are one-line errors.
    expectOneLineError(await runCli(['detect', '--run', pack, join(UTKFACE_DIR!, '100_1_0_20170110183726390.jpg.chip.jpg')]), /exported generator: it has no discriminator/);
    expectOneLineError(await runCli(['export', run(), '--out', join(work, 'x'), '--dtype', 'int4']), /--dtype must be one of float32, float16, uint8/);
    expectOneLineError(await runCli(['export', join(work, 'nope'), '--out', join(work, 'x')]), /not found: .*nope/);
    await writeFile(quality, 'not json');
    expectOneLineError(await runCli(['export', run(), '--out', join(work, 'x'), '--quality', quality]), /--quality .*not readable JSON/);
    expect(existsSync(join(work, 'x'))).toBe(false);
  }, 600_000);

  it("scores the faces in images with the run's discriminator, naming unreadable files", async () => {
    const notImage = join(work, 'notes.jpg');
    await writeFile(notImage, 'this is text');
    const photo = join(UTKFACE_DIR!, '100_1_0_20170110183726390.jpg.chip.jpg');
    const result = await runCli(['detect', '--run', run(), photo, notImage, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.detector).toMatchObject({ kind: 'discriminator', source: run(), threshold: 0.5, inputSize: 32 });
    expect(report.results[0]).toMatchObject({ kind: 'image', file: photo, width: 200, height: 200 });
    const face = report.results[0].faces[0];
    expect(face.box.width).toBeGreaterThan(100);
    expect(face.pFake).toBeGreaterThan(0);
    expect(face.pFake).toBeLessThan(1);
    expect(face.verdict).toBe(face.pFake >= 0.5 ? 'fake' : 'real');
    expect(report.results[0].verdict).toBe(face.verdict);
    expect(report.results[1]).toMatchObject({ file: notImage, verdict: 'error', error: 'not an image or a video (it holds text)' });
    const table = await runCli(['detect', '--run', run(), photo]);
    expect(table.stdout).toMatch(/file\s+kind\s+faces\s+p\(fake\)\s+verdict/);
  }, 600_000);

  it('stops cleanly on Ctrl-C with a checkpoint, and warns once about unreadable files', async () => {
    const data = join(work, 'mixed');
    await mkdir(data, { recursive: true });
    for (const name of (await readdir(UTKFACE_DIR!)).sort().slice(0, 40)) await copyFile(join(UTKFACE_DIR!, name), join(data, name));
    await writeFile(join(data, 'empty.jpg'), '');
    await writeFile(join(data, 'notes.jpg'), 'not an image');
    const out = join(work, 'runs', 'interrupted');
    const child = startCli(['train', '--data', data, '--preset', 'tiny', '--out', out, '--iterations', '100000', '--batch-size', '8', '--no-cache']);
    const finished = collect(child);
    for (let i = 0; i < 600 && !existsSync(join(out, 'metrics.jsonl')); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const result = await finished;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted at iteration \d+; checkpoint saved/);
    expect(result.stderr.match(/warning: skipped 2 unreadable files/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/empty.jpg/);
    const state = JSON.parse(await readFile(join(out, 'state.json'), 'utf8'));
    expect(state.status).toBe('interrupted');
    expect(existsSync(join(out, 'checkpoints', 'latest.json'))).toBe(true);
  }, 600_000);

  it('lists the run with its status and last metrics', async () => {
    const result = await runCli(['runs', '--dir', join(work, 'runs')]);
    expect(result.stdout).toMatch(/tiny\s+finished\s+60\/60/);
  });
});
