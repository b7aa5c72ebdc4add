/**
 * The server's model workers (src/server/model-pool.ts): errors keep their class
 * across the thread boundary, a crashed worker fails its task with one line and is
 * replaced, progress arrives while the task runs, cancel stops a task that would
 * not stop by itself, and the main thread's event loop stays free meanwhile.
 * The pool logic runs against a stand-in worker (plain JS, the same messages);
 * one test starts the real model worker.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CancelledError, ImageDecodeError, RunNotFoundError } from '../src/errors.js';
import { HttpError, toHttpResponse } from '../src/server/http-error.js';
import { ModelPool } from '../src/server/model-pool.js';
import { deserializeError, serializeError } from '../src/server/worker-errors.js';

const silent = () => undefined;

/** A stand-in worker: "crash" exits, "slow" reports progress then answers, "hang" never answers, "block" keeps its own thread busy. */
const STAND_IN = `
const { parentPort, threadId } = require('node:worker_threads');
parentPort.postMessage({ type: 'ready', engine: { description: 'stand-in' }, detection: { available: true, reason: null } });
parentPort.on('message', (m) => {
  if (m.type !== 'run') return;
  const file = m.task.file;
  if (file === 'crash') process.exit(3);
  if (file === 'hang') return;
  if (file === 'block') {
    const end = Date.now() + 1500;
    while (Date.now() < end);
    return parentPort.postMessage({ type: 'done', id: m.id, result: { threadId } });
  }
  if (file === 'fail') return parentPort.postMessage({ type: 'failed', id: m.id, error: { name: 'ImageDecodeError', message: 'x.jpg: truncated', fields: { file: 'x.jpg', problem: 'truncated' } } });
  for (let i = 1; i <= 3; i++) setTimeout(() => parentPort.postMessage({ type: 'progress', id: m.id, done: i, total: 3 }), i * 30);
  setTimeout(() => parentPort.postMessage({ type: 'done', id: m.id, result: { threadId } }), 150);
});`;
const standIn = (options: WorkerOptions) => new Worker(STAND_IN, { ...options, eval: true });
const image = (file: string) => ({ kind: 'detect-image' as const, file, opts: {} });

describe('errors across the worker boundary', () => {
  it('come back with their class, message and fields, so the server answers as before', () => {
    const decode = deserializeError(serializeError(new ImageDecodeError('/tmp/upload-1.jpg', 'truncated JPEG')));
    expect(decode).toBeInstanceOf(ImageDecodeError);
    expect(decode.message).toBe('/tmp/upload-1.jpg: truncated JPEG');
    expect(toHttpResponse(decode)).toMatchObject({ status: 422, body: { error: 'truncated JPEG' } });
    const http = deserializeError(serializeError(new HttpError(503, 'busy', 'later', { 'Retry-After': '3' })));
    expect(toHttpResponse(http)).toEqual({ status: 503, body: { error: 'busy', hint: 'later' }, headers: { 'Retry-After': '3' } });
    const plain = deserializeError(serializeError(new TypeError('x is undefined')));
    expect(plain).not.toBeInstanceOf(HttpError);
    expect(toHttpResponse(plain).status).toBe(500);
  });
});

describe('the model pool', () => {
  it('runs tasks on its workers, with progress, and rebuilds their errors', async () => {
    const pool = new ModelPool(2, { backend: 'wasm', threads: 1 }, silent, { spawn: standIn });
    try {
      expect((await pool.start()).engine.description).toBe('stand-in');
      const progress: number[] = [];
      const results = await Promise.all([pool.run(image('a'), { onProgress: (done) => progress.push(done) }), pool.run(image('b'))]);
      expect(progress).toEqual([1, 2, 3]);
      // Two tasks at once: two workers.
      expect(new Set(results.map((r) => (r as unknown as { threadId: number }).threadId)).size).toBe(2);
      await expect(pool.run(image('fail'))).rejects.toBeInstanceOf(ImageDecodeError);
    } finally {
      await pool.close();
    }
  });

  it('fails the task of a crashed worker with one line and replaces the worker', async () => {
    const logged: string[] = [];
    const pool = new ModelPool(1, { backend: 'wasm', threads: 1 }, (m) => logged.push(m), { spawn: standIn });
    try {
      await pool.start();
      const crashed = await pool.run(image('crash')).catch((error: unknown) => error);
      expect(crashed).toBeInstanceOf(HttpError);
      expect(toHttpResponse(crashed).status).toBe(500);
      expect((crashed as Error).message).toBe('the model worker stopped (exit code 3) while checking this image; a new one has been started: try again');
      expect(logged.join('\n')).toMatch(/model worker stopped \(exit code 3\)/);
      // The next task gets a fresh worker.
      await expect(pool.run(image('a'))).resolves.toMatchObject({ threadId: expect.any(Number) });
    } finally {
      await pool.close();
    }
  });

  it('cancels a waiting task at once and a running one that ignores it by terminating its worker', async () => {
    const pool = new ModelPool(1, { backend: 'wasm', threads: 1 }, silent, { spawn: standIn, cancelGraceMs: 200 });
    try {
      await pool.start();
      const running = new AbortController();
      const waiting = new AbortController();
      const hung = pool.run(image('hang'), { signal: running.signal }).catch((error: unknown) => error);
      const queued = pool.run(image('a'), { signal: waiting.signal }).catch((error: unknown) => error);
      waiting.abort();
      expect(await queued).toBeInstanceOf(CancelledError);
      const started = performance.now();
      running.abort();
      expect(await hung).toBeInstanceOf(CancelledError);
      expect(performance.now() - started).toBeLessThan(3000);
      await expect(pool.run(image('a'))).resolves.toBeTruthy();
    } finally {
      await pool.close();
    }
  });

  it('keeps this thread free while a worker computes', async () => {
    const pool = new ModelPool(1, { backend: 'wasm', threads: 1 }, silent, { spawn: standIn });
    try {
      await pool.start();
      const task = pool.run(image('block'));
      let worst = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }, 10);
      await task;
      clearInterval(timer);
      // The worker's thread was busy for 1.5 s; this one never waited much longer than its 10 ms timer.
      expect(worst).toBeLessThan(200);
    } finally {
      await pool.close();
    }
  });

  it('starts the real model worker: its engine, and a library error with its class', async () => {
    const pool = new ModelPool(1, { backend: 'wasm', threads: 1 }, silent);
    try {
      const { engine, detection } = await pool.start();
      expect(engine.backend).toBe('wasm');
      expect(typeof detection.available).toBe('boolean');
      const error = await pool.run({ kind: 'generate-grid', runDir: '/nonexistent/run', count: 1, seed: 1, padding: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunNotFoundError);
      expect((error as Error).message).toMatch(/\/nonexistent\/run/);
    } finally {
      await pool.close();
    }
  });
});
