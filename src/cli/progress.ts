import cliProgress from 'cli-progress';

/**
 * A progress bar with it/s and ETA on a terminal; on a pipe (CI, logs) one
 * plain line every few seconds instead.
 */
export class ProgressBar {
  private readonly bar: cliProgress.SingleBar;
  private started = false;
  private readonly startTime = performance.now();
  private startValue = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {value}/{total} | {rate} | ETA {timeLeft} | {extra}`,
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        fps: 5,
        // Redrawn on every tick even when unchanged, so that it comes back after print() cleared it.
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(value: number, extra = ''): void {
    if (!this.started) {
      this.startValue = value;
      this.bar.start(this.total, value, { rate: '', timeLeft: '-', extra });
      this.started = true;
      return;
    }
    const seconds = (performance.now() - this.startTime) / 1000;
    const perSecond = (value - this.startValue) / Math.max(seconds, 1e-9);
    const rate = perSecond >= 1 ? `${perSecond.toFixed(2)} it/s` : `${(1 / Math.max(perSecond, 1e-9)).toFixed(1)} s/it`;
    const timeLeft = perSecond > 0 ? formatEta((this.total - value) / perSecond) : '-';
    this.bar.update(value, { rate, timeLeft, extra });
  }

  /** Prints a line (results to stdout, notes to stderr) above the bar: on a terminal the bar is cleared first and redrawn under it. */
  print(line: string, stream: NodeJS.WriteStream = process.stdout): void {
    if (this.started && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    stream.write(line + '\n');
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}

/**
 * A time left as "1h02m", "15m07s" or "42s": rounded to whole seconds first, so never
 * "15m60s" (cli-progress's own eta_formatted rounds each part apart).
 */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
