// `fakeface train`: one trainer per run folder (runs/x/.lock), and `--resume RUN` alone.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, expectOneLineError, runCli, startCli } from './helpers/cli.js';
import { UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fakeface-resume-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A folder of the first `count` UTKFace photos (copies). */
async function faceFolder(name: string, count: number): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  for (const file of (await readdir(UTKFACE_DIR!)).sort().slice(0, count)) await copyFile(join(UTKFACE_DIR!, file), join(dir, file));
  return dir;
}

const metricLines = async (run: string) => (existsSync(join(run, 'metrics.jsonl')) ? (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').filter(Boolean).length : 0);

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, ms = 120_000): Promise<void> {
  for (const started = Date.now(); Date.now() - started < ms; ) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The lines on stderr that are not progress bars. */
const messages = (stderr: string) => stderr.split(/[\r\n]+/).filter((l) => l.startsWith('fakeface:') || l.startsWith('  hint:'));

(UTKFACE_DIR ? describe : describe.skip)('fakeface train: run folder lock and --resume RUN', () => {
  it('lets one trainer at a time write a run, resumes with the run alone, and takes over a stale lock', async () => {
    // 40 faces and a FIFO named like one: reading the FIFO would block forever, so it is skipped by its type.
    const data = await faceFolder('faces', 40);
    execFileSync('mkfifo', [join(data, 'pipe.jpg')]);
    const run = join(work, 'runs', 'x');
    const cache = ['--cache-dir', join(work, 'cache')];
    const first = startCli(['train', '--data', data, '--preset', 'tiny', '--out', run, '--iterations', '100000', '--batch-size', '8', '--sample-every', '0', '--checkpoint-every', '5', ...cache]);
    const firstDone = collect(first);
    await waitFor(async () => (await metricLines(run)) >= 2, 'the first trainer to start iterating');

    // A second trainer on the same folder, by either form, fails at once naming the first.
    const lock = JSON.parse(await readFile(join(run, '.lock'), 'utf8'));
    expect(lock).toMatchObject({ pid: first.pid, hostname: hostname() });
    expect(lock.command).toMatch(/^fakeface train --data /);
    for (const args of [['train', '--resume', run], ['train', '--data', data, '--preset', 'tiny', '--out', run]]) {
      const second = await runCli(args);
      expectOneLineError(second, new RegExp(`${run} is in use by another trainer, pid ${first.pid}, since `));
      expect(second.stderr).toMatch(/hint: wait for it to finish or stop it/);
    }

    // SIGTERM: the first stops after a checkpoint and frees the folder.
    first.kill('SIGTERM');
    const stopped = await firstDone;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/warning: skipped 1 unreadable file of 41 in .*: pipe\.jpg \(a FIFO, not a regular file\)/);
    expect(stopped.stderr).toContain(`Continue with: fakeface train --resume ${run}`);
    expect(existsSync(join(run, '.lock'))).toBe(false);
    expect(JSON.parse(await readFile(join(run, 'data.json'), 'utf8'))).toEqual({ dir: data });
    const { iteration } = JSON.parse(await readFile(join(run, 'state.json'), 'utf8'));

    // --resume RUN alone: its data folder and config come from the run; --iterations shortens the schedule.
    const resumed = await runCli(['train', '--resume', run, '--iterations', String(iteration + 3), ...cache]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming at iteration ${iteration}`);
    expect(resumed.stderr).toMatch(/40 images at 32x32 \(from cache\), 1 skipped/);
    expect(messages(resumed.stderr).filter((l) => /warning/.test(l) && !/skipped 1 unreadable/.test(l))).toEqual([]);
    expect(await metricLines(run)).toBe(iteration + 3);
    expect(JSON.parse(await readFile(join(run, 'config.json'), 'utf8'))).toMatchObject({ preset: 'tiny', batchSize: 8, iterations: iteration + 3 });
    expect(existsSync(join(run, '.lock'))).toBe(false);

    // A trainer killed outright leaves its lock; the next one takes it over, saying so in one line.
    // Flags beside --resume that change the recipe or the data are used, each with a one-line warning.
    const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(run, '.lock'), JSON.stringify({ pid: Number(dead), hostname: hostname(), startedAt: '2020-01-01T00:00:00.000Z' }));
    const other = await faceFolder('faces-b', 20);
    const changed = await runCli(['train', '--resume', run, '--iterations', String(iteration + 5), '--data', other, '--learning-rate', '1e-4', ...cache]);
    expect(changed.code, changed.stderr).toBe(0);
    const warnings = messages(changed.stderr).filter((l) => l.startsWith('fakeface: warning:'));
    expect(warnings).toEqual([
      `fakeface: warning: ${run}: taking over the lock of pid ${dead} (started 2020-01-01T00:00:00.000Z), which is no longer running`,
      expect.stringMatching(/^fakeface: warning: --resume: changing the run's recipe \(learningRate 0.0002 -> 0.0001\): from here on it differs/),
      expect.stringMatching(new RegExp(`^fakeface: warning: --resume: training on ${other}, not on the run's own data ${data}: `)),
    ]);
    expect(changed.stderr).toMatch(/20 images at 32x32/);
    expect(JSON.parse(await readFile(join(run, 'data.json'), 'utf8'))).toEqual({ dir: other });
    expect(JSON.parse(await readFile(join(run, 'config.json'), 'utf8'))).toMatchObject({ learningRate: 1e-4, iterations: iteration + 5 });
    expect(existsSync(join(run, '.lock'))).toBe(false);

    // What cannot change (the model) and what cannot work are one-line errors; the lock is released.
    expectOneLineError(await runCli(['train', '--resume', run, '--architecture', 'dcgan']), /--resume: cannot change architecture of an existing run \("mlp"\): its checkpoints hold weights made with it/);
    expectOneLineError(await runCli(['train', '--resume', run, '--out', join(work, 'runs', 'y')]), /name two runs/);
    expectOneLineError(await runCli(['train', '--resume', join(work, 'runs', 'none')]), /holds no run to resume/);
    expect(existsSync(join(work, 'runs', 'none'))).toBe(false);
    expect(existsSync(join(run, '.lock'))).toBe(false);
  }, 600_000);
});
