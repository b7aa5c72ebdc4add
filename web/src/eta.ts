/**
 * Time left of a job that reports "k of n" steps, from its pace so far:
 * samples are (done, ms) pairs; the pace is measured from the first one, so the
 * time before the first step (loading models, a queue) does not count.
 */
export class Eta {
  private first: { done: number; ms: number } | null = null;

  /** Records progress at `nowMs` and returns the time left in words ('' until it can tell). */
  update(done: number, total: number | null, nowMs: number): string {
    if (this.first === null || done < this.first.done) this.first = { done, ms: nowMs };
    if (!total || done >= total) return '';
    const steps = done - this.first.done;
    const elapsed = nowMs - this.first.ms;
    // Two steps at least: one step's time includes warming up.
    if (steps < 2 || elapsed <= 0) return '';
    return `about ${formatDuration(((total - done) * elapsed) / steps / 1000)} left`;
  }
}

/** 4 s, 50 s, 2 min, 1 h 5 min: rounded as people say it. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds / (seconds < 10 ? 1 : 5)) * (seconds < 10 ? 1 : 5))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
