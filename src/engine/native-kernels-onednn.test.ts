import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { resolveConfig } from '../config/index.js';
import { buildGan } from '../models/index.js';
import { createAdam } from '../train/optimizer.js';
import { Rng } from '../train/rng.js';
import { GanStepper, type StepMetrics } from '../train/step.js';
import {
  defaultConvEngine,
  clearConvTuning,
  convEngineStats,
  getConvEngine,
  loadNativeAddon,
  oneDnnStatus,
  registerNativeKernels,
  restoreOriginalKernels,
  setConvEngine,
  type ConvEngine,
} from './native.js';
import { randomTensor } from '../../test/helpers/random.js';
import { relativeError } from '../../test/helpers/relative-error.js';

const status = oneDnnStatus();
if (!status) console.warn('native addon not built (run `npm run build:native`): skipping the oneDNN convolution tests');
else if (!status.available) console.warn(`oneDNN not available (${status.reason}): skipping the oneDNN convolution tests`);

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  name: string;
  xShape: [number, number, number, number];
  fShape: [number, number, number, number];
  strides: 1 | 2;
  pad: Pad;
}

/** Random shapes, strides 1 and 2, every padding kind (seeded: the same cases every run). */
function randomCases(count: number): Case[] {
  const rng = new Rng(2026);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const pads: Array<(kh: number, kw: number) => Pad> = [
    () => 'same',
    () => 'valid',
    () => int(0, 2),
    (kh, kw) => [[0, 0], [int(0, kh - 1), int(0, kh - 1)], [int(0, kw - 1), int(0, kw - 1)], [0, 0]],
  ];
  return Array.from({ length: count }, (_, i) => {
    const kh = int(1, 5);
    // tfjs sizes both output dims with the filter's height under a numeric pad: square filters there
    const kw = i % pads.length === 2 ? kh : int(1, 5);
    const [h, w] = [int(Math.max(kh, 3), 17), int(Math.max(kw, 3), 17)];
    const xShape: Case['xShape'] = [int(1, 8), h, w, int(1, 12)];
    const fShape: Case['fShape'] = [kh, kw, xShape[3], int(1, 12)];
    const strides = i % 2 === 0 ? 1 : 2;
    const pad = pads[i % pads.length](kh, kw);
    return { name: `x ${xShape.join('x')}, filter ${fShape.join('x')}, stride ${strides}, pad ${JSON.stringify(pad)}`, xShape, fShape, strides, pad };
  });
}

/** The DCGAN layers: 4x4 stride-2 'same' and the explicit 1-pixel pads of PyTorch's DCGAN, the 4x4 'valid' head. */
const DCGAN_CASES: Case[] = [
  { name: 'DCGAN conv 4x4 stride 2 same', xShape: [8, 16, 16, 8], fShape: [4, 4, 8, 16], strides: 2, pad: 'same' },
  { name: 'DCGAN conv 4x4 stride 2 explicit pads 1', xShape: [4, 16, 16, 3], fShape: [4, 4, 3, 16], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: 'DCGAN head 4x4 valid', xShape: [5, 4, 4, 32], fShape: [4, 4, 32, 1], strides: 1, pad: 'valid' },
];

