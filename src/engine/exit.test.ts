import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENGINE = fileURLToPath(new URL('./index.ts', import.meta.url));
const WASM_THREADS = fileURLToPath(new URL('./wasm-threads.ts', import.meta.url));

interface Outcome {
  /** Exit code, or null when we had to kill it. */
  code: number | null;
  exitedWithin: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs an ES module snippet (TypeScript imports allowed) in a fresh Node. Kills it after
 * `ms`, or `afterOutputMs` after its first line of output.
 */
function runScript(code: string, ms: number, afterOutputMs = ms): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const kill = (): boolean => child.kill('SIGKILL');
    let timer = setTimeout(kill, ms);
    child.stdout.on('data', (chunk: Buffer) => {
      if (!stdout.includes('\n') && chunk.includes('\n')) {
        clearTimeout(timer);
        timer = setTimeout(kill, afterOutputMs);
      }
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, exitedWithin: signal === null, stdout, stderr });
    });
  });
}

const THREADS = Math.max(2, Math.min(os.availableParallelism(), 4));

/** Starts threaded wasm, multiplies on all threads, prints the result; then does `after`. */
const script = (after = ''): string => `
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from ${JSON.stringify(ENGINE)};
import { wasmModule } from ${JSON.stringify(WASM_THREADS)};
const info = await initEngine({ backend: 'wasm', threads: ${THREADS} });
const product = tf.matMul(tf.ones([512, 256]), tf.ones([512, 256]), true, false).dataSync()[0];
console.log(JSON.stringify({ threads: info.threads, description: info.description, product }));
${after}
`;

describe('a process that uses threaded wasm', () => {
  it('exits by itself when its work is done, and prints nothing itself', async () => {
    const outcome = await runScript(script(), 60_000, 4_000);
    expect(outcome.exitedWithin).toBe(true);
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toEqual({
      threads: THREADS,
      description: `wasm (SIMD, ${THREADS} threads)`,
      product: 512,
    });
    expect(outcome.stderr).toBe(''); // no tfjs banner, no "already registered", no Emscripten noise
  });

  it('would hang if the pool workers kept Node alive (so the test above can fail)', async () => {
    const refAgain = `for (const worker of wasmModule().PThread.runningWorkers) worker.ref();`;
    const outcome = await runScript(script(refAgain), 60_000, 4_000);
    expect(JSON.parse(outcome.stdout).threads).toBe(THREADS); // it did its work...
    expect(outcome.exitedWithin).toBe(false); // ...and never exited: we killed it
  });

  it('exits after shutdownEngine() too', async () => {
    const outcome = await runScript(
      script(`const { shutdownEngine } = await import(${JSON.stringify(ENGINE)}); await shutdownEngine();`),
      60_000,
      4_000,
    );
    expect(outcome.exitedWithin).toBe(true);
    expect(outcome.code).toBe(0);
    expect(outcome.stderr).toBe('');
  });
});
