import { HttpError } from './http-error.js';

/**
 * A bounded FIFO of async work: `concurrency` tasks run, `maxWaiting` wait, and
 * anything beyond is refused at once with 503 and a Retry-After estimated from
 * how long recent tasks took. Heavy work (tfjs, ffmpeg) goes through one of
 * these, so a burst of uploads cannot pile up unbounded memory or CPU.
 */
export class WorkQueue {
  private active = 0;
  private readonly waitingList: Array<() => void> = [];
  /** Durations of the last few tasks, ms. */
  private readonly recent: number[] = [];

  constructor(
    readonly name: string,
    readonly concurrency: number,
    readonly maxWaiting: number,
    /** Retry-After before any task has finished, seconds. */
    private readonly defaultRetrySeconds: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waitingList.length;
  }

  get capacity(): number {
    return this.concurrency + this.maxWaiting;
  }

  get full(): boolean {
    return this.active >= this.concurrency && this.waitingList.length >= this.maxWaiting;
  }

  /** Seconds until a slot is likely free. */
  retryAfterSeconds(): number {
    if (this.recent.length === 0) return this.defaultRetrySeconds;
    const mean = this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
    const seconds = (mean * (this.waitingList.length + 1)) / this.concurrency / 1000;
    return Math.min(600, Math.max(1, Math.ceil(seconds)));
  }

  /** The error a full queue answers with. */
  fullError(): HttpError {
    const retry = this.retryAfterSeconds();
    return new HttpError(
      503,
      `the server is busy: ${this.active} ${this.name} running and ${this.waitingList.length} waiting (the limit)`,
      `try again in ${retry} s`,
      { 'Retry-After': String(retry) },
    );
  }

  /**
   * Queues `task`; throws the 503 HttpError at once when the queue is full.
   * `onStart` is called when the task leaves the queue and starts.
   */
  add<T>(task: () => Promise<T>, onStart?: () => void): Promise<T> {
    if (this.full) throw this.fullError();
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.active++;
        const began = performance.now();
        onStart?.();
        Promise.resolve()
          .then(task)
          .then(resolve, reject)
          .finally(() => {
            this.active--;
            this.recent.push(performance.now() - began);
            if (this.recent.length > 10) this.recent.shift();
            this.waitingList.shift()?.();
          });
      };
      if (this.active < this.concurrency) start();
      else this.waitingList.push(start);
    });
  }
}
