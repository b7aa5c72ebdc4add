/**
 * Annotated output for `detect --annotate DIR`: the image with each face boxed
 * (red: called fake, green: real) and its p(fake) written above; for a video its
 * key frames annotated the same way plus a p(fake) timeline (SVG). Drawn with an
 * SVG overlay composited by sharp.
 */
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../data/index.js';
import { decodeRgb } from '../faces/image.js';
import type { RgbImage } from '../faces/index.js';
import { timelineSvg } from './charts.js';
import type { FaceResult, ImageDetection, VideoDetection } from './types.js';

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';

/**
 * Where the detector looks: each region of the face crop tinted red in proportion to
 * its p(fake) (none below 0.2: the face stays visible), blue where it looks real.
 */
export function mapCells(map: NonNullable<FaceResult['map']>): string {
  const cell = { w: map.region.width / map.grid, h: map.region.height / map.grid };
  const out: string[] = [];
  map.values.forEach((p, i) => {
    const x = map.region.x + (i % map.grid) * cell.w;
    const y = map.region.y + Math.floor(i / map.grid) * cell.h;
    const strength = Math.abs(p - 0.5) * 2;
    if (strength < 0.2) return;
    const fill = p >= 0.5 ? '#f22' : '#28f';
    out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${cell.w.toFixed(1)}" height="${cell.h.toFixed(1)}" fill="${fill}" fill-opacity="${(0.45 * strength).toFixed(2)}"/>`);
  });
  return out.join('');
}

/** The overlay: boxes, labels and a verdict banner, for a width x height picture. */
export function overlaySvg(width: number, height: number, faces: FaceResult[], banner: string, bannerFake: boolean | null): string {
  const unit = Math.max(1, Math.min(width, height) / 240);
  const font = Math.round(11 * unit);
  const parts: string[] = [];
  for (const face of faces) {
    const colour = face.verdict === 'fake' ? '#e22' : face.verdict === 'uncertain' ? '#c80' : '#2b2';
    if (face.map) parts.push(mapCells(face.map));
    const { x, y, width: w, height: h } = face.box;
    parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${(2 * unit).toFixed(1)}"/>`);
    const label = `${face.verdict} ${face.pFake.toFixed(2)}`;
    const labelWidth = label.length * font * 0.62 + 6 * unit;
    // Above the box when there is room, else inside its top edge.
    const top = y >= font + 4 * unit ? y - font - 4 * unit : y;
    parts.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${labelWidth.toFixed(1)}" height="${(font + 4 * unit).toFixed(1)}" fill="${colour}"/>`);
    parts.push(`<text x="${(x + 3 * unit).toFixed(1)}" y="${(top + font).toFixed(1)}" font-size="${font}" ${FONT} fill="#fff">${escapeXml(label)}</text>`);
  }
  const bannerColour = bannerFake === null ? '#555' : bannerFake ? '#b11' : '#181';
  parts.push(`<rect x="0" y="${height - font - 8 * unit}" width="${width}" height="${font + 8 * unit}" fill="${bannerColour}" fill-opacity="0.8"/>`);
  parts.push(`<text x="${4 * unit}" y="${height - 5 * unit}" font-size="${font}" ${FONT} fill="#fff">${escapeXml(banner)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** The picture with the overlay drawn on it, as PNG. */
export async function drawOverlay(rgb: RgbImage, faces: FaceResult[], banner: string, bannerFake: boolean | null): Promise<Buffer> {
  return sharp(rgb.pixels, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .composite([{ input: Buffer.from(overlaySvg(rgb.width, rgb.height, faces, banner, bannerFake)), top: 0, left: 0 }])
    .png()
    .toBuffer();
}

function imageBanner(d: ImageDetection): string {
  if (d.verdict === 'uncertain') return `CAN'T TELL: ${d.reason?.message ?? ''}`;
  const word = d.verdict === 'fake' ? 'LIKELY FAKE' : 'NO SIGN OF A FAKE';
  const confidence = d.confidence === null ? '' : `, confidence ${Math.round(d.confidence * 100)}%`;
  return `${word}${confidence}${d.faces.length === 0 ? ' (whole image)' : ''} - ${d.detector.name}`;
}

/** A file stem for outputs: the input's name without extension, made unique within `used`. */
export function outputStem(file: string, used: Set<string>): string {
  const stem = basename(file, extname(file)).replace(/[^\w.-]+/g, '_') || 'input';
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
