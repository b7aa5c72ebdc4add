import type { Command } from 'commander';
import type { BackendName, CpuBackendName, EngineOptions } from '../../engine/index.js';
import { UsageError } from '../../errors.js';

const BACKENDS = ['auto', 'node', 'wasm', 'cpu'];
/** Training reads its metrics asynchronously, so it alone runs on the GPU backend. */
const TRAINING_BACKENDS = [...BACKENDS, 'webgpu'];

export function withEngineOptions(command: Command, { gpu = false } = {}): Command {
  const names = gpu ? TRAINING_BACKENDS : BACKENDS;
  const note = gpu ? '; webgpu: the GPU through Dawn (optional packages webgpu, @tensorflow/tfjs-backend-webgpu)' : '';
  return command
    .option('--backend <name>', `tfjs backend: ${names.join(', ')} (default auto${note})`)
    .option('--threads <n>', 'CPU threads (default: all cores)');
}

/** engineOptions for commands that read tensors synchronously (never webgpu). */
export function cpuEngineOptions(opts: Record<string, unknown>): EngineOptions & { backend: CpuBackendName | 'auto' } {
  return engineOptions(opts) as EngineOptions & { backend: CpuBackendName | 'auto' };
}

export function engineOptions(opts: Record<string, unknown>, { gpu = false } = {}): EngineOptions {
  const backend = (opts.backend as string | undefined) ?? 'auto';
  const names = gpu ? TRAINING_BACKENDS : BACKENDS;
  if (!names.includes(backend)) throw new UsageError(`unknown backend "${backend}"`, `choose one of ${names.join(', ')}`);
  let threads: number | undefined;
  if (opts.threads !== undefined) {
    threads = Number(opts.threads);
    if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads must be a positive integer, not "${String(opts.threads)}"`);
  }
  return { backend: backend as BackendName | 'auto', threads };
}
