/**
 * One trainer per run folder. `runs/x/.lock` holds the pid, host and start time of
 * the process writing the run; it is created with O_EXCL (`wx`), so of two trainers
 * starting at once exactly one gets it. A lock whose process is gone (killed, crashed)
 * is stale and is taken over; a live one makes the second trainer fail, naming it.
 */
import { mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { RunLockedError, UsageError } from '../errors.js';

/** What the lock file records about its holder. */
export interface RunLockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
  /** The holder's command line, to tell the user what is running. */
  command?: string;
}

export interface RunLock {
  /** The lock file. */
  path: string;
  /** Removes the lock (and the run folder the lock created, if it is still empty). Safe to call twice. */
  release(): void;
}

export interface AcquireOptions {
  /** Recorded in the lock, shown to a second trainer. */
  command?: string;
  /** Told, in one line, when a stale lock is taken over. */
  warn?: (message: string) => void;
}

export const runLockPath = (runDir: string) => join(runDir, '.lock');

/** A lock still being written (created, not yet filled) is this young at most; older and empty, it is debris. */
const UNFILLED_GRACE_MS = 5_000;
/** Signals whose default action would end the process without an 'exit' event. */
const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Takes the lock of `runDir` (creating the folder if needed) or throws RunLockedError
 * naming the process that holds it. The lock is released by `release()`, and also
 * when the process exits (process.exit, a second Ctrl-C) or dies of a signal nobody
 * else handles.
 */
export function acquireRunLock(runDir: string, options: AcquireOptions = {}): RunLock {
  const firstCreated = writing(runDir, () => mkdirSync(runDir, { recursive: true }));
  const path = runLockPath(runDir);
  const me: RunLockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), command: options.command };
  // Two rounds: the second follows the removal of a stale lock, which another trainer may win.
  for (let round = 0; round < 2; round++) {
    const created = writing(runDir, () => {
      try {
        writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx' });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    });
    if (created) return holdLock(path, runDir, firstCreated);
    const owner = readOwner(path);
    if (owner === 'gone') continue; // released this instant: try again
    if (owner === 'unfilled') throw new RunLockedError(`${runDir} is being locked by another trainer right now`, `try again in a moment; if none is starting, delete ${path}`);
    if (owner !== 'debris' && holderIsAlive(owner)) throw lockedError(runDir, path, owner);
    options.warn?.(staleMessage(runDir, owner));
    removeIfUnchanged(path, owner);
  }
  throw new RunLockedError(`${runDir} was locked by another trainer while this one took over its stale lock`);
}

function holdLock(path: string, runDir: string, firstCreated: string | undefined): RunLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    for (const signal of FATAL_SIGNALS) process.off(signal, onSignal);
    try {
      unlinkSync(path);
    } catch {
      // Already gone (deleted by hand): nothing to release.
    }
    if (firstCreated) removeEmptyFolders(runDir, firstCreated);
  };
  // Only where no one else handles the signal (the CLI does, to stop after a checkpoint):
  // release, then die of it as the default action would.
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    process.kill(process.pid, signal);
  };
  process.on('exit', release);
  for (const signal of FATAL_SIGNALS) if (process.listenerCount(signal) === 0) process.once(signal, onSignal);
  return { path, release };
}

/**
 * A run that failed before writing anything leaves no folder behind: removes `runDir`
 * and the parents this lock created, each only while empty.
 */
function removeEmptyFolders(runDir: string, firstCreated: string): void {
  const stop = dirname(resolve(firstCreated));
  for (let dir = resolve(runDir); dir !== stop && dir !== dirname(dir); dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty: the run (or something else) wrote into it
    }
  }
}

type LockRead = RunLockOwner | 'gone' | 'unfilled' | 'debris';

/**
 * The lock's holder; 'gone' when the file was removed meanwhile; 'unfilled' for a lock
 * created an instant ago and not yet written; 'debris' for an old unreadable one.
 */
function readOwner(path: string): LockRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return 'gone';
  }
  try {
    const owner = JSON.parse(text) as RunLockOwner;
    if (Number.isInteger(owner.pid) && owner.pid > 0 && typeof owner.hostname === 'string') return owner;
  } catch {
    // fall through: empty or cut short
  }
  return ageMs(path) < UNFILLED_GRACE_MS ? 'unfilled' : 'debris';
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** A process on another host cannot be checked, so it counts as alive; here, kill(pid, 0) tells (ESRCH: gone). */
function holderIsAlive(owner: RunLockOwner): boolean {
  if (owner.hostname !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: alive, another user's
  }
}

/**
 * Removes the stale lock unless another trainer replaced it since it was read. Left
 * open: a second trainer taking over the same stale lock whose fresh lock appears in
 * the microseconds between this read and the unlink would lose it.
 */
function removeIfUnchanged(path: string, stale: RunLockOwner | 'debris'): void {
  const now = readOwner(path);
  const same = stale === 'debris' ? now === 'debris' : typeof now === 'object' && now.pid === stale.pid && now.startedAt === stale.startedAt;
  if (!same) return;
  try {
    unlinkSync(path);
  } catch {
    // Removed by the other trainer: the next round decides.
  }
}

/** Runs a file-system step of taking the lock; a failure (no permission, --out is a file) becomes one line. */
function writing<T>(runDir: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`cannot write the run folder ${runDir} (${code})`, 'choose an --out you can write to');
  }
}

function staleMessage(runDir: string, owner: RunLockOwner | 'debris'): string {
  if (owner === 'debris') return `${runDir}: removing an unreadable lock file left by a trainer that crashed`;
  return `${runDir}: taking over the lock of pid ${owner.pid} (started ${owner.startedAt}), which is no longer running`;
}

function lockedError(runDir: string, path: string, owner: RunLockOwner): RunLockedError {
  const where = owner.hostname !== hostname() ? ` on ${owner.hostname}` : '';
  const what = owner.command ? `: ${owner.command}` : '';
  return new RunLockedError(
    `${runDir} is in use by another trainer, pid ${owner.pid}${where}, since ${owner.startedAt}${what}`,
    `wait for it to finish or stop it (kill ${owner.pid}); if no such process runs, delete ${path}`,
  );
}
