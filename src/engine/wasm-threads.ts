/**
 * Loads the tfjs wasm backend with SIMD and real threads in Node.
 *
 * Stock tfjs-backend-wasm runs one thread in Node: its WASM_HAS_MULTITHREAD_SUPPORT
 * flag is hard-coded false there (tfjs issue #3830), it hands Emscripten's pthread
 * worker script to worker_threads as a `blob:` URL (Node cannot load one), and its C
 * side caps the XNNPACK pool at half the logical cores. So we instantiate the
 * Emscripten module ourselves and give tfjs's own BackendWasm class the result:
 *
 *  - the worker script is written to a real file (worker_threads needs a path), and
 *    the main script the workers import is the package's own wasm-out file;
 *  - `emscripten_num_logical_cores` is answered with 2 x threads, because the C side
 *    divides it by two before capping the thread count with it;
 *  - once the pool has started, its workers are unref'd so that they never keep Node
 *    alive, and the spare ones of Emscripten's fixed pool of 8 are terminated.
 *
 * If the threaded build cannot start, the single-threaded SIMD build is used instead
 * and `note` says why.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** Emscripten creates this many pthread workers up front (tfjs builds with PTHREAD_POOL_SIZE=8),
 * and the tfjs C side caps its XNNPACK pool at 8 threads (the main thread counts as one). */
export const WASM_MAX_THREADS = 8;

/** How long the pthread workers may take to load before we give up on threads. */
const THREADED_START_TIMEOUT_MS = 30_000;

const WASM_PRIORITY = 2; // the priority tfjs-backend-wasm registers itself with

type Build = 'threaded-simd' | 'simd' | 'plain';

/** The vanilla JS glue serves the SIMD binary too (as in tfjs's own init): the shipped
 * tfjs-backend-wasm-simd.js names its module `Module` and its post.js then cannot find it. */
const BUILD_FILES: Record<Build, { js: string; wasm: string }> = {
  'threaded-simd': { js: 'tfjs-backend-wasm-threaded-simd.js', wasm: 'tfjs-backend-wasm-threaded-simd.wasm' },
  simd: { js: 'tfjs-backend-wasm.js', wasm: 'tfjs-backend-wasm-simd.wasm' },
  plain: { js: 'tfjs-backend-wasm.js', wasm: 'tfjs-backend-wasm.wasm' },
};

/** The pieces of Emscripten's pthread bookkeeping we touch. */
interface PThreadPool {
  unusedWorkers: EmscriptenWorker[];
  runningWorkers: EmscriptenWorker[];
  terminateAllThreads(): void;
}
type EmscriptenWorker = Worker & { onerror?: (e: unknown) => void };

/** The Emscripten module, as tfjs's BackendWasm expects it after `module.tfjs` is added. */
interface WasmModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  PThread?: PThreadPool;
  tfjs?: Record<string, (...args: number[]) => number>;
}

interface ModuleConfig {
  locateFile(file: string, prefix: string): string;
  instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void): object;
  mainScriptUrlOrBlob?: string;
  onAbort?(what: unknown): void;
  PThread?: PThreadPool;
}

type ModuleFactory = (config: ModuleConfig) => Promise<WasmModule>;

export interface WasmStatus {
  simd: boolean;
  /** Threads XNNPACK really runs on (the tfjs C side reports it). */
  threads: number;
  /** Why fewer threads than asked for, if so. */
  note?: string;
}

let status: WasmStatus | undefined;
let loadedModule: WasmModule | undefined;
const compiledModules = new Map<Build, Promise<WebAssembly.Module>>();

function wasmOutFile(name: string): string {
  return require.resolve(`@tensorflow/tfjs-backend-wasm/wasm-out/${name}`);
}

function compiled(build: Build): Promise<WebAssembly.Module> {
  let module = compiledModules.get(build);
  if (!module) {
    module = fs.promises.readFile(wasmOutFile(BUILD_FILES[build].wasm)).then((bytes) => WebAssembly.compile(bytes));
    module.catch(() => compiledModules.delete(build));
    compiledModules.set(build, module);
  }
  return module;
}

