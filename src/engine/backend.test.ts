import { describe, expect, it } from 'vitest';

import { BackendUnavailableError } from '../errors.js';
import {
  chooseBackend,
  chooseDetectionBackend,
  estimateTrainingBytes,
  formatBytes,
  WASM_HEAP_LIMIT_BYTES,
  type BackendFacts,
  type BackendRequest,
} from './backend.js';

const SMALL = 200e6; // fits the wasm heap
const HUGE = 6.1e9; // the paper's MLP GAN with Adam does not

/**
 * Every combination of the four facts, with the answer written out by hand:
 * requested x tfjs-node x native BLAS x model size.
 */
type Expected = 'node' | 'wasm' | 'cpu' | 'throws';
const table: Array<[BackendRequest, boolean, boolean, number | undefined, Expected]> = [];
const sizes = [undefined, SMALL, HUGE] as const;
for (const size of sizes) {
  const big = size === HUGE;
  // auto: tfjs-node > native BLAS cpu > wasm (if it fits) > cpu
  table.push(['auto', true, true, size, 'node']);
  table.push(['auto', true, false, size, 'node']);
  table.push(['auto', false, true, size, 'cpu']);
  table.push(['auto', false, false, size, big ? 'cpu' : 'wasm']);
  // explicit node: only when installed
  table.push(['node', true, true, size, 'node']);
  table.push(['node', true, false, size, 'node']);
  table.push(['node', false, true, size, 'throws']);
  table.push(['node', false, false, size, 'throws']);
  // explicit wasm: refused above the heap cap, whatever else is there
  for (const tfjsNode of [true, false]) {
    for (const native of [true, false]) table.push(['wasm', tfjsNode, native, size, big ? 'throws' : 'wasm']);
  }
  // explicit cpu: always
  for (const tfjsNode of [true, false]) {
    for (const native of [true, false]) table.push(['cpu', tfjsNode, native, size, 'cpu']);
  }
}

describe('chooseBackend', () => {
  it('covers all 48 combinations', () => {
    expect(table).toHaveLength(4 * 2 * 2 * 3);
  });

  it('webgpu: only when asked for, and only with its packages installed', () => {
    for (const size of sizes) {
      const facts = { tfjsNodeAvailable: true, nativeBlas: true, estimatedBytes: size };
      expect(chooseBackend({ ...facts, requested: 'webgpu', webgpuInstalled: true }).backend).toBe('webgpu');
      expect(() => chooseBackend({ ...facts, requested: 'webgpu', webgpuInstalled: false })).toThrow(/npm install webgpu @tensorflow\/tfjs-backend-webgpu|not installed/);
      // auto never lands on it: whether Dawn has a real GPU is only known once it starts.
      expect(chooseBackend({ ...facts, requested: 'auto', webgpuInstalled: true }).backend).not.toBe('webgpu');
    }
  });

  it.each(table)('requested %s, tfjs-node %s, native BLAS %s, %s bytes -> %s', (requested, tfjsNode, native, bytes, expected) => {
    const facts: BackendFacts = { requested, tfjsNodeAvailable: tfjsNode, nativeBlas: native, estimatedBytes: bytes };
    if (expected === 'throws') {
      expect(() => chooseBackend(facts)).toThrow(BackendUnavailableError);
    } else {
      const choice = chooseBackend(facts);
      expect(choice.backend).toBe(expected);
      expect(choice.reason.length).toBeGreaterThan(10);
    }
  });

  it('says in words why auto skipped wasm', () => {
    const choice = chooseBackend({ requested: 'auto', tfjsNodeAvailable: false, nativeBlas: false, estimatedBytes: HUGE });
    expect(choice.reason).toBe('model needs ~6.1 GB, above the wasm heap cap of 4 GB');
  });

  it('says why auto took the native cpu path and tfjs-node', () => {
    expect(chooseBackend({ requested: 'auto', tfjsNodeAvailable: false, nativeBlas: true }).reason).toMatch(/native BLAS/);
    expect(chooseBackend({ requested: 'auto', tfjsNodeAvailable: true, nativeBlas: true }).reason).toMatch(/tfjs-node/);
  });

  it('treats the cap as inclusive: exactly at the cap still runs on wasm', () => {
    const at = chooseBackend({ requested: 'auto', tfjsNodeAvailable: false, nativeBlas: false, estimatedBytes: WASM_HEAP_LIMIT_BYTES });
    expect(at.backend).toBe('wasm');
    const above = chooseBackend({ requested: 'auto', tfjsNodeAvailable: false, nativeBlas: false, estimatedBytes: WASM_HEAP_LIMIT_BYTES + 1 });
    expect(above.backend).toBe('cpu');
  });

  it('explains a missing tfjs-node with an install hint', () => {
    try {
      chooseBackend({ requested: 'node', tfjsNodeAvailable: false, nativeBlas: false });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as BackendUnavailableError).message).toMatch(/@tensorflow\/tfjs-node/);
      expect((error as BackendUnavailableError).hint).toMatch(/npm install @tensorflow\/tfjs-node/);
    }
  });

  it('refuses wasm for a model above the heap cap and suggests --backend cpu', () => {
    try {
      chooseBackend({ requested: 'wasm', tfjsNodeAvailable: false, nativeBlas: false, estimatedBytes: HUGE });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as BackendUnavailableError).message).toMatch(/6\.1 GB.*4 GB/);
      expect((error as BackendUnavailableError).hint).toMatch(/--backend cpu/);
    }
  });

  it('rejects an unknown backend name', () => {
    expect(() =>
      chooseBackend({ requested: 'webgl' as BackendRequest, tfjsNodeAvailable: false, nativeBlas: false }),
    ).toThrow(/unknown backend "webgl"/);
  });
});

