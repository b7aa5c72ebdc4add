/**
 * Line charts as standalone SVG text (no browser, no canvas, no dependency):
 * training curves for reports. Series are drawn as given; smoothSeries()
 * prepares noisy per-iteration values (moving average, then at most
 * `maxPoints` points per series so that a 20,000-iteration run stays small).
 */

export type Point = readonly [x: number, y: number];

export interface ChartSeries {
  name: string;
  points: readonly Point[];
  /** CSS colour; a palette colour by default. */
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** @default 640 */
  width?: number;
  /** @default 300 */
  height?: number;
  /** Fixed y range (e.g. [0, 1] for accuracies); by default the data's, padded. */
  yMin?: number;
  yMax?: number;
  /** Horizontal reference lines (e.g. chance at 0.5, or a floor). */
  guides?: readonly { y: number; label: string }[];
}

/** Colour-blind-safe palette (Okabe & Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

const MARGIN = { top: 28, right: 16, bottom: 40, left: 56 };

/** Escapes text for SVG/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  // integer multiples of the step, rounded: 3 * 0.2 is 0.6000000000000001 in floating point
  for (let k = Math.ceil(min / step - 1e-9); k <= Math.floor(max / step + 1e-9); k++) ticks.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 10_000) return `${+(value / 1000).toPrecision(3)}k`;
  if (abs >= 1) return String(+value.toPrecision(4));
  return String(+value.toPrecision(2));
}

/** An SVG line chart, one `<polyline>` per series with exactly its finite points. */
export function lineChartSvg(options: LineChartOptions): string {
  const { title, xLabel, yLabel, series, width = 640, height = 300, guides = [] } = options;
  const finite = series.map((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const all = finite.flat();
  const xs = all.map(([x]) => x);
  const ys = [...all.map(([, y]) => y), ...guides.map((g) => g.y)];
  let xMin = xs.length ? Math.min(...xs) : 0;
  let xMax = xs.length ? Math.max(...xs) : 1;
  if (xMax === xMin) xMax = xMin + 1;
  let yMin = options.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let yMax = options.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (yMax === yMin) {
    yMin -= 0.5;
    yMax += 0.5;
  } else if (options.yMin === undefined && options.yMax === undefined) {
    const pad = (yMax - yMin) * 0.05;
    yMin -= pad;
    yMax += pad;
  }
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => MARGIN.top + (1 - (Math.min(Math.max(y, yMin), yMax) - yMin) / (yMax - yMin)) * plotH;
  const r = (v: number) => Math.round(v * 10) / 10;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(title)}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  );
  for (const tick of niceTicks(yMin, yMax)) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${r(py(tick))}" y2="${r(py(tick))}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 4}" y="${r(py(tick)) + 4}" text-anchor="end">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of niceTicks(xMin, xMax)) {
    out.push(`<text x="${r(px(tick))}" y="${height - MARGIN.bottom + 14}" text-anchor="middle">${formatTick(tick)}</text>`);
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  for (const guide of guides) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${r(py(guide.y))}" y2="${r(py(guide.y))}" stroke="#777" stroke-dasharray="2 3"/>`,
      `<text x="${width - MARGIN.right - 4}" y="${r(py(guide.y)) - 3}" text-anchor="end" fill="#555">${escapeXml(guide.label)}</text>`,
    );
  }
  const colorOf = (s: ChartSeries, i: number) => s.color ?? PALETTE[i % PALETTE.length]!;
  const dash = (s: ChartSeries) => (s.dashed ? ' stroke-dasharray="5 3"' : '');
  series.forEach((s, i) => {
    const points = finite[i]!.map(([x, y]) => `${r(px(x))},${r(py(y))}`).join(' ');
    out.push(`<polyline data-series="${escapeXml(s.name)}" fill="none" stroke="${colorOf(s, i)}" stroke-width="1.5"${dash(s)} points="${points}"/>`);
  });
  // the legend last, on a light box, so that no curve runs through it
  if (series.length) {
    const longest = Math.max(...series.map((s) => s.name.length));
    out.push(`<rect x="${MARGIN.left + 4}" y="${MARGIN.top + 2}" width="${34 + longest * 6.5}" height="${series.length * 14 + 4}" fill="#ffffff" fill-opacity="0.85"/>`);
  }
  series.forEach((s, i) => {
    const ly = MARGIN.top + 12 + i * 14;
    out.push(
      `<line x1="${MARGIN.left + 8}" x2="${MARGIN.left + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colorOf(s, i)}" stroke-width="2"${dash(s)}/>`,
      `<text x="${MARGIN.left + 30}" y="${ly}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Centred moving average over `window` values (shorter at the ends); non-finite values are left out of each mean. */
export function movingAverage(values: readonly number[], window: number): number[] {
  const half = Math.floor(Math.max(1, window) / 2);
  const out: number[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let sum = 0;
    let n = 0;
    for (let j = Math.max(0, i - half); j <= Math.min(values.length - 1, i + half); j++) {
      const v = values[j]!;
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    out[i] = n ? sum / n : NaN;
  }
  return out;
}

export interface SmoothOptions {
  /** Moving-average window in points. @default about 2% of the series, odd, at least 1 */
  window?: number;
  /** Points kept: consecutive points are averaged in buckets down to this many. @default 400 */
  maxPoints?: number;
}

/** Smooths a noisy curve for plotting: moving average, then bucket means down to `maxPoints`. */
export function smoothSeries(xs: readonly number[], ys: readonly number[], options: SmoothOptions = {}): Point[] {
  const n = Math.min(xs.length, ys.length);
  const window = options.window ?? Math.max(1, 2 * Math.floor(n / 100) + 1);
  const maxPoints = Math.max(1, options.maxPoints ?? 400);
  const smoothed = movingAverage(ys.slice(0, n), window);
  if (n <= maxPoints) return smoothed.map((y, i) => [xs[i]!, y] as const);
  const out: Point[] = [];
  for (let b = 0; b < maxPoints; b++) {
    const from = Math.floor((b * n) / maxPoints);
    const to = Math.floor(((b + 1) * n) / maxPoints);
    let sx = 0;
    let sy = 0;
    let k = 0;
    for (let i = from; i < to; i++) {
      if (!Number.isFinite(smoothed[i]!)) continue;
      sx += xs[i]!;
      sy += smoothed[i]!;
      k++;
    }
    out.push(k ? [sx / k, sy / k] : [xs[from]!, NaN]);
  }
  return out;
}
