/**
 * For the tests of the native cpu kernels (src/engine/native-kernels-*.test.ts):
 * whether the addon is built, the cpu backend with tfjs' own kernels put back after
 * the tests, and one computation run on tfjs' JS kernels, then on the native ones.
 *
 *   const built = nativeAddonBuilt('the native convolution tests');
 *   describe.skipIf(!built)('native convolutions', () => {
 *     useCpuBackend();
 *     it('equals the JS kernel', () => {
 *       const [[reference, native]] = originalThenNative(() => tf.conv2d(x, f, 1, 'same'), { groups: ['conv'] });
 *       expect(relativeError(native, reference)).toBeLessThanOrEqual(2e-6);
 *     });
 *   });
 */
import { afterAll, beforeAll, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  nativeBlasAvailable,
  nativeKernelStats,
  registerNativeKernels,
  restoreOriginalKernels,
  type NativeKernelGroup,
} from '../../src/engine/native.js';

/** Whether the native addon is built; where it is not, says which tests skip. */
export function nativeAddonBuilt(skipped: string): boolean {
  const built = nativeBlasAvailable();
  if (!built) console.warn(`native addon not built (run \`npm run build:native\` with libopenblas-dev): skipping ${skipped}`);
  return built;
}

/** Inside a describe: its tests run on the cpu backend, and tfjs' own kernels are back after them. */
export function useCpuBackend(): void {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    // Silences tfjs' one-time "you are running TensorFlow.js in Node.js" note.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  });
  afterAll(() => restoreOriginalKernels('cpu'));
}

export interface OriginalThenNativeOptions {
  /** The native kernel groups to register (default: all). */
  groups?: NativeKernelGroup[];
  /** The counter that must grow on the native run: calls run natively, or handed back to the JS kernels. */
  path?: 'native' | 'fallback';
}

/**
 * f's outputs with tfjs' JS kernels, then with the native ones registered: per output,
 * [reference values, native values], once their shapes and dtypes are checked equal.
 */
export function originalThenNative(f: () => tf.Tensor | tf.Tensor[], { groups, path = 'native' }: OriginalThenNativeOptions = {}): Array<[tf.TypedArray, tf.TypedArray]> {
  const run = () => {
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const outputs = list.map((t) => ({ shape: t.shape, dtype: t.dtype, values: t.dataSync() }));
    tf.dispose(list);
    return outputs;
  };
  restoreOriginalKernels('cpu');
  const reference = run();
  expect(registerNativeKernels('cpu', groups)).toBe(true);
  const before = nativeKernelStats()[path];
  const native = run();
  expect(nativeKernelStats()[path]).toBeGreaterThan(before);
  expect(native.length).toBe(reference.length);
  return reference.map((r, i) => {
    expect(native[i]!.shape).toEqual(r.shape);
    expect(native[i]!.dtype).toBe(r.dtype);
    return [r.values, native[i]!.values];
  });
}