describe('estimateTrainingBytes', () => {
  it('counts 18 floats per parameter (weights, gradients, 2 Adam moments, 14 temporaries) plus activations', () => {
    expect(estimateTrainingBytes(1, 0)).toBe(72);
    expect(estimateTrainingBytes(0, 1)).toBe(4);
    expect(estimateTrainingBytes(1000, 500)).toBe(72_000 + 2_000);
  });

  it("puts the paper's MLP GAN (91 M + 45 M parameters) above the wasm cap and a small DCGAN below it", () => {
    expect(estimateTrainingBytes(136e6, 0)).toBeGreaterThan(WASM_HEAP_LIMIT_BYTES);
    expect(estimateTrainingBytes(3.5e6, 64 * 2e6)).toBeLessThan(WASM_HEAP_LIMIT_BYTES);
  });

  it('ignores negative counts', () => {
    expect(estimateTrainingBytes(-5, -5)).toBe(0);
  });
});

describe('formatBytes', () => {
  it('writes decimal units', () => {
    expect(formatBytes(6.1e9)).toBe('6.1 GB');
    expect(formatBytes(850e6)).toBe('850 MB');
    expect(formatBytes(12_000)).toBe('12 kB');
  });
});

describe('chooseDetectionBackend', () => {
  it('runs detection on the native cpu backend where the addon has its kernels, else on wasm', () => {
    for (const requested of [undefined, 'auto'] as const) {
      expect(chooseDetectionBackend({ requested, nativeDetectionKernels: true }).backend).toBe('cpu');
      expect(chooseDetectionBackend({ requested, nativeDetectionKernels: false }).backend).toBe('wasm');
    }
  });
  it('takes an explicit backend as asked', () => {
    for (const requested of ['wasm', 'cpu', 'node'] as const) {
      for (const nativeDetectionKernels of [true, false]) {
        const choice = chooseDetectionBackend({ requested, nativeDetectionKernels });
        expect(choice.backend).toBe(requested);
        expect(choice.reason).toContain(`--backend ${requested}`);
      }
    }
  });
});
