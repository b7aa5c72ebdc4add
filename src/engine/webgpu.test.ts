/**
 * The webgpu backend for real: Dawn (the optional `webgpu` package) on a Vulkan driver,
 * here Mesa's software one (scripts/software-gpu.sh), against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../test/helpers/gpu.js';
import { resolveConfig } from '../config/index.js';
import { buildGan } from '../models/index.js';
import { createAdam } from '../train/optimizer.js';
import { Rng } from '../train/rng.js';
import { GanStepper, type StepMetrics } from '../train/step.js';
import { initEngine } from './index.js';
import { adamUpdateWebGpu, setWebGpuKernelsEnabled, setWebGpuUploadsEnabled } from './webgpu-kernels.js';

const gpu = probeWebGpu();

async function onBackend<T>(name: 'cpu' | 'webgpu', fn: () => T | Promise<T>): Promise<T> {
  await tf.setBackend(name);
  return fn();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe.skipIf(!gpu.ok)(`webgpu backend (${gpu.note})`, () => {
  beforeAll(async () => {
    const engine = await initEngine({ backend: 'webgpu' });
    expect(engine.backend).toBe('webgpu');
    expect(engine.description).toMatch(/^webgpu \(/);
  });

  it.each([
    ['stride 2, same (DCGAN)', [4, 16, 16, 3], [4, 4, 3, 8], 2, 'same'],
    ['stride 1, valid, odd sizes', [3, 9, 7, 5], [3, 2, 5, 4], 1, 'valid'],
    ['stride 2, valid, 1x1 output (DCGAN last layer)', [2, 4, 4, 16], [4, 4, 16, 1], 1, 'valid'],
  ] as const)('Conv2DBackpropFilter %s matches the cpu backend', async (_, xShape, filterShape, strides, pad) => {
    const x = await onBackend('cpu', () => tf.randomNormal([...xShape], 0, 1, 'float32', 1));
    const run = () => {
      const filter = tf.randomNormal([...filterShape], 0, 1, 'float32', 2) as tf.Tensor4D;
      const xs = tf.tensor(x.dataSync(), [...xShape]) as tf.Tensor4D;
      // A weighted sum of the outputs, so that every output pixel's gradient differs.
      const outShape = tf.conv2d(xs, filter, strides, pad).shape;
      const weights = tf.reshape(tf.range(1, 1 + outShape.reduce((a, b) => a * b, 1)), outShape);
      return tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xs, f as tf.Tensor4D, strides, pad), weights)))(filter);
    };
    const expected = await (await onBackend('cpu', () => tf.tidy(run))).data();
    const actual = await (await onBackend('webgpu', () => tf.tidy(run))).data();
    const scale = Math.max(...Array.from(expected, Math.abs));
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5 * scale);
  });

  it('fused Adam updates in place and equals tf.train.adam, over 3 steps, past 65,535 workgroups', async () => {
    await tf.setBackend('webgpu');
    const size = 65_535 * 256 + 1_000; // two-dimensional dispatch
    const init = tf.randomNormal([size], 0, 1, 'float32', 3);
    const grads = [4, 5, 6].map((seed) => tf.randomNormal([size], 0, 1, 'float32', seed));
    const fused = tf.tidy(() => tf.variable(init.clone(), true, 'adam_fused'));
    const reference = tf.tidy(() => tf.variable(init.clone(), true, 'adam_reference'));
    const fusedAdam = createAdam(resolveConfig('model2'));
    const c = resolveConfig('model2');
    const tfAdam: tf.Optimizer = tf.train.adam(c.learningRate, c.beta1, c.beta2, c.epsilon);
    const tensorsBefore = tf.memory().numTensors;
    for (const g of grads) {
      fusedAdam.applyGradients({ adam_fused: g });
      tfAdam.applyGradients({ adam_reference: g });
    }
    const [a, b, i] = await Promise.all([fused.data(), reference.data(), init.data()]);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-7);
    expect(maxAbsDiff(a, i)).toBeGreaterThan(1e-4); // it moved
    // tf.train.adam keeps its two moments and two beta powers; the fused one two moments.
    expect(tf.memory().numTensors - tensorsBefore).toBeLessThanOrEqual(2 + 4);
    tf.dispose([init, ...grads, fused, reference]);
    fusedAdam.dispose();
    tfAdam.dispose();
  });

  it('fused Adam declines a variable whose memory another tensor shares', async () => {
    await tf.setBackend('webgpu');
    const shared = tf.randomNormal([100]);
    const variable = tf.variable(shared); // same data as `shared` until that is disposed
    const [m, v] = tf.tidy(() => [tf.variable(tf.zeros([100])), tf.variable(tf.zeros([100]))]);
    const step = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, accBeta1: 0.9, accBeta2: Math.fround(0.999) };
    const before = await shared.data();
    expect(adamUpdateWebGpu(variable, tf.ones([100]), m!, v!, step)).toBe(false);
    expect(Array.from(await shared.data())).toEqual(Array.from(before));
    setWebGpuKernelsEnabled(false);
    const g = tf.ones([100]);
    const [m2, v2] = tf.tidy(() => [tf.variable(tf.zeros([100])), tf.variable(tf.zeros([100]))]);
    const own = tf.tidy(() => tf.variable(tf.randomNormal([100])));
    expect(adamUpdateWebGpu(own, g, m2!, v2!, step)).toBe(false); // switched off
    setWebGpuKernelsEnabled(true);
    expect(adamUpdateWebGpu(own, g, m2!, v2!, step)).toBe(true);
    tf.dispose([shared, variable, m!, v!, g, m2!, v2!, own]);
  });

  it('uploads float32, int32 and bool tensors through pooled buffers, no fresh mapped buffer each', async () => {
    await tf.setBackend('webgpu');
    const device = (tf.backend() as unknown as { device: { createBuffer(d: { mappedAtCreation?: boolean }): unknown } }).device;
    const createBuffer = device.createBuffer.bind(device);
    let mapped = 0;
    device.createBuffer = (descriptor) => {
      if (descriptor.mappedAtCreation) mapped++;
      return createBuffer(descriptor);
    };
    try {
      const upload = async () => {
        const floats = tf.tensor1d([1.5, -2, 3e-8, 4000]);
        const ints = tf.tensor1d([7, -3, 2 ** 29, 0], 'int32');
        const bools = tf.tensor1d([true, false, true, true], 'bool');
        // WEBGPU_CPU_FORWARD off: tiny ops run on the GPU, so their inputs are uploaded.
        const results = await Promise.all([tf.add(floats, floats).data(), tf.add(ints, ints).data(), tf.logicalNot(bools).data()]);
        tf.dispose([floats, ints, bools]);
        return results.map((r) => Array.from(r));
      };
      tf.env().set('WEBGPU_CPU_FORWARD', false);
      mapped = 0;
      const patched = await upload();
      const mappedPatched = mapped;
      setWebGpuUploadsEnabled(false);
      mapped = 0;
      const stock = await upload();
      const mappedStock = mapped;
      setWebGpuUploadsEnabled(true);
      expect(patched).toEqual(stock);
      expect(patched).toEqual([[3, -4, 6e-8, 8000].map(Math.fround), [14, -6, 2 ** 30, 0], [0, 1, 0, 0]]);
      expect(mappedStock).toBeGreaterThanOrEqual(3); // the test can tell: tfjs maps a fresh buffer per upload
      expect(mappedPatched).toBeLessThan(mappedStock);
    } finally {
      device.createBuffer = createBuffer;
      tf.env().set('WEBGPU_CPU_FORWARD', true);
    }
  });

  it.each(['tiny', 'dcgan-tiny'])('%s: GanStepper.stepAsync trains like the cpu backend, with no tensors leaked', async (preset) => {
    const config = { ...resolveConfig(preset), batchSize: 8, ...(preset === 'tiny' ? { resolution: 16 } : {}) };
    const iterate = async (backend: 'cpu' | 'webgpu', iterations: number) => {
      await tf.setBackend(backend);
      const rng = new Rng(7);
      const gan = buildGan(config, () => rng.childSeed());
      const side = config.resolution;
      const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [side, side, 3], config.latentDim, {
        fakesFor: config.architecture === 'dcgan' ? 'training' : 'inference',
      });
      const real = new Float32Array(config.batchSize * side * side * 3).map(() => rng.uniform() * 2 - 1);
      const metrics: StepMetrics[] = [];
      const counts: number[] = [];
      for (let i = 0; i < iterations; i++) {
        metrics.push(await stepper.stepAsync({ real, noiseForD: rng.normals(config.batchSize * config.latentDim), noiseForG: rng.normals(config.batchSize * config.latentDim) }));
        counts.push(tf.memory().numTensors);
      }
      gan.generator.dispose();
      gan.discriminator.dispose();
      return { metrics, counts };
    };
    const cpu = await iterate('cpu', 2);
    const webgpu = await iterate('webgpu', 4);
    // Same start, same maths: the first iteration agrees closely (float rounding only).
    for (const key of ['dLossReal', 'dLossFake', 'gLoss'] as const) expect(Math.abs(webgpu.metrics[0]![key] - cpu.metrics[0]![key])).toBeLessThan(1e-4);
    expect(webgpu.metrics[0]!.dAcc).toBe(cpu.metrics[0]!.dAcc);
    expect(webgpu.metrics.every((m) => Number.isFinite(m.gLoss))).toBe(true);
    expect(new Set(webgpu.counts.slice(1)).size).toBe(1); // flat after the first iteration
  });
});
