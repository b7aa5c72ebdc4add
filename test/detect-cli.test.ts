/** `fakeface detector train|eval` and `fakeface detect` through the real CLI, on real faces. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { generateFromRun } from '../src/generate/index.js';
import { train } from '../src/train/train.js';
import { onPath } from '../src/video/ffmpeg.js';
import { expectOneLineError, runCli } from './helpers/cli.js';
import { tempFolder, UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

const FFMPEG = onPath('ffmpeg');
if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);

describe.skipIf(!UTKFACE_DIR)('fakeface detector / detect (CLI)', () => {
  const { dir: work, cleanup } = tempFolder('fakeface-detect-cli-');
  const run = join(work, 'runs', 'tiny');
  const detector = join(work, 'detectors', 'd1');
  const realDir = join(work, 'real');
  const fakeDir = join(work, 'fake');
  const names = () => readdirSync(UTKFACE_DIR!).filter((f) => f.endsWith('.jpg')).sort();
  const photo = () => join(UTKFACE_DIR!, names()[4321]!);

  beforeAll(async () => {
    await initEngine({ backend: 'cpu' });
    await train({ dataDir: UTKFACE_DIR!, outDir: run, preset: 'tiny', overrides: { limit: 200, iterations: 40, sampleEvery: 0, checkpointEvery: 40 }, cacheDir: false });
    mkdirSync(realDir, { recursive: true });
    mkdirSync(fakeDir, { recursive: true });
    const all = names();
    for (let i = 0; i < 6; i++) copyFileSync(join(UTKFACE_DIR!, all[500 + i * 1500]!), join(realDir, all[500 + i * 1500]!));
    const fakes = await generateFromRun(run, 6, 11);
    const size = fakes.height * fakes.width * 3;
    for (let i = 0; i < fakes.count; i++) writeFileSync(join(fakeDir, `fake_${i}.png`), await encodePng(fakes.pixels.subarray(i * size, (i + 1) * size), fakes.height, fakes.width));
  }, 900_000);
  afterAll(cleanup);

  it('trains a detector and prints its held-out numbers', async () => {
    const result = await runCli(['detector', 'train', '--real', UTKFACE_DIR!, '--fake-run', run, '--out', detector, '--limit', '120', '--epochs', '2', '--backend', 'cpu']);
    expect(result.stderr).toMatch(/held-out test split[\s\S]*ROC AUC \d\.\d{3}/);
    expect(result.stderr).toMatch(/wrote .*d1/);
    expect(result.code).toBe(0);
    const card = JSON.parse(readFileSync(join(detector, 'detector.json'), 'utf8'));
    expect(card.commandLine).toMatch(/^fakeface detector train --real .* --fake-run .*tiny --out .*d1/);
    expect(card.training.real.count).toBe(120);
    expect(card.heldOut.auc).toBeGreaterThan(0.5);
  }, 900_000);

  it('evaluates the detector (JSON + ROC picture) and the discriminator on folders', async () => {
    const roc = join(work, 'roc.svg');
    const result = await runCli(['detector', 'eval', '--detector', detector, '--real', realDir, '--fake', fakeDir, '--json', '--roc', roc]);
    expect(result.code).toBe(0);
    const evaluation = JSON.parse(result.stdout);
    expect(evaluation.report.count).toEqual({ real: 6, fake: 6 });
    expect(evaluation.report.confusion).toHaveProperty('truePositives');
    expect(evaluation.scores).toHaveLength(12);
    expect(await sharp(roc).metadata()).toMatchObject({ format: 'svg' });
    const byD = await runCli(['detector', 'eval', '--run', run, '--real', realDir, '--fake', fakeDir]);
    expect(byD.code).toBe(0);
    expect(byD.stdout).toMatch(/discriminator of tiny[\s\S]*accuracy \d\.\d{3}\s+balanced \d\.\d{3}\s+ROC AUC/);
    expect(byD.stdout).toMatch(/called real\s+called fake/);
  }, 900_000);

  it.skipIf(!FFMPEG)('detects on a photo and an mp4 (told apart by content), with annotations', async () => {
    const frames = join(work, 'frames');
    mkdirSync(frames, { recursive: true });
    readdirSync(realDir).slice(0, 3).forEach((f, i) => copyFileSync(join(realDir, f), join(frames, `f${i}.jpg`)));
    // Named .jpg on purpose: detect reads the content, not the name.
    const clip = join(work, 'clip.jpg');
    execFileSync(FFMPEG!, ['-nostdin', '-v', 'error', '-y', '-framerate', '1', '-i', join(frames, 'f%d.jpg'), '-vf', 'pad=320:240:60:20:gray,fps=10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'mp4', clip]);
    const out = join(work, 'annotated');
    const result = await runCli(['detect', photo(), clip, '--detector', detector, '--frames', '3', '--annotate', out, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.detector).toMatchObject({ kind: 'detector', source: detector });
    expect(report.results.map((r: { kind: string }) => r.kind)).toEqual(['image', 'video']);
    const video = report.results[1];
    expect(video).toMatchObject({ framesAnalysed: 3, sampling: '3 frames spread over the video' });
    expect(video.frames).toHaveLength(3);
    const written = readdirSync(out).sort();
    expect(written).toContain('clip.timeline.svg');
    expect(written.filter((f) => /^clip\.frame-\d{4}\.png$/.test(f))).toHaveLength(video.keyFrames.length);
    const annotatedPhoto = written.find((f) => f.endsWith('.annotated.png'))!;
    expect(await sharp(join(out, annotatedPhoto)).metadata()).toMatchObject({ width: 200, height: 200, format: 'png' });
  }, 900_000);

  it('reports bad usage and bad inputs in one line', async () => {
    // Without built-in models (an install that ships none), a classifier must be named.
    const noModels = { FAKEFACE_MODELS_DIR: join(work, 'no-models') };
    expectOneLineError(await runCli(['detect', photo()], noModels), /choose a classifier: --detector DIR or --run RUN/);
    const notes = join(work, 'notes.jpg');
    writeFileSync(notes, 'just text\n');
    expectOneLineError(await runCli(['detect', notes, '--detector', detector]), /notes.jpg: not an image or a video \(it holds text\)/);
    expectOneLineError(await runCli(['detector', 'train', '--real', realDir, '--out', join(work, 'd2')]), /no fakes to train against/);
    expectOneLineError(await runCli(['detector', 'eval', '--real', realDir, '--fake', fakeDir], noModels), /choose a classifier: --detector DIR or --run RUN/);
    expectOneLineError(await runCli(['detector', 'eval', '--detector', detector, '--run', detector, '--real', realDir, '--fake', fakeDir]), /not both/);
    const help = await runCli(['detector', '--help']);
    expect(help.stdout).toMatch(/train[\s\S]*eval/);
  }, 900_000);
});
