/** JobStore.cancel: a queued job never starts, a running one is told to stop, and both remove their upload at once. */
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../src/errors.js';
import { JobStore, type JobOutcome, type JobWork } from '../src/server/jobs.js';
import { WorkQueue } from '../src/server/queue.js';

const outcome = { result: { kind: 'video' } as JobOutcome['result'], thumbnails: [] };

/** Work that runs until released or until its signal fires (then rejects, as detectVideo does). */
function stoppableWork(started: string[], name: string): { work: JobWork; release: () => void } {
  let release = () => undefined as void;
  const work: JobWork = (_progress, signal) =>
    new Promise((resolve, reject) => {
      started.push(name);
      release = () => resolve(outcome);
      signal.addEventListener('abort', () => setTimeout(() => reject(new CancelledError(`${name}: cancelled`)), 5));
    });
  return { work, release: () => release() };
}

describe('JobStore.cancel', () => {
  it('stops a running job and a queued one, removes both uploads, and leaves finished jobs alone', async () => {
    const queue = new WorkQueue('analyses', 1, 4, 30);
    const store = new JobStore(queue, 60_000, () => undefined);
    const started: string[] = [];
    const cleaned: string[] = [];
    const a = stoppableWork(started, 'a');
    const b = stoppableWork(started, 'b');
    const c = stoppableWork(started, 'c');
    const running = store.submit('a.mp4', a.work, async () => void cleaned.push('a'));
    const queued = store.submit('b.mp4', b.work, async () => void cleaned.push('b'));
    const after = store.submit('c.mp4', c.work, async () => void cleaned.push('c'));
    await new Promise((r) => setTimeout(r, 0));
    expect(store.get(running.id)?.status).toBe('running');
    expect(store.get(after.id)?.position).toBe(2);

    // Queued: cancelled at once, its upload gone, and the job behind it moves up.
    expect(await store.cancel(queued.id)).toMatchObject({ status: 'cancelled', position: null, error: expect.stringMatching(/^cancelled/) });
    expect(cleaned).toEqual(['b']);
    expect(store.get(after.id)?.position).toBe(1);

    // Running: cancel resolves only once the work has stopped.
    const job = await store.cancel(running.id);
    expect(job).toMatchObject({ status: 'cancelled', result: null });
    expect(job?.finishedAt).not.toBeNull();
    expect(cleaned).toEqual(['b', 'a']);

    // The freed slot goes to c, never to the cancelled b.
    await new Promise((r) => setTimeout(r, 10));
    expect(started).toEqual(['a', 'c']);
    expect(store.get(queued.id)?.status).toBe('cancelled');
    c.release();
    await new Promise((r) => setTimeout(r, 10));
    expect(store.get(after.id)?.status).toBe('done');
    expect(await store.cancel(after.id)).toMatchObject({ status: 'done' });
    expect(cleaned).toEqual(['b', 'a', 'c']);
    expect(queue.running).toBe(0);
    expect(await store.cancel('no-such-job')).toBeUndefined();
    store.close();
  });
});
