/**
 * Which tfjs backend to run on, decided without touching tfjs: the pure part of the
 * engine, so that every branch can be unit tested.
 */
import { BackendUnavailableError } from '../errors.js';

export type BackendName = 'node' | 'wasm' | 'cpu' | 'webgpu';
export type BackendRequest = BackendName | 'auto';
/** The backends that read tensors synchronously: everything but the GPU's. */
export type CpuBackendName = Exclude<BackendName, 'webgpu'>;

export const BACKEND_NAMES: readonly BackendName[] = ['node', 'wasm', 'cpu', 'webgpu'];

/**
 * The wasm heap is a 32-bit address space: 4 GiB at most, and malloc needs room to
 * spare, so a model that needs more than this is not tried on wasm.
 */
export const WASM_HEAP_LIMIT_BYTES = 3.5e9;

/**
 * Floats held per trainable parameter at the peak of one Adam step: the weights, their
 * gradients, Adam's two moments, and the temporaries that `tf.train.adam` keeps until
 * the update's tidy() ends. Measured on tfjs 4.22 with tf.profile(): 18 floats per
 * parameter for Adam (6 for SGD).
 */
const WEIGHTS = 1;
const GRADIENTS = 1;
const ADAM_MOMENTS = 2;
const ADAM_TEMPORARIES = 14;
const BYTES_PER_FLOAT = 4;

/**
 * Bytes a model needs to train with Adam: parameters x 4 bytes x (weights + gradients +
 * 2 Adam moments + the update's temporaries), plus the activations (a count of floats,
 * forward and backward as the caller counts them).
 */
export function estimateTrainingBytes(paramCount: number, activationFloats: number): number {
  const perParam = WEIGHTS + GRADIENTS + ADAM_MOMENTS + ADAM_TEMPORARIES;
  return Math.max(0, paramCount) * BYTES_PER_FLOAT * perParam + Math.max(0, activationFloats) * BYTES_PER_FLOAT;
}

/** "6.1 GB", "850 MB": decimal units, as people read memory sizes. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.round(bytes / 1e3)} kB`;
}

/** The wasm heap cap as people say it. */
const WASM_CAP_WORDS = '4 GB';

export interface BackendFacts {
  /** What the user asked for. */
  requested: BackendRequest;
  /** `@tensorflow/tfjs-node` can be imported. */
  tfjsNodeAvailable: boolean;
  /** The OpenBLAS addon (src/engine/native.ts) is built and loads. */
  nativeBlas: boolean;
  /** The optional `webgpu` (Dawn) and `@tensorflow/tfjs-backend-webgpu` packages are installed. */
  webgpuInstalled?: boolean;
  /** Memory the model needs, when known (see estimateTrainingBytes). */
  estimatedBytes?: number;
}

export interface BackendChoice {
  backend: BackendName;
  /** Why, in words, for the one line the CLI prints. */
  reason: string;
}

const TFJS_NODE_HINT =
  'install it with `npm install @tensorflow/tfjs-node` (its install script downloads libtensorflow), or use --backend wasm or --backend cpu';

/**
 * Picks the backend. `auto` prefers tfjs-node, then the cpu backend with native BLAS
 * kernels, then wasm, then plain cpu when the model does not fit the wasm heap.
 * An explicit request that cannot be met throws BackendUnavailableError.
 */
export function chooseBackend(facts: BackendFacts): BackendChoice {
  const { requested, tfjsNodeAvailable, nativeBlas, estimatedBytes } = facts;
  const tooBigForWasm = estimatedBytes !== undefined && estimatedBytes > WASM_HEAP_LIMIT_BYTES;
  const needs = estimatedBytes === undefined ? '' : `model needs ~${formatBytes(estimatedBytes)}`;

  switch (requested) {
    case 'node':
      if (!tfjsNodeAvailable) {
        throw new BackendUnavailableError('backend "node" needs @tensorflow/tfjs-node, which is not installed', TFJS_NODE_HINT);
      }
      return { backend: 'node', reason: 'requested with --backend node' };
    case 'wasm':
      if (tooBigForWasm) {
        throw new BackendUnavailableError(
          `backend "wasm" cannot hold this model: ${needs}, above the wasm heap cap of ${WASM_CAP_WORDS}`,
          'use --backend cpu (no heap cap), or a smaller model or batch',
        );
      }
      return { backend: 'wasm', reason: 'requested with --backend wasm' };
    case 'webgpu':
      // Never picked by `auto`: whether a real GPU is behind Dawn is only known once it starts.
      if (!facts.webgpuInstalled) {
        throw new BackendUnavailableError(
          'backend "webgpu" needs the optional packages webgpu and @tensorflow/tfjs-backend-webgpu, which are not installed',
          'install them with `npm install webgpu @tensorflow/tfjs-backend-webgpu`, or use --backend cpu',
        );
      }
      return { backend: 'webgpu', reason: 'requested with --backend webgpu' };
    case 'cpu':
      return {
        backend: 'cpu',
        reason: nativeBlas ? 'requested with --backend cpu (native BLAS kernels)' : 'requested with --backend cpu',
      };
    case 'auto':
      if (tfjsNodeAvailable) return { backend: 'node', reason: '@tensorflow/tfjs-node is installed' };
      if (nativeBlas) return { backend: 'cpu', reason: 'the native BLAS addon is built (fastest without tfjs-node)' };
      if (tooBigForWasm) {
        return { backend: 'cpu', reason: `${needs}, above the wasm heap cap of ${WASM_CAP_WORDS}` };
      }
      return {
        backend: 'wasm',
        reason: needs
          ? `no tfjs-node and no native BLAS addon; ${needs}, within the wasm heap cap`
          : 'no tfjs-node and no native BLAS addon',
      };
    default:
      throw new BackendUnavailableError(
        `unknown backend "${String(requested)}"`,
        `choose one of auto, ${BACKEND_NAMES.join(', ')}`,
      );
  }
}

/** What the choice of detection's backend depends on. */
export interface DetectionFacts {
  /** What the caller asked for; `auto` or nothing lets detection choose. */
  requested?: BackendRequest;
  /** The native addon loads with the kernels of the detection networks (depthwise conv, relu6, resize: native-kernels-mobile.ts). */
  nativeDetectionKernels: boolean;
}

/**
 * Where detection (face-api's SSD face finder, the probe's MobileNetV2 backbone) runs:
 * an explicit backend as asked; otherwise the cpu backend where the native addon has
 * the detection kernels (measured faster than wasm there: bench/detect-stages.ts), and
 * wasm where it does not (the pure-JS cpu backend is ~40x slower at face finding).
 */
export function chooseDetectionBackend(facts: DetectionFacts): BackendChoice & { backend: 'wasm' | 'cpu' | 'node' | 'webgpu' } {
  const { requested, nativeDetectionKernels } = facts;
  if (requested !== undefined && requested !== 'auto') return { backend: requested, reason: `requested with --backend ${requested}` };
  if (nativeDetectionKernels) return { backend: 'cpu', reason: 'the native addon has the detection kernels (faster than wasm)' };
  return { backend: 'wasm', reason: 'no native addon with the detection kernels (npm run build:native)' };
}
