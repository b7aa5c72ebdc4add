/**
 * The engine: picks and starts the tfjs backend. The only module in fakeface that
 * imports a tfjs backend; everything else imports @tensorflow/tfjs-core and calls
 * initEngine() first. Prints nothing: the caller prints `description` and `reason`.
 *
 *   const engine = await initEngine({ backend: 'auto', estimatedBytes });
 *   console.log(`engine: ${engine.description} (${engine.reason})`);
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

import { UsageError, BackendUnavailableError } from '../errors.js';
import { BACKEND_NAMES, chooseBackend, chooseDetectionBackend, type BackendChoice, type BackendFacts, type BackendName, type BackendRequest } from './backend.js';
import { installLeanGradients } from './gradients.js';
import { installWasmConvGradient } from './wasm-conv.js';
import { installWasmMatMulFix } from './wasm-matmul.js';
import { ensureWasmBackend, shutdownWasm, wasmStatus } from './wasm-threads.js';
import { startWebGpu, webGpuInstalled } from './webgpu.js';

export type { BackendName, CpuBackendName, BackendRequest, BackendChoice, BackendFacts } from './backend.js';
export { chooseBackend, chooseDetectionBackend, estimateTrainingBytes, formatBytes, WASM_HEAP_LIMIT_BYTES } from './backend.js';

export interface EngineOptions {
  /** Which backend; `auto` picks the fastest that fits (see chooseBackend). @default 'auto' */
  backend?: BackendName | 'auto';
  /** Threads for wasm and native BLAS. @default os.availableParallelism() */
  threads?: number;
  /** Memory the model needs (estimateTrainingBytes); `auto` skips wasm above its heap cap. */
  estimatedBytes?: number;
  /**
   * On the cpu backend with native kernels, keep freed memory in the process instead of
   * handing each large block back to the OS (native.ts retainFreedMemory): training is
   * 5-25% faster on this kind of VM (fewer first-touch page faults); the process's RSS
   * then stays at its peak, so this is for training, not for a long-lived server.
   */
  retainFreedMemory?: boolean;
}

export interface EngineInfo {
  backend: BackendName;
  /** Threads the backend really runs on. */
  threads: number;
  /** Vector instructions in the matmul kernels (wasm SIMD, or native code). */
  simd: boolean;
  /** The cpu backend's matmuls run in the OpenBLAS addon. */
  nativeBlas: boolean;
  /** Why this backend, in words. */
  reason: string;
  /** One line for people, e.g. "wasm (SIMD, 2 threads)". */
  description: string;
}

/** Optional; never a dependency (its install downloads libtensorflow). A variable, so tsc needs no types. */
const TFJS_NODE_PACKAGE: string = '@tensorflow/tfjs-node';
/** The backend name tfjs-node registers. */
const TFJS_NODE_BACKEND = 'tensorflow';

const require = createRequire(import.meta.url);

let current: EngineInfo | undefined;
let currentKey: string | undefined;
let queue: Promise<unknown> = Promise.resolve();

type NativeModule = typeof import('./native.js');

async function loadNative(): Promise<NativeModule | null> {
  // The OpenBLAS addon is optional: the module or its build may be missing.
  return import('./native.js').catch(() => null);
}

