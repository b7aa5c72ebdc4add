/**
 * Annotated output for `detect --annotate DIR`: the image with each face boxed
 * (red: called fake, green: real) and its p(fake) written above; for a video its
 * key frames annotated the same way plus a p(fake) timeline (SVG). Drawn with an
 * SVG overlay (./overlay-svg.ts) composited by sharp.
 */
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../data/index.js';
import { decodeRgb } from '../faces/image.js';
import type { RgbImage } from '../faces/index.js';
import { timelineSvg } from './charts.js';
import { imageBanner, overlaySvg, type OverlayOptions } from './overlay-svg.js';
import type { FaceResult, ImageDetection, VideoDetection } from './types.js';

export { mapCells, overlaySvg } from './overlay-svg.js';

/** The picture with the overlay drawn on it, as PNG. */
export async function drawOverlay(rgb: RgbImage, faces: FaceResult[], banner: string, bannerFake: boolean | null, options: OverlayOptions = {}): Promise<Buffer> {
  return sharp(rgb.pixels, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .composite([{ input: Buffer.from(overlaySvg(rgb.width, rgb.height, faces, banner, bannerFake, options)), top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** A file stem for outputs: the input's name without extension, made unique within `used`. */
export function outputStem(file: string, used: Set<string>): string {
  // Only letters, digits, '_', '.' and '-'; no leading dot or dash (no hidden files, nothing a shell reads as a flag), and short.
  const stem = basename(file, extname(file)).replace(/[^\w.-]+/g, '_').replace(/^[.-]+/, '').slice(0, 100) || 'input';
  let name = stem;
  for (let k = 2; used.has(name); k++) name = `${stem}-${k}`;
  used.add(name);
  return name;
}

/** Writes `<dir>/<stem>.annotated.png` for an image detection. Returns the path. */
export async function writeImageAnnotation(dir: string, stem: string, detection: ImageDetection): Promise<string> {
  await mkdir(dir, { recursive: true });
  const rgb = await decodeRgb(detection.file);
  const out = join(dir, `${stem}.annotated.png`);
  await writeFileAtomic(out, await drawOverlay(rgb, detection.faces, imageBanner(detection), detection.verdict === 'uncertain' ? null : detection.verdict === 'fake'));
  return out;
}

interface KeptFrame {
  index: number;
  timeSeconds: number;
  pFake: number;
  rgb: RgbImage;
}

/**
 * Keeps the `size` most suspicious frames' pixels while a video streams past
 * (detectVideo's `onFrame`), so memory stays at `size` frames: what
 * detectVideo's keyFrames will name (highest p(fake) first, earlier frame on ties).
 */
export class KeyFrameKeeper {
  private readonly kept: KeptFrame[] = [];

  constructor(private readonly size = 3) {}

  offer = (frame: { index: number; timeSeconds: number; pixels: Uint8Array; width: number; height: number }, result: { pFake: number | null }): void => {
    if (result.pFake === null) return;
    const worst = this.kept.at(-1);
    if (this.kept.length >= this.size && worst && worst.pFake >= result.pFake) return;
    // readFrames hands out a fresh buffer per frame, so keeping it needs no copy.
    this.kept.push({ index: frame.index, timeSeconds: frame.timeSeconds, pFake: result.pFake, rgb: { pixels: frame.pixels, width: frame.width, height: frame.height } });
    this.kept.sort((a, b) => b.pFake - a.pFake || a.index - b.index);
    if (this.kept.length > this.size) this.kept.pop();
  };

  frame(index: number): KeptFrame | undefined {
    return this.kept.find((k) => k.index === index);
  }
}

/**
 * Writes `<stem>.timeline.svg` and `<stem>.frame-<index>.png` for each key frame
 * the keeper holds (boxes scaled from video pixels to the frame's). Returns the paths.
 */
export async function writeVideoAnnotations(dir: string, stem: string, detection: VideoDetection, keeper: KeyFrameKeeper): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const timeline = join(dir, `${stem}.timeline.svg`);
  await writeFileAtomic(timeline, timelineSvg(detection));
  written.push(timeline);
  for (const k of detection.keyFrames) {
    const result = detection.frames[k]!;
    const kept = keeper.frame(result.index);
    if (!kept) continue;
    const scale = kept.rgb.width / detection.width;
    const faces = result.faces.map((f) => ({ ...f, box: { ...f.box, x: f.box.x * scale, y: f.box.y * scale, width: f.box.width * scale, height: f.box.height * scale } }));
    const banner = `frame ${result.index} at ${result.timeSeconds.toFixed(1)} s: p(fake) ${result.pFake!.toFixed(2)}${result.wholeFrame ? ' (whole frame)' : ''}`;
    const out = join(dir, `${stem}.frame-${String(result.index).padStart(4, '0')}.png`);
    await writeFileAtomic(out, await drawOverlay(kept.rgb, faces, banner, result.pFake! >= detection.detector.threshold));
    written.push(out);
  }
  return written;
}
