/** Line charts on uPlot (bundled), sized to their container. */
import uPlot from 'uplot';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Dashed reference line, e.g. a threshold. */
  dash?: boolean;
  points?: boolean;
}

export interface LineChart {
  setData(data: uPlot.AlignedData): void;
  destroy(): void;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: SeriesSpec[];
  /** Fixed y range, e.g. [0, 1] for probabilities. */
  yRange?: [number, number];
  height?: number;
  /** Formats x values in the legend. */
  xFormat?: (x: number) => string;
}

const css = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function lineChart(container: HTMLElement, options: ChartOptions, data: uPlot.AlignedData): LineChart {
  const height = options.height ?? 240;
  const axisColor = css('--muted', '#666');
  const gridColor = css('--grid', 'rgba(127,127,127,0.2)');
  const axis = (label: string): uPlot.Axis => ({ label, stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 } });
  const plot = new uPlot(
    {
      title: options.title,
      width: Math.max(280, container.clientWidth),
      height,
      scales: { x: { time: false }, y: options.yRange ? { range: options.yRange } : { auto: true } },
      axes: [axis(options.xLabel), axis(options.yLabel)],
      series: [
        { label: options.xLabel, value: options.xFormat ? (_u, v) => (v == null ? '–' : options.xFormat!(v)) : undefined },
        ...options.series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: s.dash ? 1 : 2,
            dash: s.dash ? [6, 4] : undefined,
            points: { show: s.points ?? false, size: 6, fill: s.color },
            spanGaps: false,
            value: (_u, v) => (v == null ? '–' : v.toFixed(3)),
          }),
        ),
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    },
    data,
    container,
  );
  const observer = new ResizeObserver(() => {
    const width = Math.max(280, container.clientWidth);
    if (Math.abs(width - plot.width) > 1) plot.setSize({ width, height });
  });
  observer.observe(container);
  return {
    setData: (next) => plot.setData(next),
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}
