import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/index.js';
import { Rng } from '../train/rng.js';
import { buildGan } from './index.js';
import { loadLayersModel, saveLayersModel } from './io.js';
import { loadModelPack, saveModelPack } from './pack.js';
import { float32ToFloat16Bits, quantizeWeights } from './quantize.js';

let work: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  work = await mkdtemp(join(tmpdir(), 'fakeface-quantize-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const seeds = (seed: number) => {
  const rng = new Rng(seed);
  return () => rng.childSeed();
};

describe('float16 encoding', () => {
  it('matches IEEE binary16 on exact values, rounding, subnormals and overflow', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(0.5)).toBe(0x3800);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0); // rounds to zero
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie: to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: to even (up)
    expect(float32ToFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
  });
});

describe('quantized weights', () => {
  const specs: tf.io.WeightsManifestEntry[] = [
    { name: 'a', shape: [2, 3], dtype: 'float32' },
    { name: 'b', shape: [4], dtype: 'float32' },
  ];
  const values = new Float32Array([0.1, -0.25, 3.5, 1e-3, -7, 0, 2, 2, 2, 2]);

  for (const dtype of ['float16', 'uint8'] as const) {
    it(`${dtype}: tfjs dequantizes them back within the format's precision`, () => {
      const { specs: out, data } = quantizeWeights(specs, values.buffer.slice(0), dtype);
      expect(data.byteLength).toBe(values.length * (dtype === 'float16' ? 2 : 1));
      const decoded = tf.io.decodeWeights(data, out);
      const back = [...(decoded.a!.dataSync() as Float32Array), ...(decoded.b!.dataSync() as Float32Array)];
      const tolerance = dtype === 'float16' ? 1e-3 * 7 : (3.5 + 7) / 255 / 2 + 1e-6;
      back.forEach((v, i) => expect(Math.abs(v - values[i]!)).toBeLessThanOrEqual(tolerance));
      expect(back.slice(6)).toEqual([2, 2, 2, 2]); // a constant tensor survives exactly
      tf.dispose(Object.values(decoded));
    });
  }

  it('a saved float16 model is half the size and predicts what the float32 one does, to float16 precision', async () => {
    const config = resolveConfig('dcgan-tiny');
    const { generator, discriminator } = buildGan(config, seeds(3));
    await saveLayersModel(generator, join(work, 'g32'));
    await saveLayersModel(generator, join(work, 'g16'), 'float16');
    const size32 = (await readFile(join(work, 'g32', 'weights.bin'))).byteLength;
    const size16 = (await readFile(join(work, 'g16', 'weights.bin'))).byteLength;
    expect(size16 * 2).toBe(size32);
    const loaded = await loadLayersModel(join(work, 'g16'));
    const z = tf.randomNormal([4, config.latentDim], 0, 1, 'float32', 1);
    const [a, b] = [generator.predict(z) as tf.Tensor, loaded.predict(z) as tf.Tensor];
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    expect(diff).toBeGreaterThan(0); // really quantized
    expect(diff).toBeLessThan(0.02);
    tf.dispose([z, a, b]);
    loaded.dispose();
    generator.dispose();
    discriminator.dispose();
  });

  it('an exported generator folder round-trips its card and weights', async () => {
    const config = resolveConfig('dcgan-tiny');
    const { generator, discriminator } = buildGan(config, seeds(4));
    const dir = join(work, 'pack');
    const card = await saveModelPack(dir, generator, { name: 'test-pack', createdAt: 'now', config, iteration: 7, source: { run: 'runs/x', commandLines: ['fakeface export runs/x'] } }, 'uint8');
    expect(card.weights).toEqual({ dtype: 'uint8', bytes: generator.countParams(), params: generator.countParams() });
    const { model, card: read } = await loadModelPack(dir);
    expect(read).toEqual(card);
    expect(model.outputs[0]!.shape).toEqual([null, 32, 32, 3]);
    model.dispose();
    generator.dispose();
    discriminator.dispose();
  });
});
