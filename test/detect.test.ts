/**
 * Detection end to end, on real faces and real models: a tiny GAN trained here for
 * a few seconds, a detector trained against its fakes, then faces found and scored
 * in photos and in mp4s that ffmpeg builds from real and generated faces.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../src/data/index.js';
import { readDetectorCard } from '../src/detect/card.js';
import { rocSvg } from '../src/detect/charts.js';
import { evaluateClassifier } from '../src/detect/evaluate.js';
import { detect, detectImage, detectVideo, disposeClassifiers } from '../src/detect/index.js';
import { trainDetector } from '../src/detect/train-detector.js';
import { initEngine } from '../src/engine/index.js';
import { nativeDetectionKernelsAvailable } from '../src/engine/native.js';
import { ImageDecodeError, MediaFileError, VideoDecodeError } from '../src/errors.js';
import { generateFromRun } from '../src/generate/index.js';
import { train } from '../src/train/train.js';
import { onPath } from '../src/video/ffmpeg.js';
import { syntheticJpeg, tempFolder, UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

const FFMPEG = onPath('ffmpeg');
if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);
if (!FFMPEG) console.warn('ffmpeg not on PATH: skipping the video detection tests (sudo apt-get install ffmpeg)');

/** n UTKFace photos spread over the sorted folder, from an offset so they differ from the detector's training picks. */
function photos(n: number, offset = 0.37): string[] {
  const names = readdirSync(UTKFACE_DIR!).filter((f) => f.endsWith('.jpg')).sort();
  return Array.from({ length: n }, (_, i) => join(UTKFACE_DIR!, names[Math.floor(((i + offset) * names.length) / n)]!));
}

function ffmpeg(...args: string[]): void {
  execFileSync(FFMPEG!, ['-nostdin', '-v', 'error', '-y', ...args]);
}