/**
 * Writes Emscripten's pthread worker script to a file and returns its path. The
 * package ships it as a string (made for a `blob:` URL); the name carries a hash of
 * the content, so concurrent processes write the same bytes and reuse the file.
 */
export function workerScriptPath(): string {
  const { wasmWorkerContents } = require(wasmOutFile('tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The template literal turned the script's "\n" escapes into newlines; put them back
  // (tfjs does the same before making its blob).
  const contents = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(contents).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  const dir = path.join(os.tmpdir(), `fakeface-wasm-${uid}`);
  // .cjs: the script uses require(), whatever package.json sits above the temp folder.
  const file = path.join(dir, `pthread-worker-${hash}.cjs`);
  try {
    if (fs.readFileSync(file, 'utf8') === contents) return file;
  } catch {
    // not written yet
  }
  try {
    fs.mkdirSync(dir, { mode: 0o700 }); // not recursive: the temp folder exists (and recursive loops forever on /proc)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(temporary, contents, { mode: 0o600 });
  fs.renameSync(temporary, file); // atomic: a reader sees the old file or the whole new one
  return file;
}

/** Emscripten adds process-wide listeners that rethrow; tfjs never removes them. */
function withoutEmscriptenListeners<T>(run: () => T): T {
  const listeners = (event: string): Function[] => (process as NodeJS.EventEmitter).listeners(event);
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = events.map((event) => new Set(listeners(event)));
  try {
    return run();
  } finally {
    events.forEach((event, i) => {
      for (const listener of listeners(event)) {
        if (!before[i].has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
      }
    });
  }
}

/**
 * A worker_threads Worker that does not inherit the parent's Node options. By default
 * a worker gets process.execArgv, and flags such as `--input-type=module` or a loader
 * (`--import tsx`) make the pthread script fail or start slowly; it needs none.
 */
class PthreadWorker extends Worker {
  constructor(filename: string | URL, options: WorkerOptions = {}) {
    super(filename, { ...options, execArgv: [] });
  }
}

/**
 * Emscripten assigns `global.Worker = require('worker_threads').Worker` and creates its
 * pool with `new Worker(...)` in the same synchronous call: hand it PthreadWorker
 * instead (and keep it there for any worker it creates later).
 */
function withPthreadWorker<T>(run: () => T): T {
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: true,
    get: () => PthreadWorker,
    set: () => undefined,
  });
  try {
    return run();
  } finally {
    Object.defineProperty(globalThis, 'Worker', { configurable: true, enumerable: true, writable: true, value: PthreadWorker });
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

async function loadModule(build: Build, threads: number): Promise<WasmModule> {
  const factory = require(wasmOutFile(BUILD_FILES[build].js)) as ModuleFactory;
  const wasmModule = await compiled(build);
  const threaded = build === 'threaded-simd';
  let workerFile = '';
  if (threaded) {
    try {
      workerFile = workerScriptPath();
    } catch (error) {
      throw new Error(`cannot write the pthread worker script (${messageOf(error)})`);
    }
  }
  const guardedWorkers: { worker: EmscriptenWorker; onerror: EmscriptenWorker['onerror'] }[] = [];

  return new Promise<WasmModule>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        config.PThread?.terminateAllThreads();
      } catch {
        // best effort: the workers may never have started
      }
      reject(error instanceof Error ? error : new Error(messageOf(error)));
    };
    const config: ModuleConfig = {
      locateFile: (file, prefix) => {
        if (file.endsWith('.worker.js')) return workerFile;
        if (file.endsWith('.wasm')) return wasmOutFile(BUILD_FILES[build].wasm);
        return prefix + file;
      },
      instantiateWasm: (imports, receive) => {
        if (threaded) {
          // The C side uses min(threads, logical cores / 2): answer so that it keeps ours.
          (imports.env as Record<string, unknown>).emscripten_num_logical_cores = () => 2 * threads;
        }
        WebAssembly.instantiate(wasmModule, imports).then((instance) => {
          if (settled) return;
          receive(instance, wasmModule); // starts loading the pthread workers
          // Emscripten rethrows a worker's error from an event handler, which would
          // crash the process: while starting, turn it into a failed start instead.
          for (const worker of config.PThread?.unusedWorkers ?? []) {
            guardedWorkers.push({ worker, onerror: worker.onerror });
            worker.onerror = fail;
          }
        }, fail);
        return {};
      },
      onAbort: (what) => fail(new Error(`wasm module aborted: ${messageOf(what)}`)),
    };
    if (threaded) config.mainScriptUrlOrBlob = wasmOutFile(BUILD_FILES[build].js);
    const timer = setTimeout(
      () => fail(new Error(`pthread workers did not start within ${THREADED_START_TIMEOUT_MS / 1000} s`)),
      THREADED_START_TIMEOUT_MS,
    );
    timer.unref();

    let ready: Promise<WasmModule>;
    try {
      ready = withoutEmscriptenListeners(() => (threaded ? withPthreadWorker(() => factory(config)) : factory(config)));
    } catch (error) {
      fail(error);
      return;
    }
    ready.then((module) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const { worker, onerror } of guardedWorkers) worker.onerror = onerror;
      resolve(module);
    }, fail);
  });
}

