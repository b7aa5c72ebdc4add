import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RunLockedError } from '../errors.js';
import { acquireRunLock, runLockPath, type RunLockOwner } from './run-lock.js';

const work = mkdtempSync(join(tmpdir(), 'fakeface-lock-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let folders = 0;
const newRun = () => join(work, `run-${++folders}`);

function writeLock(runDir: string, owner: Partial<RunLockOwner>): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(runLockPath(runDir), JSON.stringify({ hostname: hostname(), startedAt: '2020-01-01T00:00:00.000Z', ...owner }));
}

/** The pid of a process that has exited (and been reaped): kill(pid, 0) gives ESRCH. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function lockedError(fn: () => unknown): RunLockedError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RunLockedError);
    return error as RunLockedError;
  }
  throw new Error('expected RunLockedError');
}

describe('run folder lock', () => {
  it('records pid, host, start and command, and is gone after release', () => {
    const run = newRun();
    const lock = acquireRunLock(run, { command: 'fakeface train --resume x' });
    const owner = JSON.parse(readFileSync(runLockPath(run), 'utf8')) as RunLockOwner;
    expect(owner).toMatchObject({ pid: process.pid, hostname: hostname(), command: 'fakeface train --resume x' });
    expect(Date.now() - Date.parse(owner.startedAt)).toBeLessThan(60_000);
    lock.release();
    lock.release(); // twice is harmless
    expect(existsSync(runLockPath(run))).toBe(false);
  });

  it('refuses a second holder while the first lives, naming its pid in one line', () => {
    const run = newRun();
    const lock = acquireRunLock(run, { command: 'fakeface train --data faces --out x' });
    const error = lockedError(() => acquireRunLock(run));
    expect(error.message).toMatch(new RegExp(`in use by another trainer, pid ${process.pid}, since .*: fakeface train --data faces --out x$`));
    expect(error.message).not.toContain('\n');
    expect(error.hint).toContain(runLockPath(run));
    lock.release();
    acquireRunLock(run).release(); // free again
  });

  it('refuses a lock held by another live process', async () => {
    const run = newRun();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeLock(run, { pid: other.pid! });
      expect(lockedError(() => acquireRunLock(run)).message).toContain(`pid ${other.pid}`);
    } finally {
      other.kill();
    }
  });

  it('takes over a stale lock (its pid is dead), saying so once', () => {
    const run = newRun();
    const dead = deadPid();
    writeLock(run, { pid: dead });
    const warn = vi.fn();
    const lock = acquireRunLock(run, { warn });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toBe(`${run}: taking over the lock of pid ${dead} (started 2020-01-01T00:00:00.000Z), which is no longer running`);
    expect(JSON.parse(readFileSync(runLockPath(run), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it("counts another host's lock as held: its pid cannot be checked from here", () => {
    const run = newRun();
    writeLock(run, { pid: deadPid(), hostname: `not-${hostname()}` });
    expect(lockedError(() => acquireRunLock(run)).message).toContain(`on not-${hostname()}`);
  });

  it('waits out a lock file being written, and removes an old unreadable one', () => {
    const run = newRun();
    mkdirSync(run);
    writeFileSync(runLockPath(run), '');
    expect(lockedError(() => acquireRunLock(run)).message).toMatch(/being locked by another trainer right now/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(runLockPath(run), old, old);
    const warn = vi.fn();
    acquireRunLock(run, { warn }).release();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/removing an unreadable lock file/));
  });

  it('leaves no folder behind when the run wrote nothing, and keeps one that it wrote into', () => {
    const empty = join(work, 'new-parent', 'empty-run');
    acquireRunLock(empty).release();
    expect(existsSync(join(work, 'new-parent'))).toBe(false);
    const used = newRun();
    const lock = acquireRunLock(used);
    writeFileSync(join(used, 'config.json'), '{}');
    lock.release();
    expect(existsSync(join(used, 'config.json'))).toBe(true);
  });

  it('is released when the process exits without returning (process.exit, a second Ctrl-C)', () => {
    const run = newRun();
    const script = `import { acquireRunLock } from './src/train/run-lock.ts'; acquireRunLock(${JSON.stringify(run)}); process.exit(130);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(130);
    expect(existsSync(run)).toBe(false);
  });

  it('is released when an unhandled SIGTERM ends the process', async () => {
    const run = newRun();
    const script = `import { acquireRunLock } from './src/train/run-lock.ts'; acquireRunLock(${JSON.stringify(run)}); console.log('locked'); setTimeout(() => {}, 60000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    expect(existsSync(runLockPath(run))).toBe(true);
    child.kill('SIGTERM');
    const signal = await new Promise((resolve) => child.on('close', (_code, s) => resolve(s)));
    expect(signal).toBe('SIGTERM');
    expect(existsSync(run)).toBe(false);
  }, 60_000);
});
