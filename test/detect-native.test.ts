/**
 * Detection on the native cpu backend (native-kernels-mobile.ts: depthwise conv,
 * relu6, resize, pad, slice) gives what it gives on wasm, up to float rounding: the
 * face finder's boxes and scores, the probe backbone's features, and detectImage's
 * verdicts, on real UTKFace photos; no tensors leak; and with no backend asked for,
 * detection picks the native cpu backend where the addon has the kernels.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackbone, BACKBONE_INPUT } from '../src/detect/backbone.js';
import { detectImage } from '../src/detect/index.js';
import { currentEngine, initEngine } from '../src/engine/index.js';
import { nativeDetectionKernelsAvailable, nativeKernelStats } from '../src/engine/native.js';
import { findFaces, loadFaceModels, type FaceBox } from '../src/faces/index.js';
import { builtInDetector } from '../src/models/builtin.js';
import { UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

const native = nativeDetectionKernelsAvailable();
const NOT_BUILT = 'native addon not built with the detection kernels (npm run build:native): skipping native detection tests';
if (!native) console.warn(NOT_BUILT);
if (!UTKFACE_DIR) console.warn(UTKFACE_MISSING);

function photos(n: number): string[] {
  const names = readdirSync(UTKFACE_DIR!).filter((f) => f.endsWith('.jpg')).sort();
  return Array.from({ length: n }, (_, i) => join(UTKFACE_DIR!, names[Math.floor(((i + 0.5) * names.length) / n)]!));
}

/** Runs f on each backend in turn (the models' weights move with it). */
async function onBoth<T>(f: () => Promise<T>): Promise<{ wasm: T; cpu: T }> {
  await initEngine({ backend: 'wasm' });
  const wasm = await f();
  const engine = await initEngine({ backend: 'cpu' });
  expect(engine.nativeBlas).toBe(true);
  const before = nativeKernelStats().native;
  const cpu = await f();
  expect(nativeKernelStats().native).toBeGreaterThan(before);
  return { wasm, cpu };
}

function expectSameBoxes(cpu: FaceBox[], wasm: FaceBox[]): void {
  expect(cpu.length).toBe(wasm.length);
  cpu.forEach((box, i) => {
    const other = wasm[i]!;
    for (const key of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(box[key] - other[key])).toBeLessThan(0.05); // pixels
    expect(Math.abs(box.score - other.score)).toBeLessThan(1e-4);
  });
}

describe.skipIf(!native || !UTKFACE_DIR)('detection on the native cpu backend equals wasm', () => {
  afterAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  it('finds the same faces, boxes within 0.05 px and scores within 1e-4 (4 photos, a pair side by side)', async () => {
    await initEngine({ backend: 'wasm' });
    await loadFaceModels();
    const files = photos(4);
    const pair = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#808080' } })
      .composite([{ input: files[0]!, left: 0, top: 0 }, { input: files[1]!, left: 200, top: 0 }])
      .png()
      .toBuffer();
    const { wasm, cpu } = await onBoth(async () => Promise.all([...files, pair].map((file) => findFaces(file))));
    expect(wasm.flat().length).toBeGreaterThanOrEqual(4);
    cpu.forEach((boxes, i) => expectSameBoxes(boxes, wasm[i]!));
  }, 300_000);

  it('gives the same backbone features (within 1e-3 of their scale) on a face crop and its mirror', async () => {
    const crop = await sharp(photos(1)[0]!).resize(BACKBONE_INPUT, BACKBONE_INPUT).removeAlpha().raw().toBuffer();
    const mirror = await sharp(crop, { raw: { width: BACKBONE_INPUT, height: BACKBONE_INPUT, channels: 3 } }).flop().raw().toBuffer();
    const backbone = await loadBackbone();
    const weights = new Float32Array(backbone.featureLength).map((_, i) => Math.sin(i));
    const { wasm, cpu } = await onBoth(async () => backbone.features([new Uint8Array(crop), new Uint8Array(mirror)], weights));
    for (const [i, features] of cpu.features.entries()) {
      const reference = wasm.features[i]!;
      const scale = Math.max(...reference.map(Math.abs));
      const worst = Math.max(...features.map((v, k) => Math.abs(v - reference[k]!)));
      expect(worst / scale).toBeLessThan(1e-3);
      const map = cpu.maps![i]!;
      const mapScale = Math.max(...wasm.maps![i]!.map(Math.abs));
      expect(Math.max(...map.map((v, k) => Math.abs(v - wasm.maps![i]![k]!))) / mapScale).toBeLessThan(1e-3);
    }
  }, 300_000);

  it.skipIf(!builtInDetector())('detectImage gives the same verdicts and p(fake) within 1e-3, leaking no tensors', async () => {
    const files = photos(3);
    const { wasm, cpu } = await onBoth(async () => {
      const results = [];
      for (const file of files) results.push(await detectImage(file, { backend: tf.getBackend() as 'wasm' | 'cpu' }));
      return results;
    });
    cpu.forEach((result, i) => {
      const reference = wasm[i]!;
      expect(result.verdict).toBe(reference.verdict);
      expect(result.faces.length).toBe(reference.faces.length);
      result.faces.forEach((face, k) => {
        expect(Math.abs(face.pFake - reference.faces[k]!.pFake)).toBeLessThan(1e-3);
        expect(face.verdict).toBe(reference.faces[k]!.verdict);
      });
    });
    const before = tf.memory().numTensors;
    await detectImage(files[0]!, { backend: 'cpu' });
    await detectImage(files[1]!, { backend: 'cpu' });
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);

  it('runs detection on the native cpu backend when no backend is asked for', async () => {
    await initEngine({ backend: 'wasm' });
    await detectImage(photos(1)[0]!);
    expect(currentEngine()?.backend).toBe('cpu');
    expect(currentEngine()?.reason).toMatch(/^detection: the native addon has the detection kernels/);
  }, 300_000);
});

describe.skipIf(!native || !UTKFACE_DIR || !builtInDetector())('detection in the server’s model worker threads on the native cpu backend', () => {
  it('two workers (one addon, one process) detecting at once give what one gives alone', async () => {
    const { ModelPool } = await import('../src/server/model-pool.js');
    const pool = new ModelPool(2, { backend: 'auto', threads: 1 }, () => undefined);
    try {
      const { engine } = await pool.start();
      expect(engine.backend).toBe('cpu');
      const files = photos(4);
      const alone: Awaited<ReturnType<typeof detectImage>>[] = [];
      for (const file of files) alone.push(await pool.run({ kind: 'detect-image', file, opts: {} }));
      const together = await Promise.all([...files, ...files].map((file) => pool.run({ kind: 'detect-image', file, opts: {} })));
      together.forEach((result, i) => {
        const reference = alone[i % files.length]!;
        expect(result.faces.map((f) => [f.box, f.pFake])).toEqual(reference.faces.map((f) => [f.box, f.pFake]));
      });
    } finally {
      await pool.close();
    }
  }, 300_000);
});