/** The bridge tfjs's BackendWasm calls (as tfjs-backend-wasm's own init() builds it). */
function addTfjsBridge(module: WasmModule): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

/** After the XNNPACK pool has started: let Node exit, and free the workers it did not take. */
function settlePool(module: WasmModule): void {
  const pool = module.PThread;
  if (!pool) return;
  for (const worker of pool.runningWorkers) worker.unref();
  const spare = pool.unusedWorkers.splice(0);
  for (const worker of spare) void worker.terminate();
}

async function createBackend(requestedThreads: number): Promise<tf.KernelBackend> {
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const threads = Math.max(1, Math.min(WASM_MAX_THREADS, Math.floor(requestedThreads)));
  let note: string | undefined;
  if (requestedThreads > WASM_MAX_THREADS) note = `wasm uses at most ${WASM_MAX_THREADS} threads`;

  let module: WasmModule | undefined;
  let threaded = false;
  if (threads > 1 && simd) {
    try {
      module = await loadModule('threaded-simd', threads);
      threaded = true;
    } catch (error) {
      note = `threads unavailable: ${messageOf(error)}`;
    }
  } else if (threads > 1) {
    note = 'threads unavailable: this Node has no wasm SIMD, which the threaded build needs';
  }
  module ??= await loadModule(simd ? 'simd' : 'plain', 1);

  addTfjsBridge(module);
  setThreadsCount(threaded ? threads : 1);
  const backend = new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
  settlePool(module);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threaded);

  const realThreads = module.tfjs!.getThreadsCount();
  if (threaded && realThreads < threads) note = `tfjs started ${realThreads} of ${threads} threads`;
  loadedModule = module;
  status = { simd, threads: realThreads, note };
  return backend;
}

/** The factory we registered last, and the threads it was made for. */
let registered: { factory: () => Promise<tf.KernelBackend>; threads: number } | undefined;

function register(threads: number): void {
  if (tf.engine().registryFactory.wasm) tf.removeBackend('wasm'); // disposes a previous wasm backend
  status = undefined;
  loadedModule = undefined;
  const factory = (): Promise<tf.KernelBackend> => createBackend(threads);
  tf.registerBackend('wasm', factory, WASM_PRIORITY);
  registered = { factory, threads };
}

/**
 * Makes `wasm` our threaded backend for `threads` threads, replacing tfjs's factory
 * (or ours for another thread count, disposing that backend). The backend is created
 * on the next tf.setBackend('wasm'). Nothing happens when it is already so.
 */
export function ensureWasmBackend(threads: number): void {
  const current = tf.engine().registryFactory.wasm;
  if (registered && current?.factory === registered.factory && registered.threads === threads) return;
  register(threads);
}

/** What the wasm backend created last runs with; undefined before it exists. */
export function wasmStatus(): WasmStatus | undefined {
  return status;
}

/** The Emscripten module behind the current wasm backend (for tests). */
export function wasmModule(): WasmModule | undefined {
  return loadedModule;
}

/**
 * Disposes the wasm backend (terminating its pthread workers) and leaves an
 * uninstantiated factory registered in its place.
 */
export function shutdownWasm(): void {
  if (!registered && !tf.engine().registry.wasm) return; // nothing of ours started
  register(registered?.threads ?? 1);
}