describe.skipIf(!UTKFACE_DIR)('detection on real faces with real models', () => {
  const { dir: work, cleanup } = tempFolder('fakeface-detect-');
  const run = join(work, 'runs', 'tiny');
  const detectorDir = join(work, 'detectors', 'd1');
  const fakesDir = join(work, 'fakes');

  beforeAll(async () => {
    // A tiny GAN, trained for seconds: its fakes are easy to tell from photos, which is
    // what a briefly trained detector can honestly be asked to do.
    await initEngine({ backend: 'cpu' });
    await train({
      dataDir: UTKFACE_DIR!,
      outDir: run,
      preset: 'tiny',
      overrides: { limit: 200, iterations: 60, sampleEvery: 0, checkpointEvery: 60 },
      cacheDir: false,
      engine: { backend: 'cpu' },
    });
    const fakes = await generateFromRun(run, 12, 7);
    const size = fakes.height * fakes.width * 3;
    mkdirSync(fakesDir, { recursive: true });
    for (let i = 0; i < fakes.count; i++) {
      const png = await encodePng(fakes.pixels.subarray(i * size, (i + 1) * size), fakes.height, fakes.width);
      // Upscaled to a photo's size, as a fake would be posted.
      await sharp(png).resize(200, 200).png().toFile(join(fakesDir, `fake_${i}.png`));
    }
  }, 900_000);

  afterAll(async () => {
    await disposeClassifiers();
    cleanup();
  });

  it('trains a detector that separates real from fake on held-out faces, and saves it with a card', async () => {
    const stages: string[] = [];
    const result = await trainDetector(
      { realDir: UTKFACE_DIR!, fakeRuns: [run], outDir: detectorDir, limit: 200, epochs: 2, engine: { backend: 'cpu' }, commandLine: 'test' },
      { onStage: (m) => stages.push(m), warn: () => {} },
    );
    const card = result.card;
    expect(existsSync(join(detectorDir, 'model.json')) && existsSync(join(detectorDir, 'weights.bin'))).toBe(true);
    expect(await readDetectorCard(detectorDir)).toEqual(card);
    expect(card.inputSize).toBe(32); // the tiny run's resolution
    expect(card.training.fakes).toEqual([expect.objectContaining({ kind: 'run', dir: run, iteration: 60, resolution: 32, count: 200 })]);
    expect(card.training.split.test).toEqual({ real: 30, fake: 30 });
    // Better than chance on the test split, by a margin no coin reaches (p < 1e-6 for 60 coin flips).
    expect(card.heldOut.auc!).toBeGreaterThan(0.9);
    expect(card.heldOut.accuracy).toBeGreaterThan(0.8);
    const c = card.heldOut.confusion;
    expect(c.truePositives + c.falseNegatives).toBe(30);
    expect(c.trueNegatives + c.falsePositives).toBe(30);
    expect(card.calibration.threshold).toBeGreaterThan(0);
    expect(card.calibration.threshold).toBeLessThan(1);
    expect(Object.keys(card.robustness)).toEqual(['jpeg50', 'half-resolution', 'blur']);
    expect(stages.some((s) => /generating 200 fakes/.test(s))).toBe(true);
    await expect(trainDetector({ realDir: UTKFACE_DIR!, fakeRuns: [run], outDir: detectorDir })).rejects.toThrow(/already holds a detector/);
  }, 900_000);

  it('trains against a folder of fakes too, at 64x64 when no run sets the size', async () => {
    const out = join(work, 'detectors', 'from-folder');
    const { card } = await trainDetector({ realDir: UTKFACE_DIR!, fakeDirs: [fakesDir], outDir: out, limit: 20, epochs: 1, engine: { backend: 'cpu' } }, { warn: () => {} });
    expect(card.inputSize).toBe(64);
    expect(card.training.fakes).toEqual([{ kind: 'folder', dir: fakesDir, count: 12 }]);
    expect(card.training.split.test).toEqual({ real: 3, fake: 2 });
    expect(card.heldOut.count).toEqual({ real: 3, fake: 2 });
    await expect(trainDetector({ realDir: UTKFACE_DIR!, outDir: join(work, 'x') })).rejects.toThrow(/no fakes to train against/);
    await expect(trainDetector({ realDir: join(work, 'nowhere'), fakeDirs: [fakesDir], outDir: join(work, 'y') })).rejects.toThrow(/real folder .*nowhere does not exist/);
  }, 600_000);

  it('finds the face in real photos and scores it, without leaking tensors', async () => {
    const files = photos(4);
    await detectImage(files[0]!, { detector: detectorDir }); // loads the SSD and the detector
    const before = tf.memory().numTensors;
    let withFace = 0;
    for (const file of files) {
      const d = await detectImage(file, { detector: detectorDir });
      expect(d).toMatchObject({ kind: 'image', file, width: 200, height: 200, wholeImage: null });
      expect(d.detector).toMatchObject({ kind: 'detector', source: detectorDir, inputSize: 32 });
      expect(d.ms).toBeGreaterThan(0);
      if (d.faces.length === 0) {
        // The SSD misses about one UTKFace crop in ten (see src/faces/detect.ts).
        expect(d).toMatchObject({ verdict: 'uncertain', reason: { code: 'no-face' }, confidence: null });
        continue;
      }
      withFace++;
      for (const face of d.faces) {
        expect(face.pFake).toBeGreaterThanOrEqual(0);
        expect(face.pFake).toBeLessThanOrEqual(1);
        expect(face.verdict).toBe(face.pFake >= d.detector.threshold ? 'fake' : 'real');
        expect(face.box.width).toBeGreaterThan(80);
      }
      const deciding = Math.max(...d.faces.map((f) => f.pFake));
      expect(d.verdict).toBe(deciding >= d.detector.threshold ? 'fake' : 'real');
      // Confidence: the calibrated probability that the verdict is right.
      expect(d.confidence).toBeCloseTo(d.verdict === 'fake' ? deciding : 1 - deciding, 3);
      expect(d.reason).toBeNull();
      expect(d.explanation).toMatch(d.verdict === 'fake' ? /Likely generated/ : /No sign of a generated face/);
    }
    expect(withFace).toBeGreaterThanOrEqual(3);
    // Detection's own backend: native cpu where the addon has its kernels, else wasm.
    expect(tf.getBackend()).toBe(nativeDetectionKernelsAvailable() ? 'cpu' : 'wasm');
    expect(tf.memory().numTensors).toBe(before);
  }, 900_000);

  it('scores each of two faces side by side', async () => {
    const [left, right] = photos(2, 0.61);
    const pair = join(work, 'pair.png');
    await sharp({ create: { width: 400, height: 200, channels: 3, background: '#808080' } })
      .composite([
        { input: left!, left: 0, top: 0 },
        { input: right!, left: 200, top: 0 },
      ])
      .png()
      .toFile(pair);
    const d = await detectImage(pair, { detector: detectorDir });
    expect(d.faces).toHaveLength(2);
    expect(d.faces.map((f) => f.box.x + f.box.width / 2).sort((a, b) => a - b)[0]).toBeLessThan(200);
    expect(Math.max(...d.faces.map((f) => f.box.x + f.box.width / 2))).toBeGreaterThan(200);
  }, 600_000);

  it("scores faces with a run's discriminator: p(fake) = 1 - D", async () => {
    const d = await detectImage(photos(1)[0]!, { run });
    expect(d.detector).toMatchObject({ kind: 'discriminator', threshold: 0.5, inputSize: 32 });
    expect(d.faces.length).toBeGreaterThanOrEqual(1);
    expect(d.faces[0]!.pFake).toBeGreaterThan(0);
    expect(d.faces[0]!.pFake).toBeLessThan(1);
  }, 600_000);

  it('is uncertain (no face) for a picture without a face, and scores the whole picture when asked', async () => {
    const pattern = join(work, 'pattern.jpg');
    writeFileSync(pattern, await syntheticJpeg(160, 120));
    const d = await detectImage(pattern, { detector: detectorDir });
    expect(d).toMatchObject({ verdict: 'uncertain', reason: { code: 'no-face' }, confidence: null, faces: [], wholeImage: null });
    expect(d.explanation).toMatch(/No face was found/);
    expect(d.note).toMatch(/no face found/);
    const whole = await detectImage(pattern, { detector: detectorDir, wholeImage: true });
    expect(whole.wholeImage!.pFake).toBeGreaterThanOrEqual(0);
    expect(['real', 'fake']).toContain(whole.verdict);

    // The tiny GAN's fakes are not faces to the SSD; scored whole, they are called fake.
    const fakes = readdirSync(fakesDir).map((f) => join(fakesDir, f));
    let calledFake = 0;
    for (const file of fakes.slice(0, 4)) {
      const r = await detectImage(file, { detector: detectorDir, wholeImage: true });
      if (r.faces.length === 0 && r.verdict === 'fake') calledFake++;
    }
    expect(calledFake).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it('names the problem with each bad image input', async () => {
    const notes = join(work, 'notes.jpg');
    writeFileSync(notes, 'this is a text file, not a photo\n');
    const empty = join(work, 'empty.png');
    writeFileSync(empty, '');
    const cut = join(work, 'cut.jpg');
    writeFileSync(cut, readFileSync(photos(1)[0]!).subarray(0, 600));
    await expect(detect(notes, { detector: detectorDir })).rejects.toThrow(MediaFileError);
    await expect(detect(notes, { detector: detectorDir })).rejects.toThrow(/notes.jpg: not an image or a video \(it holds text\)/);
    await expect(detect(empty, { detector: detectorDir })).rejects.toThrow(/empty.png: file is empty \(0 bytes\)/);
    await expect(detect(join(work, 'missing.jpg'), { detector: detectorDir })).rejects.toThrow(/missing.jpg: file not found/);
    await expect(detect(cut, { detector: detectorDir })).rejects.toThrow(ImageDecodeError);
    // No classifier named: the built-in detector; an install without built-in models needs one named.
    const saved = process.env.FAKEFACE_MODELS_DIR;
    process.env.FAKEFACE_MODELS_DIR = join(work, 'no-models');
    try {
      await expect(detect(photos(1)[0]!, {})).rejects.toThrow(/no classifier chosen/);
    } finally {
      if (saved === undefined) delete process.env.FAKEFACE_MODELS_DIR;
      else process.env.FAKEFACE_MODELS_DIR = saved;
    }
    await expect(detect(photos(1)[0]!, { detector: join(work, 'nope') })).rejects.toThrow(/detector folder not found/);
  }, 600_000);

  it('evaluates the detector and the discriminator on folders of real and fake faces', async () => {
    const realDir = join(work, 'real');
    mkdirSync(realDir, { recursive: true });
    for (const file of photos(8, 0.21)) copyFileSync(file, join(realDir, file.split('/').pop()!));
    const evaluation = await evaluateClassifier({ detector: detectorDir, realDir, fakeDir: fakesDir });
    expect(evaluation.report.count).toEqual({ real: 8, fake: 12 });
    expect(evaluation.report.auc!).toBeGreaterThan(0.8);
    expect(evaluation.roc[0]).toMatchObject({ fpr: 0, tpr: 0 });
    const byD = await evaluateClassifier({ run, realDir, fakeDir: fakesDir });
    expect(byD.detector.kind).toBe('discriminator');
    expect(byD.report.auc).not.toBeNull();
    const svg = rocSvg(
      [
        { label: 'detector', points: evaluation.roc, auc: evaluation.report.auc },
        { label: 'discriminator', points: byD.roc, auc: byD.report.auc },
      ],
      'ROC',
    );
    expect(await sharp(Buffer.from(svg)).metadata()).toMatchObject({ format: 'svg', width: 440 });
  }, 600_000);

  describe.skipIf(!FFMPEG)('video', () => {
    it('scores every sampled frame of an mp4 of real faces and aggregates a verdict', async () => {
      const frames = join(work, 'video-real');
      mkdirSync(frames, { recursive: true });
      photos(4, 0.13).forEach((file, i) => copyFileSync(file, join(frames, `f${i}.jpg`)));
      const mp4 = join(work, 'real.mp4');
      // 4 faces, 1 s each, on a 320x240 grey frame, at 10 fps.
      ffmpeg('-framerate', '1', '-i', join(frames, 'f%d.jpg'), '-vf', 'pad=320:240:60:20:gray,fps=10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', mp4);
      const progress: [number, number | null][] = [];
      let seen = 0;
      const d = await detectVideo(mp4, { detector: detectorDir, onProgress: (done, total) => progress.push([done, total]), onFrame: () => void seen++ });
      expect(d).toMatchObject({ kind: 'video', file: mp4, width: 320, height: 240, framesAnalysed: 8, sampling: '2 fps' });
      expect(d.durationSeconds).toBeCloseTo(4, 1);
      expect(seen).toBe(8);
      expect(progress[0]).toEqual([0, 8]);
      expect(progress.at(-1)).toEqual([8, 8]);
      expect(d.framesWithFaces).toBeGreaterThanOrEqual(6);
      expect(d.frames.map((f) => f.timeSeconds)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
      for (const f of d.frames.filter((f) => f.faces.length > 0)) {
        expect(f.pFake).toBe(Math.max(...f.faces.map((face) => face.pFake)));
        // Boxes are in the video's pixels: inside the 200x200 photo placed at (60, 20).
        expect(f.faces[0]!.box.x).toBeGreaterThanOrEqual(55);
        expect(f.faces[0]!.box.x + f.faces[0]!.box.width).toBeLessThanOrEqual(265);
      }
      expect(['real', 'fake']).toContain(d.verdict);
      expect(d.rule).toMatch(/confident strategy/);
      expect(d.keyFrames).toHaveLength(3);
      const keyScores = d.keyFrames.map((k) => d.frames[k]!.pFake!);
      expect(keyScores).toEqual([...keyScores].sort((a, b) => b - a));
      expect(Math.max(...d.frames.map((f) => f.pFake ?? 0))).toBe(keyScores[0]);

      // --frames spreads a fixed number over the video.
      const few = await detectVideo(mp4, { detector: detectorDir, frames: 3 });
      expect(few.framesAnalysed).toBe(3);
      expect(few.sampling).toBe('3 frames spread over the video');
    }, 900_000);

    it('scores an mp4 of generated faces: no face for the SSD, called fake when whole frames are scored', async () => {
      const mp4 = join(work, 'fake.mp4');
      ffmpeg('-framerate', '1', '-i', join(fakesDir, 'fake_%d.png'), '-frames:v', '30', '-vf', 'fps=10', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', mp4);
      const d = await detect(mp4, { detector: detectorDir });
      expect(d).toMatchObject({ kind: 'video', verdict: 'uncertain', reason: { code: 'no-face' }, pFake: null, keyFrames: [] });
      expect((d as { note?: string }).note).toMatch(/no face found in 6 frames/);
      const whole = await detectVideo(mp4, { detector: detectorDir, wholeImage: true });
      expect(whole.frames.every((f) => f.wholeFrame === true && f.pFake !== null)).toBe(true);
      expect(whole.verdict).toBe('fake');
      expect(whole.pFake!).toBeGreaterThan(whole.detector.threshold);
      expect(whole.rule).toMatch(/6 frames without a face scored whole/);
    }, 900_000);

    it('names the problem with a truncated, a text or an empty "mp4"', async () => {
      const mp4 = join(work, 'real.mp4');
      const bytes = readFileSync(mp4);
      const cut = join(work, 'truncated.mp4');
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const text = join(work, 'notes.mp4');
      writeFileSync(text, 'not a video at all\n');
      const empty = join(work, 'empty.mp4');
      writeFileSync(empty, '');
      const cutError = await detect(cut, { detector: detectorDir }).catch((e: unknown) => e);
      expect(cutError).toBeInstanceOf(VideoDecodeError);
      expect((cutError as Error).message).toMatch(/truncated\.mp4: truncated or corrupt video/);
      await expect(detect(text, { detector: detectorDir })).rejects.toThrow(/notes.mp4: not an image or a video/);
      await expect(detect(empty, { detector: detectorDir })).rejects.toThrow(/empty.mp4: file is empty/);
      await expect(detectVideo(mp4, { detector: detectorDir, fps: 2, frames: 3 })).rejects.toThrow(/fps or frames, not both/);
    }, 600_000);
  });
});
