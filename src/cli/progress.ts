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
        format: `${label} {bar} {value}/{total} | {rate} | ETA {eta_formatted} | {extra}`,
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        etaBuffer: 20,
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
      this.bar.start(this.total, value, { rate: '', extra });
      this.started = true;
      return;
    }
    const seconds = (performance.now() - this.startTime) / 1000;
    const perSecond = (value - this.startValue) / Math.max(seconds, 1e-9);
    const rate = perSecond >= 1 ? `${perSecond.toFixed(2)} it/s` : `${(1 / Math.max(perSecond, 1e-9)).toFixed(1)} s/it`;
    this.bar.update(value, { rate, extra });
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
