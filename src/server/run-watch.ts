import { open, readFile, stat } from 'node:fs/promises';
import { runPaths } from '../train/run-folder.js';
import type { MetricsPoint, RunEvents } from './api-types.js';
import { listSamples, runDetail, runSummary, type RunRef } from './runs.js';

type Listener = <E extends keyof RunEvents>(event: E, data: RunEvents[E]) => void;

/**
 * Follows one run folder while someone watches it: new complete lines of
 * metrics.jsonl (read from where the last poll stopped), new sample grids, and
 * state.json changes. Polling, not fs.watch: it behaves the same on every file
 * system, and a run writes a line per iteration anyway. All subscribers of a run
 * share one watcher, which stops with the last of them.
 */
class RunWatcher {
  private readonly listeners = new Set<Listener>();
  private metrics: MetricsPoint[] = [];
  /** Bytes of metrics.jsonl consumed, and a line not yet finished. */
  private offset = 0;
  private partial = '';
  private lastSample = -1;
  private stateText = '';
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private ready: Promise<void>;

  private readonly dir: string;

  constructor(
    private readonly run: RunRef,
    private readonly intervalMs: number,
    private readonly log: (message: string, error?: unknown) => void,
  ) {
    this.dir = run.dir;
    this.ready = this.reset();
  }

  async subscribe(listener: Listener): Promise<void> {
    await this.ready;
    this.listeners.add(listener);
    listener('snapshot', await runDetail(this.run, this.metrics));
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs).unref();
  }

  /** Returns whether anyone is still listening. */
  unsubscribe(listener: Listener): boolean {
    this.listeners.delete(listener);
    if (this.listeners.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    return this.listeners.size > 0;
  }

  stop(): void {
    this.listeners.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private emit<E extends keyof RunEvents>(event: E, data: RunEvents[E]): void {
    for (const listener of this.listeners) listener(event, data);
  }

  /** Reads everything from the start (first subscriber, or metrics.jsonl was rewritten). */
  private async reset(): Promise<void> {
    this.metrics = [];
    this.offset = 0;
    this.partial = '';
    await this.readNewMetrics();
    const samples = await listSamples(this.dir, this.run.id);
    this.lastSample = samples.length ? samples[samples.length - 1]!.iteration : -1;
    this.stateText = await readFile(runPaths(this.dir).state, 'utf8').catch(() => '');
  }

  /** Appends the complete lines written since the last read; returns them, or null when the file shrank. */
  private async readNewMetrics(): Promise<MetricsPoint[] | null> {
    const file = runPaths(this.dir).metrics;
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      return this.offset > 0 ? null : [];
    }
    if (size < this.offset) return null;
    if (size === this.offset) return [];
    const handle = await open(file, 'r');
    let text: string;
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      text = this.partial + buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const added: MetricsPoint[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const point = JSON.parse(line) as MetricsPoint;
        if (typeof point.iteration === 'number') added.push(point);
      } catch {
        // A line cut short by a crash: readMetrics() skips it too.
      }
    }
    this.metrics.push(...added);
    return added;
  }

  private async poll(): Promise<void> {
    if (this.polling || this.listeners.size === 0) return;
    this.polling = true;
    try {
      const added = await this.readNewMetrics();
      if (added === null) {
        // Rewritten (a resumed run drops the lines after its checkpoint): start over.
        await this.reset();
        this.emit('snapshot', await runDetail(this.run, this.metrics));
        return;
      }
      if (added.length) this.emit('metrics', added);
      const samples = await listSamples(this.dir, this.run.id);
      for (const sample of samples.filter((s) => s.iteration > this.lastSample)) this.emit('sample', sample);
      if (samples.length) this.lastSample = Math.max(this.lastSample, samples[samples.length - 1]!.iteration);
      const stateText = await readFile(runPaths(this.dir).state, 'utf8').catch(() => '');
      if (stateText !== this.stateText) {
        this.stateText = stateText;
        const { metricsAll: _m, config: _c, samples: _s, ...summary } = await runSummary(this.run, this.metrics);
        this.emit('state', summary);
      }
    } catch (error) {
      this.log(`watching ${this.dir} failed`, error);
    } finally {
      this.polling = false;
    }
  }
}

/** One watcher per run folder, shared by its subscribers. */
export class RunWatchers {
  private readonly watchers = new Map<string, RunWatcher>();

  constructor(
    private readonly intervalMs: number,
    private readonly log: (message: string, error?: unknown) => void,
  ) {}

  /** Sends the snapshot, then every change, to `listener` until the returned function is called. */
  async subscribe(run: RunRef, listener: Listener): Promise<() => void> {
    const dir = run.dir;
    let watcher = this.watchers.get(dir);
    if (!watcher) {
      watcher = new RunWatcher(run, this.intervalMs, this.log);
      this.watchers.set(dir, watcher);
    }
    await watcher.subscribe(listener);
    const current = watcher;
    return () => {
      if (!current.unsubscribe(listener) && this.watchers.get(dir) === current) this.watchers.delete(dir);
    };
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.stop();
    this.watchers.clear();
  }
}
