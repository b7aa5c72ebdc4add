import { describe, expect, it } from 'vitest';
import { escapeXml, lineChartSvg, movingAverage, niceTicks, smoothSeries } from './chart.js';

/** The number of x,y pairs of each polyline, by series name. */
function polylinePoints(svg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of svg.matchAll(/<polyline data-series="([^"]*)"[^>]* points="([^"]*)"/g)) {
    out[m[1]!] = m[2]!.trim() ? m[2]!.trim().split(/\s+/).length : 0;
  }
  return out;
}

describe('lineChartSvg', () => {
  it('draws one polyline per series with exactly its finite points', () => {
    const svg = lineChartSvg({
      title: 'losses <smoothed>',
      xLabel: 'iteration',
      yLabel: 'loss',
      series: [
        { name: 'D loss', points: Array.from({ length: 7 }, (_, i) => [i + 1, Math.sin(i)] as const) },
        { name: 'G & co', points: [[1, 2], [2, NaN], [3, Infinity], [4, 1]] },
      ],
      guides: [{ y: 0.5, label: 'chance' }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(polylinePoints(svg)).toEqual({ 'D loss': 7, 'G &amp; co': 2 });
    expect(svg).toContain('losses &lt;smoothed&gt;');
    expect(svg).not.toContain('NaN');
  });

  it('keeps every point inside the plot area, also with a fixed y range the data leaves', () => {
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', width: 300, height: 200, yMin: 0, yMax: 1, series: [{ name: 's', points: [[0, -1], [5, 2], [10, 0.5]] }] });
    const coords = /points="([^"]*)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number));
    for (const [x, y] of coords) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(300);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(200);
    }
  });

  it('copes with a single point and with no data', () => {
    expect(polylinePoints(lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'one', points: [[3, 3]] }] }))).toEqual({ one: 1 });
    expect(polylinePoints(lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'none', points: [] }] }))).toEqual({ none: 0 });
  });
});

describe('smoothing', () => {
  it('averages over a centred window, skipping non-finite values', () => {
    expect(movingAverage([0, 3, 6, 9], 3)).toEqual([1.5, 3, 6, 7.5]);
    expect(movingAverage([1, NaN, 3], 3)).toEqual([1, 2, 3]);
    expect(movingAverage([5, 6], 1)).toEqual([5, 6]);
  });

  it('keeps short curves whole and buckets long ones down to maxPoints', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    const ys = xs.map((x) => (x % 2 ? 1 : 0));
    expect(smoothSeries(xs.slice(0, 50), ys.slice(0, 50))).toHaveLength(50);
    const long = smoothSeries(xs, ys, { maxPoints: 400 });
    expect(long).toHaveLength(400);
    for (const [, y] of long.slice(5, -5)) expect(y).toBeCloseTo(0.5, 1); // the alternation averaged out
    expect(long[0]![0]).toBeLessThan(long[399]![0]);
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'D acc', points: long }] });
    expect(polylinePoints(svg)).toEqual({ 'D acc': 400 });
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 300)).toEqual([0, 100, 200, 300]);
    expect(niceTicks(-0.05, 0.05)).toEqual([-0.04, -0.02, 0, 0.02, 0.04]);
    expect(escapeXml(`a<b & "c" 'd'`)).toBe('a&lt;b &amp; &quot;c&quot; &#39;d&#39;');
  });
});
