/**
 * The `webgpu` backend in Node: TensorFlow.js' WebGPU backend on Google's Dawn, from
 * the optional `webgpu` npm package (dawn.node), on whatever GPU Vulkan finds (an
 * NVIDIA card, or Mesa's software rasterizer llvmpipe for tests). Both packages are
 * optional dependencies: absent, `--backend webgpu` is a one-line error.
 *
 * dawn.node is loaded directly (not through the package's index, which wraps every
 * createBuffer call in bookkeeping the training loop pays for on each dispatch).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import { BackendUnavailableError } from '../errors.js';
import { installWebGpuKernels, patchWebGpuUploads } from './webgpu-kernels.js';

const require = createRequire(import.meta.url);

/** Optional packages, named in variables so tsc needs no types for them. */
const DAWN_PACKAGE: string = 'webgpu';
const TFJS_WEBGPU_PACKAGE: string = '@tensorflow/tfjs-backend-webgpu';

const INSTALL_HINT = 'install the optional packages with `npm install webgpu @tensorflow/tfjs-backend-webgpu`, or use --backend cpu';

interface DawnModule {
  create(options: string[]): unknown;
  globals: Record<string, unknown>;
}

export interface GpuAdapterLike {
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  requestDevice(descriptor: object): Promise<unknown>;
}

export interface WebGpuInfo {
  /** The adapter, in words: "nvidia (NVIDIA H100 80GB HBM3)". */
  adapter: string;
  /** Mesa's llvmpipe or another CPU implementation: correct, not fast. */
  software: boolean;
}

/** Where dawn.node is: $DAWN_NODE, else inside the `webgpu` package. Null when neither exists. */
export function dawnNodePath(): string | null {
  const fromEnv = process.env.DAWN_NODE;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  try {
    const packageDir = dirname(require.resolve(`${DAWN_PACKAGE}/package.json`));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    const file = join(packageDir, 'dist', `${process.platform}-${arch}`, 'dawn.node');
    return existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

/** Both optional packages are installed (says nothing about a GPU being there). */
export function webGpuInstalled(): boolean {
  if (dawnNodePath() === null) return false;
  try {
    require.resolve(TFJS_WEBGPU_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

let adapterInfo: WebGpuInfo | undefined;

/**
 * A device with the adapter's own limits (WebGPU's defaults cap storage buffers at
 * 128 MB, below the MLP GAN's 177 MB output layer) and timestamp queries when offered.
 */
export function requestTrainingDevice(adapter: GpuAdapterLike): Promise<unknown> {
  const limits = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
}

/** Fails with BackendUnavailableError and the reason, never a stack. */
export async function startWebGpu(): Promise<WebGpuInfo> {
  if (tf.getBackend() === 'webgpu' && adapterInfo) return adapterInfo;
  const dawnPath = dawnNodePath();
  if (!dawnPath) throw new BackendUnavailableError('backend "webgpu" needs the optional package `webgpu` (Dawn for Node), which is not installed', INSTALL_HINT);
  let dawn: DawnModule;
  try {
    dawn = require(dawnPath) as DawnModule;
  } catch (error) {
    throw new BackendUnavailableError(`dawn.node failed to load: ${(error as Error).message.split('\n')[0]}`, INSTALL_HINT);
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]) as { requestAdapter(options: object): Promise<GpuAdapterLike | null> };
  // tfjs-backend-webgpu registers itself at import time only when it sees navigator.gpu.
  Object.defineProperty(globalThis, 'navigator', { value: { ...(globalThis as { navigator?: object }).navigator, gpu }, configurable: true, writable: true });
  let webgpu: { WebGPUBackend?: new (device: unknown, info: unknown) => tf.KernelBackend };
  try {
    // A literal specifier, so that bundlers (bench/gpu-README.md) carry the package along.
    // @ts-ignore -- optional dependency: tsc must not require its types.
    webgpu = (await import('@tensorflow/tfjs-backend-webgpu')) as typeof webgpu;
  } catch (error) {
    throw new BackendUnavailableError(`@tensorflow/tfjs-backend-webgpu failed to load: ${(error as Error).message.split('\n')[0]}`, INSTALL_HINT);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new BackendUnavailableError('backend "webgpu": no GPU adapter found (no Vulkan driver for a GPU here?)', 'use --backend cpu');
  const info = adapter.info ?? {};
  adapterInfo = {
    adapter: [info.vendor, info.description || info.device].filter(Boolean).join(' ') || 'unknown adapter',
    software: info.architecture === 'software' || /llvmpipe|swiftshader|lavapipe/i.test(`${info.device} ${info.description}`),
  };
  if (webgpu.WebGPUBackend) {
    const Backend = webgpu.WebGPUBackend;
    // Registered here (priority below cpu, so `auto` never lands on it by accident) with
    // the adapter's own limits.
    tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', async () => new Backend(await requestTrainingDevice(adapter), adapter.info), 0);
  }
  installWebGpuKernels();
  // Submit every 64 dispatches instead of tfjs' 15: 5-10% faster iterations in three
  // device runs (bench/gpu-README.md).
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 64);
  if (!(await tf.setBackend('webgpu'))) throw new BackendUnavailableError('the webgpu backend did not start', 'use --backend cpu');
  patchWebGpuUploads();
  return adapterInfo;
}
