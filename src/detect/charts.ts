/**
 * Small self-contained SVG charts: a video's p(fake) timeline and a ROC curve.
 * Plain SVG 1.1 (no scripts, no external fonts), viewable in any browser and
 * rasterisable by sharp.
 */
import type { RocPoint } from './metrics.js';
import { noFaceStretches } from './no-face-stretches.js';
import type { VideoDetection } from './types.js';

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function axes(frame: Frame, xTicks: { at: number; label: string }[], yTicks: { at: number; label: string }[], xLabel: string, yLabel: string, x: (v: number) => number, y: (v: number) => number): string {
  const { width, height, left, right, top, bottom } = frame;
  const parts = [
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="#fff" stroke="#999"/>`,
  ];
  for (const t of yTicks) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${f1(y(t.at))}" y2="${f1(y(t.at))}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${f1(y(t.at) + 4)}" text-anchor="end" font-size="11" ${FONT} fill="#444">${escapeXml(t.label)}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${f1(x(t.at))}" x2="${f1(x(t.at))}" y1="${top}" y2="${height - bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${f1(x(t.at))}" y="${height - bottom + 16}" text-anchor="middle" font-size="11" ${FONT} fill="#444">${escapeXml(t.label)}</text>`);
  }
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle" font-size="12" ${FONT} fill="#222">${escapeXml(xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12" ${FONT} fill="#222">${escapeXml(yLabel)}</text>`);
  return parts.join('\n');
}

/** Tick values at a "nice" step (1, 2, 5 x 10^k) covering [0, max]. */
function niceTicks(max: number, count = 6): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

/**
 * p(fake) per analysed frame over time: a dot per frame (red above the threshold),
 * the threshold as a dashed line, the video's aggregated p(fake) as a band, key
 * frames ringed, frames without a face as grey ticks along the bottom and the
 * stretches without one shaded and labelled "no face".
 */
