import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the real `fakeface` CLI from the TypeScript sources (through tsx). */
export function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return collect(startCli(args, env));
}

/** One clear line on stderr (plus an optional hint line), no stack trace, exit code 1 or 2. */
export function expectOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(result.code === 1 || result.code === 2).toBe(true);
  const lines = result.stderr.trim().split('\n').filter((l) => !l.startsWith('  hint:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^fakeface: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}
