/** The pure parts of detection: sniffing, aggregation, augmentation, charts, cards. No models, no real data. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregateFrameScores } from '../src/detect/aggregate.js';
import { augmentForDetector, degrade, toDetectorInput } from '../src/detect/augment.js';
import { KeyFrameKeeper, outputStem, overlaySvg } from '../src/detect/annotate.js';
import { readDetectorCard } from '../src/detect/card.js';
import { timelineSvg } from '../src/detect/charts.js';
import { evenSpread } from '../src/detect/files.js';
import { mediaKindOf } from '../src/detect/sniff.js';
import type { VideoDetection } from '../src/detect/types.js';
import { CheckpointMismatchError, UsageError } from '../src/errors.js';
import { Rng } from '../src/train/rng.js';
import { patternPixels, tempFolder } from './helpers/data.js';

const { dir: work, cleanup } = tempFolder('fakeface-detect-units-');
afterAll(cleanup);

describe('sniffing images and videos by content', () => {
  const head = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  it('knows image signatures', () => {
    expect(mediaKindOf(head([0xff, 0xd8, 0xff, 0xe0]))).toBe('image');
    expect(mediaKindOf(head([0x89], 'PNG\r\n\x1a\n'))).toBe('image');
    expect(mediaKindOf(head('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toBe('image');
    expect(mediaKindOf(head('GIF89a'))).toBe('image');
    expect(mediaKindOf(head([0, 0, 0, 0x1c], 'ftypavif'))).toBe('image');
    expect(mediaKindOf(head([0, 0, 0, 0x18], 'ftypheic'))).toBe('image');
  });
  it('knows video signatures', () => {
    expect(mediaKindOf(head([0, 0, 0, 0x20], 'ftypisom'))).toBe('video');
    expect(mediaKindOf(head([0, 0, 0, 0x14], 'ftypqt  '))).toBe('video');
    expect(mediaKindOf(head([0x1a, 0x45, 0xdf, 0xa3]))).toBe('video');
    expect(mediaKindOf(head('RIFF', [1, 2, 3, 4], 'AVI LIST'))).toBe('video');
    expect(mediaKindOf(head('FLV', [1]))).toBe('video');
  });
  it('knows neither in text and random bytes', () => {
    expect(mediaKindOf(head('this is a text file'))).toBeNull();
    expect(mediaKindOf(head([1, 2, 3, 4, 5, 6, 7, 8]))).toBeNull();
    expect(mediaKindOf(head('RIFF', [1, 2, 3, 4], 'WAVEfmt '))).toBeNull();
  });
});

describe('video aggregation (DFDC confident strategy)', () => {
  it('averages the confident fakes when more than 40% of frames are > 0.8', () => {
    const a = aggregateFrameScores([0.9, 0.95, 0.1, 0.1, 0.85])!;
    expect(a.strategy).toBe('confident-fake');
    expect(a.pFake).toBeCloseTo(0.9, 12);
    expect(a.used).toEqual([0, 1, 4]);
    expect(a.rule).toMatch(/3 of 5 frames with a face score p\(fake\) > 0.8/);
  });
  it('averages the confident reals when more than 90% of frames are < 0.2', () => {
    const scores = [...Array.from({ length: 19 }, () => 0.05), 0.95];
    const a = aggregateFrameScores(scores)!;
    expect(a.strategy).toBe('confident-real');
    expect(a.pFake).toBeCloseTo(0.05, 12);
  });
  it('takes the mean of all frames otherwise', () => {
    const a = aggregateFrameScores([0.9, 0.1, 0.5, 0.3, 0.85])!;
    expect(a.strategy).toBe('mean');
    expect(a.pFake).toBeCloseTo(0.53, 12);
    // 2 of 5 confident fakes is exactly 40%: not more than, so the mean.
    expect(aggregateFrameScores([])).toBeNull();
    expect(aggregateFrameScores([0.99])!.strategy).toBe('confident-fake');
  });
});

describe('detector augmentation', () => {
  const image = { pixels: new Uint8Array(patternPixels(64, 64, 3)), width: 64, height: 64 };
  it('gives size x size RGB, the same for the same seed, different across draws', async () => {
    const a = await augmentForDetector(image, 32, new Rng(5));
    const b = await augmentForDetector(image, 32, new Rng(5));
    expect(a.length).toBe(32 * 32 * 3);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const rng = new Rng(6);
    const draws = await Promise.all(Array.from({ length: 6 }, () => augmentForDetector(image, 32, rng)));
    expect(new Set(draws.map((d) => Buffer.from(d).toString('base64'))).size).toBe(6);
  });
  it('resizes cleanly for inference, and degrades for the robustness check', async () => {
    expect((await toDetectorInput(image, 16)).length).toBe(16 * 16 * 3);
    expect(await toDetectorInput(image, 64)).toBe(image.pixels);
    for (const how of ['jpeg50', 'half-resolution', 'blur'] as const) expect((await degrade(image, 32, how)).length).toBe(32 * 32 * 3);
  });
});

describe('annotation helpers', () => {
  it('keeps the most suspicious frames only, earliest first on ties', () => {
    const keeper = new KeyFrameKeeper(2);
    const frame = (index: number) => ({ index, timeSeconds: index / 2, pixels: new Uint8Array(12), width: 2, height: 2 });
    [0.2, 0.9, null, 0.5, 0.9, 0.1].forEach((p, i) => keeper.offer(frame(i), { pFake: p }));
    expect(keeper.frame(1)).toBeDefined();
    expect(keeper.frame(4)).toBeDefined();
    expect(keeper.frame(3)).toBeUndefined();
  });
  it('makes unique, safe output names', () => {
    const used = new Set<string>();
    expect(outputStem('/a/clip.mp4', used)).toBe('clip');
    expect(outputStem('/b/clip.mov', used)).toBe('clip-2');
    expect(outputStem('we ird<name>.jpg', used)).toBe('we_ird_name_');
  });
  it('draws an overlay and a timeline that sharp can render', async () => {
    const overlay = overlaySvg(320, 240, [{ box: { x: 10, y: 30, width: 100, height: 120, score: 0.9 }, pFake: 0.97, verdict: 'fake' }], 'FAKE <1>', true);
    expect(overlay).toContain('fake 0.97');
    expect(overlay).toContain('FAKE &#60;1&#62;');
    expect((await sharp(Buffer.from(overlay)).metadata()).width).toBe(320);
    const video: VideoDetection = {
      kind: 'video',
      file: 'clip.mp4',
      durationSeconds: 2,
      width: 320,
      height: 240,
      framesAnalysed: 4,
      framesWithFaces: 3,
      frames: [0.1, null, 0.95, 0.9].map((p, i) => ({ index: i, timeSeconds: i / 2, faces: [], pFake: p })),
      pFake: 0.925,
      verdict: 'fake',
      reason: null,
      confidence: 0.925,
      explanation: 'Likely generated.',
      rule: 'confident strategy',
      keyFrames: [2, 3, 0],
      detector: { kind: 'detector', source: 'd', name: 'detector d', threshold: 0.5, inputSize: 32 },
      ms: 1,
    };
    const svg = timelineSvg(video);
    expect(svg.match(/<circle/g)).toHaveLength(3 + 3); // a dot per scored frame, a ring per key frame
    // No frame had a face (each was scored whole): one shaded, labelled stretch over the whole video.
    expect(svg.match(/<title>no face found from [^<]*<\/title>/g)).toEqual(['<title>no face found from 0.0 s to 2.0 s</title>']);
    expect(svg).toContain('>no face</text>');
    const withFaces = timelineSvg({ ...video, frames: video.frames.map((f, i) => ({ ...f, faces: i === 1 ? [] : [{ box: { x: 0, y: 0, width: 9, height: 9, score: 1 }, pFake: 0.5, verdict: 'real' as const }] })) });
    expect(withFaces.match(/<title>no face found from [^<]*<\/title>/g)).toEqual(['<title>no face found from 0.3 s to 0.8 s</title>']);
    expect(await sharp(Buffer.from(svg)).metadata()).toMatchObject({ format: 'svg', width: 720, height: 280 });
  });
});

describe('detector folders', () => {
  it('says what is wrong with a missing folder, a folder without a card, and a bad card', async () => {
    await expect(readDetectorCard(join(work, 'none'))).rejects.toThrow(UsageError);
    await expect(readDetectorCard(join(work, 'none'))).rejects.toThrow(/detector folder not found/);
    const empty = join(work, 'empty');
    mkdirSync(empty);
    await expect(readDetectorCard(empty)).rejects.toThrow(/not a detector folder \(no detector.json\)/);
    const bad = join(work, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'detector.json'), '{"format":"something-else"}');
    await expect(readDetectorCard(bad)).rejects.toThrow(CheckpointMismatchError);
    writeFileSync(join(bad, 'detector.json'), '{ nope');
    await expect(readDetectorCard(bad)).rejects.toThrow(/unreadable card/);
  });
  it('spreads a limit evenly over a sorted folder', () => {
    expect(evenSpread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([1, 5, 8]);
    expect(evenSpread([1, 2], 5)).toEqual([1, 2]);
  });
});