export function timelineSvg(video: VideoDetection): string {
  const frame: Frame = { width: 720, height: 280, left: 52, right: 16, top: 36, bottom: 40 };
  const end = Math.max(video.durationSeconds, ...video.frames.map((f) => f.timeSeconds), 1e-3);
  const x = (t: number) => frame.left + (t / end) * (frame.width - frame.left - frame.right);
  const y = (p: number) => frame.top + (1 - p) * (frame.height - frame.top - frame.bottom);
  const threshold = video.detector.threshold;
  const parts: string[] = [];
  const title = `${video.file.split(/[\\/]/).pop()}: ${video.verdict}${video.pFake === null ? '' : ` (p(fake) ${video.pFake.toFixed(2)})`}, ${video.framesWithFaces}/${video.framesAnalysed} frames with faces`;
  parts.push(`<text x="${frame.left}" y="20" font-size="13" font-weight="bold" ${FONT} fill="#222">${escapeXml(title)}</text>`);
  parts.push(
    axes(
      frame,
      niceTicks(end).map((t) => ({ at: t, label: `${t}s` })),
      [0, 0.25, 0.5, 0.75, 1].map((p) => ({ at: p, label: p.toFixed(2) })),
      'time (s)',
      'p(fake)',
      x,
      y,
    ),
  );
  for (const stretch of noFaceStretches(video.frames, video.durationSeconds)) {
    const left = x(stretch.from);
    const width = Math.max(1, x(stretch.to) - left);
    parts.push(`<rect x="${f1(left)}" y="${frame.top}" width="${f1(width)}" height="${frame.height - frame.top - frame.bottom}" fill="#999" fill-opacity="0.18"><title>no face found from ${stretch.from.toFixed(1)} s to ${stretch.to.toFixed(1)} s</title></rect>`);
    if (width > 44) parts.push(`<text x="${f1(left + 4)}" y="${frame.top + 13}" font-size="10" ${FONT} fill="#555">no face</text>`);
  }
  parts.push(`<line x1="${frame.left}" x2="${frame.width - frame.right}" y1="${f1(y(threshold))}" y2="${f1(y(threshold))}" stroke="#c33" stroke-dasharray="5 4"/>`);
  parts.push(`<text x="${frame.width - frame.right - 4}" y="${f1(y(threshold) - 4)}" text-anchor="end" font-size="10" ${FONT} fill="#c33">threshold ${threshold.toFixed(2)}</text>`);
  if (video.pFake !== null) {
    parts.push(`<line x1="${frame.left}" x2="${frame.width - frame.right}" y1="${f1(y(video.pFake))}" y2="${f1(y(video.pFake))}" stroke="#36c" stroke-width="6" stroke-opacity="0.25"/>`);
  }
  const scored = video.frames.filter((f) => f.pFake !== null);
  if (scored.length > 1) {
    const path = scored.map((f, i) => `${i === 0 ? 'M' : 'L'}${f1(x(f.timeSeconds))} ${f1(y(f.pFake!))}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="#888" stroke-width="1"/>`);
  }
  const keys = new Set(video.keyFrames);
  video.frames.forEach((f, i) => {
    if (f.pFake === null) {
      parts.push(`<line x1="${f1(x(f.timeSeconds))}" x2="${f1(x(f.timeSeconds))}" y1="${frame.height - frame.bottom - 6}" y2="${frame.height - frame.bottom}" stroke="#bbb" stroke-width="2"/>`);
      return;
    }
    const colour = f.pFake >= threshold ? '#d22' : '#292';
    parts.push(`<circle cx="${f1(x(f.timeSeconds))}" cy="${f1(y(f.pFake))}" r="3.5" fill="${colour}"${f.wholeFrame ? ' fill-opacity="0.5"' : ''}><title>frame ${f.index} at ${f.timeSeconds.toFixed(2)} s: p(fake) ${f.pFake.toFixed(3)}</title></circle>`);
    if (keys.has(i)) parts.push(`<circle cx="${f1(x(f.timeSeconds))}" cy="${f1(y(f.pFake))}" r="7" fill="none" stroke="#000" stroke-width="1.5"/>`);
  });
  return svg(frame.width, frame.height, parts);
}

/** A ROC curve (or several, to compare classifiers) with the chance diagonal and AUCs in the legend. */
export function rocSvg(curves: { label: string; points: RocPoint[]; auc: number | null }[], title: string): string {
  const frame: Frame = { width: 440, height: 440, left: 52, right: 16, top: 36, bottom: 44 };
  const side = frame.width - frame.left - frame.right;
  const x = (v: number) => frame.left + v * side;
  const y = (v: number) => frame.top + (1 - v) * (frame.height - frame.top - frame.bottom);
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1].map((v) => ({ at: v, label: v.toFixed(1) }));
  const colours = ['#d22', '#36c', '#292', '#c80', '#808'];
  const parts = [
    `<text x="${frame.left}" y="20" font-size="13" font-weight="bold" ${FONT} fill="#222">${escapeXml(title)}</text>`,
    axes(frame, ticks, ticks, 'false positive rate (reals called fake)', 'true positive rate (fakes caught)', x, y),
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#aaa" stroke-dasharray="4 4"/>`,
  ];
  curves.forEach((curve, k) => {
    const colour = colours[k % colours.length]!;
    if (curve.points.length > 0) {
      parts.push(`<path d="${curve.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${f1(x(p.fpr))} ${f1(y(p.tpr))}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    }
    const legendY = frame.height - frame.bottom - 12 - 16 * (curves.length - 1 - k);
    parts.push(`<line x1="${x(0.45)}" x2="${x(0.52)}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${x(0.54)}" y="${legendY}" font-size="11" ${FONT} fill="#222">${escapeXml(`${curve.label}: AUC ${curve.auc === null ? 'n/a' : curve.auc.toFixed(3)}`)}</text>`);
  });
  return svg(frame.width, frame.height, parts);
}

function svg(width: number, height: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="#fafafa"/>\n${parts.join('\n')}\n</svg>\n`;
}