describe.skipIf(!status?.available)(`oneDNN convolution kernels (${status?.version ?? 'absent'}, ${status?.isa ?? '-'})`, () => {
  let engineBefore: ConvEngine;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
    engineBefore = getConvEngine();
  });
  afterEach(() => setConvEngine(engineBefore));
  afterAll(() => {
    restoreOriginalKernels('cpu');
    loadNativeAddon()?.dnnlRelease?.();
  });

  /** f's outputs on tfjs' JS kernels, on im2col + sgemm and on oneDNN; oneDNN must run every native convolution of its pass. */
  function threeWays(f: () => tf.Tensor[]): { reference: Float32Array[]; im2col: Float32Array[]; onednn: Float32Array[] } {
    const run = () => {
      const before = tf.memory().numTensors;
      const out = tf.tidy(f);
      const values = out.map((t) => t.dataSync() as Float32Array);
      tf.dispose(out);
      expect(tf.memory().numTensors).toBe(before);
      return values;
    };
    restoreOriginalKernels('cpu');
    const reference = run();
    expect(registerNativeKernels('cpu', ['conv'])).toBe(true);
    setConvEngine('im2col');
    const im2col = run();
    setConvEngine('onednn');
    const before = convEngineStats();
    const onednn = run();
    const after = convEngineStats();
    expect(after.onednn).toBeGreaterThan(before.onednn);
    expect(after.im2col).toBe(before.im2col); // oneDNN declined nothing
    return { reference, im2col, onednn };
  }

  it.each([...randomCases(24), ...DCGAN_CASES].map((c) => [c.name, c] as const))('conv2d and both gradients equal im2col and tfjs: %s', (_, c) => {
    const x = randomTensor(c.xShape, 1);
    const filter = randomTensor(c.fShape, 2);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad);
    const dy = tf.tidy(() => randomTensor(conv(x, filter).shape, 3));
    const { reference, im2col, onednn } = threeWays(() => [
      conv(x, filter),
      ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, filter]),
    ]);
    for (let i = 0; i < 3; i++) {
      expect(relativeError(onednn[i], im2col[i])).toBeLessThanOrEqual(5e-6);
      expect(relativeError(onednn[i], reference[i])).toBeLessThanOrEqual(5e-6);
    }
    tf.dispose([x, filter, dy]);
  });

  it.each([
    ['DCGAN generator 4x4 stride 2 same', [8, 4, 4, 16], [4, 4, 8, 16], [8, 8, 8, 8], 'same'],
    ['to 3 channels (the generator image layer)', [2, 8, 8, 8], [4, 4, 3, 8], [2, 16, 16, 3], 'same'],
    ['stride 2 valid, odd output', [3, 3, 4, 5], [3, 3, 4, 5], [3, 7, 9, 4], 'valid'],
  ] as Array<[string, number[], number[], [number, number, number, number], 'same' | 'valid']>)(
    'conv2dTranspose and its gradients equal im2col and tfjs: %s',
    (_, xShape, fShape, outShape, pad) => {
      const x = randomTensor(xShape, 4);
      const filter = randomTensor(fShape, 5);
      const dy = randomTensor(outShape, 6);
      const convT = (a: tf.Tensor, b: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, 2, pad);
      const { reference, im2col, onednn } = threeWays(() => [
        convT(x, filter),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(convT(a, b), dy)))([x, filter]),
      ]);
      for (let i = 0; i < 3; i++) {
        expect(relativeError(onednn[i], im2col[i])).toBeLessThanOrEqual(5e-6);
        expect(relativeError(onednn[i], reference[i])).toBeLessThanOrEqual(5e-6);
      }
      tf.dispose([x, filter, dy]);
    },
  );

  it("falls back to im2col where oneDNN declines a shape (tfjs' numeric pad with a non-square filter)", () => {
    const x = randomTensor([2, 8, 10, 3], 9);
    const filter = randomTensor([4, 1, 3, 2], 10);
    restoreOriginalKernels('cpu');
    const reference = tf.tidy(() => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 0).dataSync() as Float32Array);
    expect(registerNativeKernels('cpu', ['conv'])).toBe(true);
    setConvEngine('onednn');
    const before = convEngineStats();
    const native = tf.tidy(() => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 0).dataSync() as Float32Array);
    expect(convEngineStats().im2col).toBe(before.im2col + 1);
    expect(relativeError(native, reference)).toBeLessThanOrEqual(5e-6);
    tf.dispose([x, filter]);
  });

  it('auto times both engines on a shape, then keeps one', () => {
    expect(registerNativeKernels('cpu', ['conv'])).toBe(true);
    setConvEngine('auto');
    clearConvTuning();
    const x = randomTensor([2, 9, 9, 4], 7);
    const filter = randomTensor([3, 3, 4, 6], 8);
    const values: Float32Array[] = [];
    for (let i = 0; i < 7; i++) values.push(tf.tidy(() => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same').dataSync() as Float32Array));
    const stats = convEngineStats();
    expect(stats.shapes).toHaveLength(1);
    const [shape] = stats.shapes;
    expect(shape.choice === 'onednn' || shape.choice === 'im2col').toBe(true);
    expect(Number.isFinite(shape.onednnMs) && Number.isFinite(shape.im2colMs)).toBe(true);
    expect(shape.impl).toMatch(/\w/);
    for (const v of values) expect(relativeError(v, values[0])).toBeLessThanOrEqual(5e-6);
    expect(() => setConvEngine('mkl' as ConvEngine)).toThrow(/unknown convolution engine "mkl"/);
    tf.dispose([x, filter]);
  });

  it('dcgan-tiny: a training step on oneDNN equals the im2col step, with no tensors leaked', async () => {
    const config = { ...resolveConfig('dcgan-tiny'), batchSize: 8 };
    const side = config.resolution;
    expect(registerNativeKernels('cpu')).toBe(true);
    const train = (engine: ConvEngine) => {
      setConvEngine(engine);
      const before = convEngineStats();
      const tensorsBefore = tf.memory().numTensors;
      const rng = new Rng(11);
      const gan = buildGan(config, () => rng.childSeed());
      const stepper = new GanStepper(gan, createAdam(config), createAdam(config), [side, side, 3], config.latentDim, { fakesFor: 'training' });
      const real = new Float32Array(config.batchSize * side * side * 3).map(() => rng.uniform() * 2 - 1);
      const metrics: StepMetrics[] = [];
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        metrics.push(stepper.step({ real, noiseForD: rng.normals(config.batchSize * config.latentDim), noiseForG: rng.normals(config.batchSize * config.latentDim) }));
        counts.push(tf.memory().numTensors - tensorsBefore);
      }
      const weights = [...gan.generator.getWeights(), ...gan.discriminator.getWeights()].map((w) => w.dataSync() as Float32Array);
      const after = convEngineStats();
      gan.generator.dispose();
      gan.discriminator.dispose();
      return { metrics, counts, weights, ran: { onednn: after.onednn - before.onednn, im2col: after.im2col - before.im2col } };
    };
    const fallback = train('im2col');
    const onednn = train('onednn');
    expect(fallback.ran.onednn).toBe(0);
    expect(onednn.ran.im2col).toBe(0);
    expect(onednn.ran.onednn).toBe(fallback.ran.im2col);
    // Same start, same maths: float rounding only, which three Adam steps barely amplify.
    for (let i = 0; i < 3; i++) {
      for (const key of ['dLossReal', 'dLossFake', 'gLoss'] as const) expect(Math.abs(onednn.metrics[i][key] - fallback.metrics[i][key])).toBeLessThan(1e-4);
    }
    onednn.weights.forEach((w, i) => expect(relativeError(w, fallback.weights[i])).toBeLessThan(1e-4));
    expect(new Set(onednn.counts).size).toBe(1); // flat across steps
    expect(onednn.counts).toEqual(fallback.counts);
  });
});

describe('the default convolution engine', () => {
  it('is fixed by the CPU, never timed: oneDNN with AVX-512, im2col with AVX2 only or unknown', () => {
    expect(defaultConvEngine(new Set(['avx2', 'fma', 'avx512f', 'avx512bw']))).toBe('onednn');
    expect(defaultConvEngine(new Set(['avx2', 'fma']))).toBe('im2col');
    expect(defaultConvEngine(null)).toBe('im2col');
  });
});
