import { createRequire } from 'node:module';

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { BackendUnavailableError, UsageError } from '../errors.js';
import {
  WASM_HEAP_LIMIT_BYTES,
  currentEngine,
  estimateTrainingBytes,
  initEngine,
  shutdownEngine,
  type EngineInfo,
} from './index.js';
import { nativeBlasAvailable } from './native.js';

const tfjsNodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();
const native = nativeBlasAvailable();
const HUGE = estimateTrainingBytes(136e6, 0); // the paper's MLP GAN with Adam

/** Fails the test if the library writes to the console. */
let consoleCalls: unknown[][] = [];
beforeEach(() => {
  consoleCalls = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleCalls.push([method, ...args]));
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(consoleCalls).toEqual([]);
});
afterAll(async () => {
  await shutdownEngine();
});

describe('initEngine', () => {
  it.skipIf(tfjsNodeInstalled)('refuses --backend node without @tensorflow/tfjs-node, with an install hint', async () => {
    const error = await initEngine({ backend: 'node' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).hint).toMatch(/npm install @tensorflow\/tfjs-node/);
  });

  it('refuses --backend wasm for a model above the heap cap, suggesting --backend cpu', async () => {
    const error = await initEngine({ backend: 'wasm', estimatedBytes: HUGE }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).message).toMatch(/above the wasm heap cap of 4 GB/);
    expect((error as BackendUnavailableError).hint).toMatch(/--backend cpu/);
  });

  it('rejects bad options', async () => {
    await expect(initEngine({ threads: 0 })).rejects.toThrow(UsageError);
    await expect(initEngine({ threads: 1.5 })).rejects.toThrow(UsageError);
    await expect(initEngine({ backend: 'webgl' as 'wasm' })).rejects.toThrow(/unknown backend "webgl"/);
    await expect(initEngine({ estimatedBytes: -1 })).rejects.toThrow(UsageError);
  });

  it.skipIf(tfjsNodeInstalled)('auto without tfjs-node: native cpu if built, else wasm', async () => {
    const info = await initEngine({ backend: 'auto', threads: 2, estimatedBytes: 100e6 });
    expect(tf.getBackend()).toBe(info.backend);
    if (native) {
      expect(info).toMatchObject({ backend: 'cpu', nativeBlas: true });
      expect(info.reason).toMatch(/native BLAS/);
    } else {
      expect(info).toMatchObject({ backend: 'wasm', threads: 2, simd: true, nativeBlas: false });
      expect(info.reason).toBe('no tfjs-node and no native BLAS addon; model needs ~100 MB, within the wasm heap cap');
    }
    expect(currentEngine()).toEqual(info);
  });

  it.skipIf(tfjsNodeInstalled)('auto skips wasm for a model above its heap cap', async () => {
    expect(HUGE).toBeGreaterThan(WASM_HEAP_LIMIT_BYTES);
    const info = await initEngine({ estimatedBytes: HUGE });
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    if (!native) {
      expect(info.reason).toMatch(/^model needs ~\d+\.\d GB, above the wasm heap cap of 4 GB$/);
      expect(info.description).toBe('cpu (pure JS, 1 thread)');
    }
  });

  it('returns the same info for the same choice, without restarting the backend', async () => {
    const first = await initEngine({ backend: 'wasm', threads: 2 });
    const instance = tf.engine().registry.wasm;
    const second = await initEngine({ backend: 'wasm', threads: 2 });
    expect(second).toEqual(first);
    expect(tf.engine().registry.wasm).toBe(instance);
  });

  it('switches backend when asked for another, keeping tensors usable', async () => {
    const wasm = await initEngine({ backend: 'wasm', threads: 2 });
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const cpu: EngineInfo = await initEngine({ backend: 'cpu' });
    expect(cpu.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(cpu.nativeBlas).toBe(native);
    expect(Array.from(tf.matMul(x, x).dataSync())).toEqual([7, 10, 15, 22]);
    const back = await initEngine({ backend: 'wasm', threads: 2 });
    expect(tf.getBackend()).toBe('wasm');
    expect(back.description).toBe(wasm.description);
    expect(Array.from(tf.matMul(x, x, true, false).dataSync())).toEqual([10, 14, 14, 20]);
    x.dispose();
  });

  it('serializes concurrent calls', async () => {
    const [a, b] = await Promise.all([initEngine({ backend: 'cpu' }), initEngine({ backend: 'wasm', threads: 2 })]);
    expect(a.backend).toBe('cpu');
    expect(b.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(currentEngine()).toEqual(b);
  });

  it('starts afresh after shutdownEngine()', async () => {
    await initEngine({ backend: 'wasm', threads: 2 });
    await shutdownEngine();
    expect(currentEngine()).toBeUndefined();
    const info = await initEngine({ backend: 'wasm', threads: 2 });
    expect(info.threads).toBe(2);
    expect(tf.tidy(() => tf.sum(tf.ones([10])).dataSync()[0])).toBe(10);
  });
});
