import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { randomValues } from '../../test/helpers/random.js';
import { relativeError } from '../../test/helpers/relative-error.js';
import { buildTinyDcgan, meanOutputGradients, TINY_DCGAN_INPUT } from '../../test/helpers/tiny-dcgan.js';
import { installWasmConvGradient, uninstallWasmConvGradient, wasmConvRoutes } from './wasm-conv.js';

/** |actual - expected| <= tolerance * max(1, max |expected|). */
const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 5e-6): void => {
  expect(relativeError(actual, expected)).toBeLessThanOrEqual(tolerance);
};

/** f's outputs on `backend`, as plain arrays (inputs are made on that backend from values). */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

describe('conv gradients on wasm', () => {
  beforeAll(async () => {
    installWasmConvGradient();
    installWasmConvGradient(); // idempotent
    expect(await tf.setBackend('wasm')).toBe(true);
    (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
  });
  afterAll(() => uninstallWasmConvGradient());

  const cases: Array<[string, number[], number[], number | [number, number], Pad]> = [
    ['4x4 kernel, stride 2, same (DCGAN)', [2, 16, 16, 8], [4, 4, 8, 16], 2, 'same'],
    ['3x4 kernel, stride 1, same', [2, 9, 7, 3], [3, 4, 3, 5], 1, 'same'],
    ['3x3 kernel, stride 2, valid, odd sizes', [3, 10, 9, 4], [3, 3, 4, 6], 2, 'valid'],
    ['strides [2, 3], numeric pad 1', [2, 11, 13, 3], [3, 2, 3, 4], [2, 3], 1],
    ['explicit asymmetric pads', [1, 8, 9, 2], [3, 3, 2, 5], [2, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]],
    ['kernel smaller than the stride', [2, 9, 9, 3], [1, 2, 3, 4], 3, 'valid'],
    ['1x1 kernel', [2, 5, 6, 7], [1, 1, 7, 3], 1, 'valid'],
  ];

  it.each(cases)('conv2d gradients (input and filter) equal the cpu backend: %s', async (_, xShape, fShape, strides, pad) => {
    const xv = randomValues(xShape, 1);
    const fv = randomValues(fShape, 2);
    const grads = () => {
      const x = tf.tensor4d(xv, xShape as Shape4);
      const f = tf.tensor4d(fv, fShape as Shape4);
      const y = tf.conv2d(x, f, strides, pad);
      const dy = tf.tensor(randomValues(y.shape, 3), y.shape);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)))([x, f]);
    };
    const before = { ...wasmConvRoutes };
    const wasm = await on('wasm', grads);
    expect(wasmConvRoutes.backpropFilter).toBe(before.backpropFilter + 1);
    expect(wasmConvRoutes.backpropInput).toBe(before.backpropInput + 1);
    const cpu = await on('cpu', grads);
    expectClose(wasm[0], cpu[0]);
    expectClose(wasm[1], cpu[1]);
    await tf.setBackend('wasm');
  });

  it.each([
    ['stride 2, same (DCGAN)', [2, 4, 4, 16], [4, 4, 8, 16], [2, 8, 8, 8], 2, 'same'],
    ['stride 2, valid, odd output', [2, 3, 4, 5], [3, 3, 4, 5], [2, 7, 9, 4], 2, 'valid'],
    ['stride 1, same', [1, 6, 5, 3], [3, 2, 2, 3], [1, 6, 5, 2], 1, 'same'],
  ] as Array<[string, number[], number[], number[], number, 'same' | 'valid']>)('conv2dTranspose and its gradients equal the cpu backend: %s', async (_, xShape, fShape, outShape, strides, pad) => {
    const xv = randomValues(xShape, 4);
    const fv = randomValues(fShape, 5);
    const dyv = randomValues(outShape, 6);
    const run = () => {
      const x = tf.tensor4d(xv, xShape as Shape4);
      const f = tf.tensor4d(fv, fShape as Shape4);
      const dy = tf.tensor(dyv, outShape);
      const forward = (a: tf.Tensor, b: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape as [number, number, number, number], strides, pad);
      return [forward(x, f), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(forward(a, b), dy)))([x, f])];
    };
    const wasm = await on('wasm', run);
    const cpu = await on('cpu', run);
    wasm.forEach((values, i) => expectClose(values, cpu[i]));
    await tf.setBackend('wasm');
  });

  it('supports NCHW through transposes', async () => {
    const xv = randomValues([2, 3, 8, 7], 7);
    const fv = randomValues([3, 3, 3, 4], 8);
    const dyv = randomValues([2, 4, 4, 4], 9);
    const run = () => {
      const x = tf.tensor4d(xv, [2, 3, 8, 7]);
      const dy = tf.tensor4d(dyv, [2, 4, 4, 4]);
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW' } as const;
      return [
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: [3, 3, 3, 4] }) as tf.Tensor,
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: tf.tensor4d(fv, [3, 3, 3, 4]) }, { ...attrs, inputShape: [2, 3, 8, 7] }) as tf.Tensor,
      ];
    };
    const wasm = await on('wasm', run);
    const cpu = await on('cpu', run);
    wasm.forEach((values, i) => expectClose(values, cpu[i]));
    await tf.setBackend('wasm');
  });

  it('trains a small DCGAN-style model with the same gradients as cpu, without leaking', async () => {
    const zv = randomValues(TINY_DCGAN_INPUT, 10);
    const gradients = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const model = buildTinyDcgan();
      const z = tf.tensor4d(zv, TINY_DCGAN_INPUT);
      const run = () => meanOutputGradients(model, z);
      const values = tf.tidy(run).dataSync() as Float32Array;
      const tensors = tf.memory().numTensors;
      tf.dispose(tf.tidy(run));
      expect(tf.memory().numTensors).toBe(tensors);
      z.dispose();
      model.dispose();
      return values;
    };
    const wasm = await gradients('wasm');
    const cpu = await gradients('cpu');
    expect(cpu.some((v) => v !== 0)).toBe(true);
    expectClose(wasm, cpu, 1e-5);
    await tf.setBackend('wasm');
  });

  it('uninstalls back to tfjs (no filter gradient) and reinstalls', () => {
    uninstallWasmConvGradient();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeUndefined();
    installWasmConvGradient();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
  });
});
