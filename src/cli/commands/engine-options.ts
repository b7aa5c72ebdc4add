import type { Command } from 'commander';
import type { BackendName, EngineOptions } from '../../engine/index.js';
import { UsageError } from '../../errors.js';

const BACKENDS = ['auto', 'node', 'wasm', 'cpu'];

export function withEngineOptions(command: Command): Command {
  return command
    .option('--backend <name>', `tfjs backend: ${BACKENDS.join(', ')} (default auto)`)
    .option('--threads <n>', 'CPU threads (default: all cores)');
}

export function engineOptions(opts: Record<string, unknown>): EngineOptions {
  const backend = (opts.backend as string | undefined) ?? 'auto';
  if (!BACKENDS.includes(backend)) throw new UsageError(`unknown backend "${backend}"`, `choose one of ${BACKENDS.join(', ')}`);
  let threads: number | undefined;
  if (opts.threads !== undefined) {
    threads = Number(opts.threads);
    if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads must be a positive integer, not "${String(opts.threads)}"`);
  }
  return { backend: backend as BackendName | 'auto', threads };
}
