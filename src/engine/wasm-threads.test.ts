import * as fs from 'node:fs';
import * as os from 'node:os';

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';

import { initEngine, shutdownEngine } from './index.js';
import { WASM_MAX_THREADS, wasmModule, workerScriptPath } from './wasm-threads.js';

const cores = os.availableParallelism();
const linux = process.platform === 'linux' && fs.existsSync('/proc/self/task');

/** CPU ticks (user + system) of each thread of this process, from /proc/self/task/<tid>/stat. */
function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
      ticks.set(tid, Number(fields[11]) + Number(fields[12])); // #14 utime, #15 stime
    } catch {
      // the thread ended meanwhile
    }
  }
  return ticks;
}

/**
 * Runs large matmuls and returns how many OS threads did a real share (>= 15%) of the
 * CPU work: XNNPACK's pool threads are worker_threads, so each is its own OS thread.
 */
function threadsDoingTheWork(): number {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  tf.matMul(a, b).dispose();
  const before = threadTicks();
  for (let i = 0; i < 6; i++) {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  }
  const after = threadTicks();
  tf.dispose([a, b]);
  const deltas = [...after].map(([tid, t]) => t - (before.get(tid) ?? 0));
  const total = deltas.reduce((x, y) => x + y, 0);
  return deltas.filter((d) => d >= 0.15 * total).length;
}

afterAll(async () => {
  await shutdownEngine();
});

describe('wasm with SIMD and threads in Node', () => {
  it.runIf(cores >= 2)('uses all logical cores by default, and reports SIMD and the real thread count', async () => {
    const info = await initEngine({ backend: 'wasm' });
    const expected = Math.min(cores, WASM_MAX_THREADS);
    expect(info.backend).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(expected);
    expect(info.threads).toBeGreaterThan(1);
    expect(info.description).toBe(`wasm (SIMD, ${expected} threads)`);
    // XNNPACK's pool: the main thread plus threads - 1 running Emscripten pthreads.
    expect(wasmModule()?.PThread?.runningWorkers).toHaveLength(expected - 1);
    // Emscripten's spare workers (it starts 8) are gone.
    expect(wasmModule()?.PThread?.unusedWorkers).toHaveLength(0);
  });

  it.runIf(linux && cores >= 2)('really spreads a matmul over 2 OS threads', async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    expect(threadsDoingTheWork()).toBeGreaterThanOrEqual(2);
  });

  it.runIf(linux)('runs on one OS thread when asked for one (the measure above can tell)', async () => {
    const info = await initEngine({ backend: 'wasm', threads: 1 });
    expect(info.threads).toBe(1);
    expect(info.description).toBe('wasm (SIMD, 1 thread)');
    expect(threadsDoingTheWork()).toBe(1);
  });

  it('lifts the half-the-cores cap of tfjs: 3 threads are 3, even on 2 cores', async () => {
    const info = await initEngine({ backend: 'wasm', threads: 3 });
    expect(info.threads).toBe(3);
    expect(wasmModule()?.PThread?.runningWorkers).toHaveLength(2);
    const product = tf.tidy(() => tf.matMul(tf.ones([64, 32]), tf.ones([32, 16])).dataSync()[0]);
    expect(product).toBe(32);
  });

  it('caps at the 8 threads of the Emscripten pool and says so', async () => {
    const info = await initEngine({ backend: 'wasm', threads: 12 });
    expect(info.threads).toBe(WASM_MAX_THREADS);
    expect(info.description).toBe(`wasm (SIMD, 8 threads; wasm uses at most 8 threads)`);
  });

  it('falls back to single-threaded SIMD, and says why, when the threaded build cannot start', async () => {
    const tmpdir = process.env.TMPDIR;
    process.env.TMPDIR = '/proc/fakeface-no-such-dir'; // the worker script cannot be written there
    try {
      const info = await initEngine({ backend: 'wasm', threads: 2 });
      expect(info.threads).toBe(1);
      expect(info.simd).toBe(true);
      expect(info.description).toMatch(/^wasm \(SIMD, 1 thread; threads unavailable: .+\)$/);
      expect(tf.tidy(() => tf.matMul(tf.ones([8, 4]), tf.ones([4, 2])).dataSync()[0])).toBe(4);
    } finally {
      if (tmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdir;
    }
  });

  it('leaves no Emscripten process listeners behind', async () => {
    const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    await initEngine({ backend: 'wasm', threads: 3 });
    await initEngine({ backend: 'wasm', threads: 2 });
    expect(wasmModule()?.PThread?.runningWorkers).toHaveLength(1);
    expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(before);
  });

  it('writes the pthread worker script to a real .cjs file, once', () => {
    const file = workerScriptPath();
    expect(file).toMatch(/\.cjs$/);
    expect(fs.readFileSync(file, 'utf8')).toContain('worker_threads');
    const { mtimeMs } = fs.statSync(file);
    expect(workerScriptPath()).toBe(file);
    expect(fs.statSync(file).mtimeMs).toBe(mtimeMs);
  });
});
