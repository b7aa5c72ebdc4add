/**
 * `fakeface detect --report DIR`: for each checked file, `<stem>.report.html`
 * (./check-report.ts, the same report the web app's "Download report" saves)
 * and `<stem>.report.png` (the annotated picture; for a video its most
 * suspicious frame). Both are written under a temporary name and renamed into
 * place, so a report on disk is never half-written.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../data/index.js';
import { drawOverlay, type KeyFrameKeeper } from '../detect/annotate.js';
import { readingOrder } from '../detect/face-order.js';
import { bannerFake, imageBanner } from '../detect/overlay-svg.js';
import type { Detection, ImageDetection, VideoDetection } from '../detect/types.js';
import { decodeRgb } from '../faces/image.js';
import { checkReportHtml, type ReportKeyFrame } from './check-report.js';

/** fakeface's version, from its package.json. */
export const FAKEFACE_VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** SHA-256 of a file's bytes (streamed: a long video is never held in memory), as hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const dataUri = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString('base64')}`;

/** The picture as the browser will show it: its own bytes when a browser reads the format, else a PNG of its pixels. */
async function originalPicture(file: string): Promise<string> {
  const format = (await sharp(file).metadata()).format;
  const types: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };
  const type = format ? types[format] : undefined;
  if (type) return dataUri(type, await readFile(file));
  return dataUri('image/png', await sharp(file).rotate().png().toBuffer());
}

async function imagePictures(detection: ImageDetection): Promise<{ png: Buffer; original: string }> {
  const rgb = await decodeRgb(detection.file);
  // Numbered in reading order, as the report's faces table.
  const png = await drawOverlay(rgb, readingOrder(detection.faces), imageBanner(detection), bannerFake(detection), { numbered: true });
  return { png, original: await originalPicture(detection.file) };
}

/** The most suspicious frame annotated (PNG) and every kept key frame as a JPEG, from the keeper that watched the video. */
async function videoPictures(detection: VideoDetection, keeper: KeyFrameKeeper | undefined): Promise<{ png: Buffer | null; keyFrames: ReportKeyFrame[] }> {
  const keyFrames: ReportKeyFrame[] = [];
  let png: Buffer | null = null;
  for (const k of detection.keyFrames) {
    const result = detection.frames[k]!;
    const kept = keeper?.frame(result.index);
    if (!kept) continue;
    const raw = { raw: { width: kept.rgb.width, height: kept.rgb.height, channels: 3 as const } };
    keyFrames.push({ frame: k, image: dataUri('image/jpeg', await sharp(kept.rgb.pixels, raw).jpeg({ quality: 85 }).toBuffer()) });
    if (png) continue;
    const scale = kept.rgb.width / detection.width;
    const faces = readingOrder(result.faces).map((f) => ({ ...f, box: { ...f.box, x: f.box.x * scale, y: f.box.y * scale, width: f.box.width * scale, height: f.box.height * scale } }));
    const banner = `frame at ${result.timeSeconds.toFixed(1)} s: p(fake) ${result.pFake!.toFixed(2)}`;
    png = await drawOverlay(kept.rgb, faces, banner, result.pFake! >= detection.detector.threshold, { numbered: true });
  }
  return { png, keyFrames };
}

/**
 * Writes `<dir>/<stem>.report.html` and `<dir>/<stem>.report.png` for a
 * detection of `file` (a video's PNG only when `keeper` held its key frames).
 * Returns the paths written.
 */
export async function writeCheckReport(dir: string, stem: string, file: string, detection: Detection, opts: { checkedAt: Date; keeper?: KeyFrameKeeper }): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const [sha256, info] = await Promise.all([sha256File(file), stat(file)]);
  const checked = { name: file.split(/[\\/]/).pop() ?? file, sha256, bytes: info.size, checkedAt: opts.checkedAt.toISOString() };
  let png: Buffer | null;
  let html: string;
  if (detection.kind === 'image') {
    const pictures = await imagePictures(detection);
    png = pictures.png;
    html = checkReportHtml({ detection, file: checked, version: FAKEFACE_VERSION, annotated: dataUri('image/png', png), original: pictures.original });
  } else {
    const pictures = await videoPictures(detection, opts.keeper);
    png = pictures.png;
    html = checkReportHtml({ detection, file: checked, version: FAKEFACE_VERSION, annotated: png ? dataUri('image/png', png) : null, keyFrames: pictures.keyFrames });
  }
  const written: string[] = [];
  const htmlPath = join(dir, `${stem}.report.html`);
  await writeFileAtomic(htmlPath, html);
  written.push(htmlPath);
  if (png) {
    const pngPath = join(dir, `${stem}.report.png`);
    await writeFileAtomic(pngPath, png);
    written.push(pngPath);
  }
  return written;
}