function tfjsNodeResolvable(): boolean {
  try {
    require.resolve(TFJS_NODE_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** The cpu backend greets Node users with a "Hi, looks like you are running TensorFlow.js in Node.js" banner on first use. */
function quietCpuGreeting(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function checkOptions(opts: EngineOptions): void {
  const { backend, threads, estimatedBytes } = opts;
  if (backend !== undefined && !['auto', ...BACKEND_NAMES].includes(backend)) {
    throw new UsageError(`unknown backend "${String(backend)}"`, `choose one of auto, ${BACKEND_NAMES.join(', ')}`);
  }
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new UsageError(`threads must be a positive integer, not ${String(threads)}`);
  }
  if (estimatedBytes !== undefined && !(Number.isFinite(estimatedBytes) && estimatedBytes >= 0)) {
    throw new UsageError(`estimatedBytes must be a non-negative number, not ${String(estimatedBytes)}`);
  }
}

async function startNode(choice: BackendChoice, threads: number): Promise<EngineInfo> {
  try {
    await import(TFJS_NODE_PACKAGE);
  } catch (error) {
    throw new BackendUnavailableError(
      `@tensorflow/tfjs-node is installed but failed to load: ${(error as Error).message}`,
      'reinstall it, or use --backend wasm or --backend cpu',
    );
  }
  if (!tf.findBackendFactory(TFJS_NODE_BACKEND) || !(await tf.setBackend(TFJS_NODE_BACKEND))) {
    throw new BackendUnavailableError(
      '@tensorflow/tfjs-node loaded but its backend did not start (is its @tensorflow/tfjs-core the same version as ours?)',
      'align the @tensorflow/* versions, or use --backend wasm or --backend cpu',
    );
  }
  return {
    backend: 'node',
    threads, // TensorFlow sizes its own pools; this is what it sees
    simd: true,
    nativeBlas: false,
    reason: choice.reason,
    description: 'node (TensorFlow C library via tfjs-node)',
  };
}

async function startCpu(choice: BackendChoice, native: NativeModule | null, threads: number, retainFreedMemory = false): Promise<EngineInfo> {
  const nativeBlas = native !== null && native.registerNativeKernels('cpu');
  if (nativeBlas) native.setNativeThreads(threads);
  if (nativeBlas && retainFreedMemory) native.retainFreedMemory();
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('the cpu backend did not start');
  return {
    backend: 'cpu',
    threads: nativeBlas ? threads : 1,
    simd: nativeBlas,
    nativeBlas,
    reason: choice.reason,
    description: nativeBlas ? `cpu (native OpenBLAS, ${plural(threads, 'thread')})` : 'cpu (pure JS, 1 thread)',
  };
}

async function startWasm(choice: BackendChoice, threads: number): Promise<EngineInfo> {
  installWasmMatMulFix();
  // tfjs-wasm has no Conv2DBackpropFilter: without this no conv net trains on wasm.
  installWasmConvGradient();
  ensureWasmBackend(threads);
  if (!(await tf.setBackend('wasm'))) {
    throw new BackendUnavailableError('the wasm backend did not start', 'use --backend cpu');
  }
  const status = wasmStatus();
  if (!status) throw new BackendUnavailableError('the wasm backend started without reporting its threads');
  const simd = status.simd ? 'SIMD' : 'no SIMD';
  const note = status.note ? `; ${status.note}` : '';
  return {
    backend: 'wasm',
    threads: status.threads,
    simd: status.simd,
    nativeBlas: false,
    reason: choice.reason,
    description: `wasm (${simd}, ${plural(status.threads, 'thread')}${note})`,
  };
}

async function startWebGpuEngine(choice: BackendChoice, threads: number): Promise<EngineInfo> {
  const gpu = await startWebGpu();
  return {
    backend: 'webgpu',
    threads,
    simd: false,
    nativeBlas: false,
    reason: gpu.software ? `${choice.reason}; a software GPU: correct, not fast` : choice.reason,
    description: `webgpu (${gpu.adapter})`,
  };
}

async function start(opts: EngineOptions): Promise<EngineInfo> {
  checkOptions(opts);
  installLeanGradients();
  const requested = opts.backend ?? 'auto';
  const threads = opts.threads ?? os.availableParallelism();
  const native = await loadNative();
  const facts: BackendFacts = {
    requested,
    tfjsNodeAvailable: tfjsNodeResolvable(),
    nativeBlas: native?.nativeBlasAvailable() ?? false,
    webgpuInstalled: opts.backend === 'webgpu' && webGpuInstalled(),
    estimatedBytes: opts.estimatedBytes,
  };
  let choice = chooseBackend(facts);

  const key = JSON.stringify([choice.backend, threads]);
  const activeName = choice.backend === 'node' ? TFJS_NODE_BACKEND : choice.backend;
  if (current && key === currentKey && tf.getBackend() === activeName) {
    current = { ...current, reason: choice.reason };
    return current;
  }

  quietCpuGreeting();
  let info: EngineInfo;
  if (choice.backend === 'node') {
    try {
      info = await startNode(choice, threads);
    } catch (error) {
      if (requested === 'node') throw error;
      // auto: tfjs-node resolves but does not load; take the next choice.
      choice = chooseBackend({ ...facts, tfjsNodeAvailable: false });
      choice = { ...choice, reason: `${choice.reason} (tfjs-node failed to load)` };
      info = choice.backend === 'wasm' ? await startWasm(choice, threads) : await startCpu(choice, native, threads, opts.retainFreedMemory);
    }
  } else if (choice.backend === 'cpu') {
    info = await startCpu(choice, native, threads, opts.retainFreedMemory);
    if (facts.nativeBlas && !info.nativeBlas) {
      // The addon loads but its kernels did not register: decide as if it were absent.
      choice = chooseBackend({ ...facts, nativeBlas: false });
      if (choice.backend === 'wasm') info = await startWasm(choice, threads);
      else info = { ...info, reason: choice.reason };
    }
  } else if (choice.backend === 'webgpu') {
    info = await startWebGpuEngine(choice, threads);
  } else {
    info = await startWasm(choice, threads);
  }
  current = info;
  currentKey = JSON.stringify([info.backend, threads]);
  return info;
}

/**
 * Picks and starts the backend. Calling it again with the same choice returns the same
 * info; a different backend (or thread count) switches. Concurrent calls run in turn.
 * Throws BackendUnavailableError when an explicit backend cannot run here, UsageError
 * for bad options.
 */
export function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const run = queue.catch(() => undefined).then(() => start(opts));
  queue = run;
  return run;
}

/**
 * The backend detection runs on (chooseDetectionBackend): the native cpu backend where
 * the addon has the detection kernels, else wasm; an explicit request wins.
 */
export async function detectionBackend(requested?: BackendRequest): Promise<BackendChoice> {
  const native = await loadNative();
  return chooseDetectionBackend({ requested, nativeDetectionKernels: native?.nativeDetectionKernelsAvailable() ?? false });
}

/**
 * Starts the engine detection runs on (detectionBackend), keeping a running one that is
 * already that backend (and its threads) when no threads are asked for. Where the cpu
 * backend starts without its native kernels after all, detection goes to wasm.
 */
export async function initDetectionEngine(opts: { backend?: BackendRequest; threads?: number } = {}): Promise<EngineInfo> {
  const choice = await detectionBackend(opts.backend);
  const running = current;
  if (opts.threads === undefined && running?.backend === choice.backend && tf.getBackend() === (choice.backend === 'node' ? TFJS_NODE_BACKEND : choice.backend)) return running;
  const engine = await initEngine({ backend: choice.backend, threads: opts.threads });
  if (opts.backend !== undefined && opts.backend !== 'auto') return engine;
  if (engine.backend === 'cpu' && !engine.nativeBlas) {
    const wasm = await initEngine({ backend: 'wasm', threads: opts.threads });
    return (current = { ...wasm, reason: 'detection: the native kernels did not register' });
  }
  return (current = { ...engine, reason: `detection: ${choice.reason}` });
}

/** The engine initEngine() started last, if any. */
export function currentEngine(): EngineInfo | undefined {
  return current;
}

/**
 * Disposes the wasm backend and its pthread workers (they are unref'd and never keep
 * Node alive, so this is for freeing resources early, not for exiting). Tensors on
 * the wasm backend are lost; initEngine() starts afresh afterwards.
 */
export async function shutdownEngine(): Promise<void> {
  await queue.catch(() => undefined);
  shutdownWasm();
  current = undefined;
  currentKey = undefined;
}
