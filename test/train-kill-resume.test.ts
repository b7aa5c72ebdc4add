/**
 * kill -9 of a training at 10 seeded-random moments in a row, each resumed with
 * `fakeface train --resume RUN` alone: the run ends with metrics.jsonl holding every
 * iteration exactly once, checkpoints that load, no temporary file and no lock left.
 *
 * Each kill lands a seeded-random 0-1000 ms after the trainer logs its first new
 * iteration: inside iterations, metric appends, sample grids and checkpoint writes
 * (every 5 iterations, so about a third of the time is spent writing them).
 * About 60-90 s on 2 busy cores (11 CLI starts of ~4 s).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initEngine } from '../src/engine/index.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { Rng } from '../src/train/rng.js';
import { collect, startCli } from './helpers/cli.js';
import { UTKFACE_DIR, UTKFACE_MISSING, tempFolder } from './helpers/data.js';

if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);
const work = tempFolder('fakeface-kill-');
afterAll(() => work.cleanup());

const ITERATIONS = 600;
const KILLS = 10;

const metricIterations = (run: string): number[] => {
  const file = join(run, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [(JSON.parse(line) as { iteration: number }).iteration];
      } catch {
        return []; // a line cut short by the kill
      }
    });
};

/** Every file and folder under dir, as paths relative to it. */
const walk = (dir: string, prefix = ''): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const rel = join(prefix, name);
    return statSync(path).isDirectory() ? [rel, ...walk(path, rel)] : [rel];
  });

describe.skipIf(!UTKFACE_DIR)('kill -9 at random moments, each resumed with --resume RUN', () => {
  it(`ends with every iteration in metrics.jsonl exactly once, loadable checkpoints and nothing half-written`, async () => {
    const run = join(work.dir, 'runs', 'killed');
    // The cache goes to the temp folder through the environment, so resumes are `--resume RUN` alone.
    const env = { FAKEFACE_CACHE_DIR: join(work.dir, 'cache') };
    const rng = new Rng(17);
    const first = ['train', '--data', UTKFACE_DIR!, '--limit', '64', '--preset', 'tiny', '--out', run, '--iterations', String(ITERATIONS), '--batch-size', '8', '--checkpoint-every', '5', '--sample-every', '20'];
    const killedAt: number[] = [];
    for (let round = 0; round <= KILLS; round++) {
      const before = metricIterations(run).length;
      const child = startCli(round === 0 ? first : ['train', '--resume', run], env);
      const done = collect(child);
      if (round === KILLS) {
        const last = await done;
        expect(last.code, last.stderr.slice(-2000)).toBe(0);
        expect(last.stderr).not.toMatch(/\n\s+at /);
        break;
      }
      let exited = false;
      void done.then(() => (exited = true));
      // Wait for the trainer to log a new iteration, then a random moment more.
      while (!exited && metricIterations(run).length <= before) await new Promise((r) => setTimeout(r, 20));
      expect(exited, `round ${round}: the trainer exited before it was killed: ${(await Promise.race([done, Promise.resolve(null)]))?.stderr.slice(-1500)}`).toBe(false);
      await new Promise((r) => setTimeout(r, Math.floor(rng.uniform() * 1000)));
      child.kill('SIGKILL');
      const result = await done;
      expect(result.signal, `round ${round}: the trainer finished before the kill (raise ITERATIONS)`).toBe('SIGKILL');
      killedAt.push(metricIterations(run).at(-1) ?? 0);
    }
    console.log(`kill -9 after iterations ${killedAt.join(', ')}; finished at ${ITERATIONS}`);
    // Every kill landed in a different place, after some progress.
    expect(new Set(killedAt).size).toBe(KILLS);

    // Every iteration exactly once, in order.
    expect(metricIterations(run)).toEqual(Array.from({ length: ITERATIONS }, (_, i) => i + 1));
    const state = JSON.parse(readFileSync(join(run, 'state.json'), 'utf8')) as { status: string; iteration: number };
    expect(state).toMatchObject({ status: 'finished', iteration: ITERATIONS });
    // 1 start + 10 resumes recorded.
    expect(readFileSync(join(run, 'commands.txt'), 'utf8').trim().split('\n')).toHaveLength(KILLS + 1);

    // Nothing half-written or held: no temporary file or folder, no lock.
    const files = walk(run);
    expect(files.filter((f) => /\.tmp$|(^|\/)\.tmp-/.test(f))).toEqual([]);
    expect(files).not.toContain('.lock');

    // Every checkpoint left loads, the newest at the last iteration.
    const latest = JSON.parse(readFileSync(join(run, 'checkpoints', 'latest.json'), 'utf8')) as { checkpoint: string; iteration: number };
    expect(latest.iteration).toBe(ITERATIONS);
    await initEngine({ backend: 'cpu' });
    const checkpoints = readdirSync(join(run, 'checkpoints')).filter((n) => /^step_\d+$/.test(n));
    expect(checkpoints).toContain(latest.checkpoint);
    for (const name of checkpoints) {
      const checkpoint = await loadCheckpoint(join(run, 'checkpoints', name));
      expect(checkpoint.state.iteration).toBe(Number(name.slice(5)));
      expect(checkpoint.gan.generator.outputs[0]!.shape).toEqual([null, 32, 32, 3]);
      checkpoint.gan.generator.dispose();
      checkpoint.gan.discriminator.dispose();
    }
  }, 240_000);
});
