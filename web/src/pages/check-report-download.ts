/**
 * "Download report" and "Download annotated PNG" under a Check result: the
 * same self-contained HTML report `fakeface detect --report` writes (one
 * renderer, src/report/check-report.ts), built here in the page from the result
 * and the file itself (nothing more is sent to the server). The annotated PNG is
 * the picture with the same overlay SVG the CLI draws, composed on a canvas.
 */
import type { ImageDetection, Job, VideoDetection } from '../api.js';
import { getHealth } from '../api.js';
import { h } from '../dom.js';
import { downloadBlob } from '../download.js';
import { sha256Hex } from '../sha256.js';
import { readingOrder } from '../../../src/detect/face-order.js';
import { bannerFake, imageBanner, overlaySvg } from '../../../src/detect/overlay-svg.js';
import { checkReportHtml, isImageDataUri, reportStem, type ReportKeyFrame } from '../../../src/report/check-report.js';

/** What a report is made from: the result, the file as chosen, and when it was checked. */
export interface CheckedUpload {
  file: File;
  checkedAt: Date;
}

const blobToDataUri = (blob: Blob): Promise<string> =>
  new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(blob);
  });

async function loadImage(src: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = src;
  await img.decode();
  return img;
}

const canvasPng = (canvas: HTMLCanvasElement): Promise<Blob> =>
  new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the picture could not be drawn'))), 'image/png'));

/** `picture` drawn at width x height with the overlay SVG over it, as a PNG. */
async function annotate(picture: HTMLImageElement, width: number, height: number, overlay: string): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d')!;
  context.drawImage(picture, 0, 0, width, height);
  // An SVG drawn as an image (no foreignObject) leaves the canvas readable.
  context.drawImage(await loadImage(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(overlay)}`), 0, 0, width, height);
  return canvasPng(canvas);
}

interface ReportFiles {
  html: Blob;
  png: Blob | null;
}

async function imageReport(detection: ImageDetection, upload: CheckedUpload, version: string): Promise<ReportFiles> {
  const { file } = upload;
  const url = URL.createObjectURL(file);
  try {
    const picture = await loadImage(url);
    const overlay = overlaySvg(detection.width, detection.height, readingOrder(detection.faces), imageBanner(detection), bannerFake(detection), { numbered: true });
    const png = await annotate(picture, detection.width, detection.height, overlay);
    let original = await blobToDataUri(file);
    // A file the browser gave no image type (a paste, an odd extension): its picture as PNG instead.
    if (!isImageDataUri(original)) {
      const canvas = document.createElement('canvas');
      canvas.width = detection.width;
      canvas.height = detection.height;
      canvas.getContext('2d')!.drawImage(picture, 0, 0, detection.width, detection.height);
      original = await blobToDataUri(await canvasPng(canvas));
    }
    const html = checkReportHtml({ detection, file: await describe(upload), version, annotated: await blobToDataUri(png), original });
    return { html: new Blob([html], { type: 'text/html;charset=utf-8' }), png };
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function videoReport(video: VideoDetection, job: Job, upload: CheckedUpload, version: string): Promise<ReportFiles> {
  const keyFrames: ReportKeyFrame[] = [];
  let png: Blob | null = null;
  for (const key of job.keyFrames) {
    const response = await fetch(key.url);
    if (!response.ok) continue;
    const image = await blobToDataUri(await response.blob());
    keyFrames.push({ frame: key.frame, image });
    const frame = video.frames[key.frame];
    if (png || !frame) continue;
    // The most suspicious frame, its faces boxed (scaled from video pixels to the thumbnail's).
    const picture = await loadImage(image);
    const scale = picture.naturalWidth / video.width;
    const faces = readingOrder(frame.faces).map((f) => ({ ...f, box: { ...f.box, x: f.box.x * scale, y: f.box.y * scale, width: f.box.width * scale, height: f.box.height * scale } }));
    const banner = `frame at ${frame.timeSeconds.toFixed(1)} s: p(fake) ${frame.pFake === null ? '-' : frame.pFake.toFixed(2)}`;
    const overlay = overlaySvg(picture.naturalWidth, picture.naturalHeight, faces, banner, frame.pFake === null ? null : frame.pFake >= video.detector.threshold, { numbered: true });
    png = await annotate(picture, picture.naturalWidth, picture.naturalHeight, overlay);
  }
  const html = checkReportHtml({ detection: video, file: await describe(upload), version, annotated: png ? await blobToDataUri(png) : null, keyFrames });
  return { html: new Blob([html], { type: 'text/html;charset=utf-8' }), png };
}

async function describe({ file, checkedAt }: CheckedUpload) {
  return { name: file.name, sha256: await sha256Hex(await file.arrayBuffer()), bytes: file.size, checkedAt: checkedAt.toISOString() };
}

/**
 * The two download buttons for one result. The report is built on the first
 * press and kept, so both buttons and repeated presses save the same files.
 */
export function reportButtons(result: { detection: ImageDetection } | { detection: VideoDetection; job: Job }, upload: CheckedUpload): HTMLElement {
  let built: Promise<ReportFiles> | null = null;
  const build = () =>
    (built ??= getHealth().then((health) =>
      'job' in result ? videoReport(result.detection, result.job, upload, health.version) : imageReport(result.detection, upload, health.version),
    ));
  const stem = `fakeface-report-${reportStem(upload.file.name)}`;
  const status = h('span', { class: 'hint report-status', role: 'status', 'data-testid': 'report-status' });
  const save = async (which: 'html' | 'png', button: HTMLButtonElement) => {
    button.disabled = true;
    status.textContent = 'Preparing…';
    try {
      const files = await build();
      if (which === 'html') downloadBlob(`${stem}.html`, files.html);
      else if (files.png) downloadBlob(`${stem}.png`, files.png);
      status.textContent = which === 'png' && !files.png ? 'No picture to annotate.' : '';
    } catch (error) {
      built = null;
      status.textContent = `The report could not be made: ${(error as Error).message}`;
    } finally {
      button.disabled = false;
    }
  };
  const report: HTMLButtonElement = h('button', { type: 'button', class: 'secondary', 'data-testid': 'download-report', onclick: () => void save('html', report) }, 'Download report');
  const png: HTMLButtonElement = h('button', { type: 'button', class: 'secondary', 'data-testid': 'download-annotated', onclick: () => void save('png', png) }, 'Download annotated PNG');
  return h(
    'div',
    { class: 'report-actions' },
    h('div', { class: 'actions' }, report, png),
    h('p', { class: 'hint' }, 'One HTML file you can attach or archive: the verdict, the picture with its boxes, the scores, the detector and its limits, and the file\'s SHA-256 fingerprint. It opens without a connection.'),
    status,
  );
}
