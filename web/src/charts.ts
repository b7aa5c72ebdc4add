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
  /** Draws a vertical line at x (a video's playhead); null removes it. */
  mark(x: number | null): void;
  destroy(): void;
}

/** A stretch of x shaded behind the series with a label, e.g. "no face" in a video's timeline. */
export interface ShadedStretch {
  from: number;
  to: number;
  label: string;
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
  /** Stretches to shade and label behind the series. */
  shaded?: ShadedStretch[];
  /** Called with the x under the pointer when the plot is clicked or tapped. */
  onPick?: (x: number) => void;
}

const css = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function lineChart(container: HTMLElement, options: ChartOptions, data: uPlot.AlignedData): LineChart {
  const height = options.height ?? 240;
  const axisColor = css('--muted', '#666');
  const gridColor = css('--grid', 'rgba(127,127,127,0.2)');
  let marked: number | null = null;
  const hooks: uPlot.Hooks.Arrays = {
    // Behind the series: the shaded stretches, each labelled at its top left when it is wide enough.
    drawClear: [
      (u) => {
        if (!options.shaded?.length) return;
        const { ctx, bbox } = u;
        ctx.save();
        ctx.fillStyle = css('--none-bg', 'rgba(127,127,127,0.18)');
        ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
        for (const stretch of options.shaded) {
          const left = u.valToPos(stretch.from, 'x', true);
          const right = Math.max(left + 2 * devicePixelRatio, u.valToPos(stretch.to, 'x', true));
          ctx.globalAlpha = 0.9;
          ctx.fillRect(left, bbox.top, right - left, bbox.height);
          const text = ctx.measureText(stretch.label).width;
          if (right - left > text + 8 * devicePixelRatio) {
            ctx.globalAlpha = 1;
            ctx.fillStyle = axisColor;
            ctx.fillText(stretch.label, left + 4 * devicePixelRatio, bbox.top + 14 * devicePixelRatio);
            ctx.fillStyle = css('--none-bg', 'rgba(127,127,127,0.18)');
          }
        }
        ctx.restore();
      },
    ],
    // On top: the playhead.
    draw: [
      (u) => {
        if (marked === null) return;
        const { ctx, bbox } = u;
        const x = u.valToPos(marked, 'x', true);
        ctx.save();
        ctx.strokeStyle = css('--accent', '#1c7ed6');
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
        ctx.restore();
      },
    ],
  };
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
      // A click picks a point (no drag-to-zoom then: it would swallow clicks).
      cursor: { drag: { x: !options.onPick, y: false } },
      hooks,
    },
    data,
    container,
  );
  const observer = new ResizeObserver(() => {
    const width = Math.max(280, container.clientWidth);
    if (Math.abs(width - plot.width) > 1) plot.setSize({ width, height });
  });
  observer.observe(container);
  if (options.onPick) {
    // A tap on a touch screen moves the cursor there too, so the legend shows that point's values.
    plot.over.addEventListener('pointerdown', (event) => {
      const rect = plot.over.getBoundingClientRect();
      const left = event.clientX - rect.left;
      plot.setCursor({ left, top: event.clientY - rect.top });
      const x = plot.posToVal(left, 'x');
      if (Number.isFinite(x)) options.onPick!(x);
    });
  }
  return {
    setData: (next) => plot.setData(next),
    mark(x) {
      if (x === marked) return;
      marked = x;
      plot.redraw(false, false);
    },
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}
