import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../data/index.js';
import type { StepMetrics } from './step.js';

/**
 * One training run on disk:
 *   config.json     the resolved config
 *   data.json       the data folder it trains on ({dir}, absolute), so --resume needs only the run
 *   state.json      status, iteration, stop reason, engine
 *   metrics.jsonl   one line per iteration
 *   samples/        fixed-noise grids, step_000500.png …
 *   checkpoints/    step_000500/ … (each complete, renamed into place) + latest.json
 *   commands.txt    the command lines that started and resumed it, one a line, with the time
 *   .lock           while a trainer writes it: that trainer's pid, host and start (run-lock.ts)
 */
export const runPaths = (dir: string) => ({
  dir,
  config: join(dir, 'config.json'),
  data: join(dir, 'data.json'),
  state: join(dir, 'state.json'),
  metrics: join(dir, 'metrics.jsonl'),
  samples: join(dir, 'samples'),
  checkpoints: join(dir, 'checkpoints'),
  commands: join(dir, 'commands.txt'),
});

/** Records the command line that (re)started a run. */
export async function recordRunCommand(dir: string, commandLine: string): Promise<void> {
  await appendFile(runPaths(dir).commands, `${new Date().toISOString()} ${commandLine.replace(/\s+/g, ' ')}\n`);
}

/** The command lines recorded in a run folder, oldest first (empty for runs that recorded none). */
export async function readRunCommands(dir: string): Promise<string[]> {
  const text = await readFile(runPaths(dir).commands, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.trim() !== '');
}

export type RunStatus = 'running' | 'finished' | 'interrupted' | 'stopped-early' | 'failed';

export interface RunState {
  status: RunStatus;
  iteration: number;
  iterations: number;
  updatedAt: string;
  stopReason: string | null;
  engine: string;
}

/** One line of metrics.jsonl. `ms` is wall time of the iteration. */
export interface MetricsRecord extends StepMetrics {
  iteration: number;
  ms: number;
  [extra: string]: number;
}

/** Where a run's images come from. */
export interface RunData {
  /** The data folder, absolute. */
  dir: string;
}

export async function writeRunData(dir: string, data: RunData): Promise<void> {
  await writeFileAtomic(runPaths(dir).data, JSON.stringify(data, null, 2) + '\n');
}

/** The run's recorded data folder, or null for runs that recorded none (started by an older fakeface). */
export async function readRunData(dir: string): Promise<RunData | null> {
  try {
    const data = JSON.parse(await readFile(runPaths(dir).data, 'utf8')) as Partial<RunData>;
    return typeof data.dir === 'string' && data.dir !== '' ? { dir: data.dir } : null;
  } catch {
    return null;
  }
}

export async function writeRunState(dir: string, state: RunState): Promise<void> {
  await writeFileAtomic(runPaths(dir).state, JSON.stringify(state, null, 2) + '\n');
}

export async function readRunState(dir: string): Promise<RunState | null> {
  try {
    return JSON.parse(await readFile(runPaths(dir).state, 'utf8')) as RunState;
  } catch {
    return null;
  }
}

export async function appendMetrics(dir: string, records: MetricsRecord[]): Promise<void> {
  if (records.length === 0) return;
  await appendFile(runPaths(dir).metrics, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

export async function readMetrics(dir: string): Promise<MetricsRecord[]> {
  let text: string;
  try {
    text = await readFile(runPaths(dir).metrics, 'utf8');
  } catch {
    return [];
  }
  const records: MetricsRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as MetricsRecord);
    } catch {
      // A line cut short by a crash mid-write: ignore it.
    }
  }
  return records;
}

/**
 * On resume, drops metric lines logged after the checkpoint (the iterations
 * that will be run again) and any line cut short by a crash.
 */
export async function truncateMetrics(dir: string, lastIteration: number): Promise<void> {
  const kept = (await readMetrics(dir)).filter((r) => r.iteration <= lastIteration);
  await writeFileAtomic(runPaths(dir).metrics, kept.map((r) => JSON.stringify(r) + '\n').join(''));
}

export function isRunFolder(dir: string): boolean {
  return existsSync(runPaths(dir).config);
}

/** Run folders directly inside `root` (those holding a config.json). */
export async function listRunFolders(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && isRunFolder(join(root, e.name)))
    .map((e) => join(root, e.name))
    .sort();
}

export async function ensureRunFolders(dir: string): Promise<void> {
  const paths = runPaths(dir);
  await mkdir(paths.samples, { recursive: true });
  await mkdir(paths.checkpoints, { recursive: true });
}

export function stepName(iteration: number): string {
  return `step_${String(iteration).padStart(6, '0')}`;
}

/** writeFileAtomic's temporary files: `.NAME.PID.HEX.tmp`. */
const ATOMIC_TEMP_FILE = /^\..+\.\d+\.[0-9a-f]+\.tmp$/;

/**
 * Removes what a trainer killed mid-write left behind: writeFileAtomic's temporary
 * files in the run folder, samples/ and checkpoints/, unfinished checkpoint folders
 * (checkpoints/.tmp-*) and half-removed ones (step_* without checkpoint.json). Called with the run's lock held, so no live trainer writes them.
 * Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const paths = runPaths(dir);
  const removed: string[] = [];
  for (const folder of [paths.dir, paths.samples, paths.checkpoints]) {
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      const inCheckpoints = folder === paths.checkpoints;
      // A checkpoint folder without checkpoint.json is one a kill caught while it was being removed.
      const debris = inCheckpoints && (name.startsWith('.tmp-') || (/^step_\d+$/.test(name) && !existsSync(join(folder, name, 'checkpoint.json'))));
      if (!ATOMIC_TEMP_FILE.test(name) && !debris) continue;
      await rm(join(folder, name), { recursive: true, force: true });
      removed.push(join(folder, name));
    }
  }
  return removed;
}
