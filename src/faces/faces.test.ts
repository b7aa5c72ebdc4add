import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_DIR } from '../../test/helpers/data.js';
import { ImageDecodeError } from '../errors.js';
import { cropFace, faceDescriptors, FACE_FEATURE_NETWORK, findFaces, loadFaceModels, type FaceBox } from './index.js';
import { squareRegion } from './detect.js';

const SKIP_NOTE = 'UTKFace not found beside the repo (../shared/data/utkface-crop_part1): skipping face tests on real photos';
if (!UTKFACE_DIR) console.warn(SKIP_NOTE);

/** n photos spread evenly over the sorted folder (all ages and groups, not the first n). */
function samplePhotos(n: number): string[] {
  const names = readdirSync(UTKFACE_DIR!).filter((f) => f.endsWith('.jpg')).sort();
  return Array.from({ length: n }, (_, i) => join(UTKFACE_DIR!, names[Math.floor(((i + 0.5) * names.length) / n)]!));
}

function distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

const WHOLE: FaceBox = { x: 0, y: 0, width: 200, height: 200, score: 0 };

describe('squareRegion', () => {
  it('centres a square of the longer side plus margin on the box', () => {
    expect(squareRegion({ x: 100, y: 100, width: 40, height: 50, score: 1 }, 0.2, 400, 300)).toEqual({
      left: 85,
      top: 90,
      width: 70,
      height: 70,
    });
  });
  it('moves the square inside the image, and shrinks it to the shorter side', () => {
    expect(squareRegion({ x: 0, y: 0, width: 30, height: 30, score: 1 }, 0.5, 100, 100)).toEqual({ left: 0, top: 0, width: 60, height: 60 });
    expect(squareRegion({ x: 150, y: 10, width: 80, height: 80, score: 1 }, 0.2, 200, 100)).toEqual({ left: 100, top: 0, width: 100, height: 100 });
  });
});

describe.skipIf(!UTKFACE_DIR)('faces on real photos (wasm backend)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await loadFaceModels();
    await loadFaceModels(); // idempotent
  });

  it('finds a face inside each of 20 UTKFace photos (at least 18)', async () => {
    const photos = samplePhotos(20);
    let withFace = 0;
    for (const photo of photos) {
      const boxes = await findFaces(photo);
      if (boxes.length >= 1) withFace++;
      for (const b of boxes) {
        expect(b.x).toBeGreaterThanOrEqual(0);
        expect(b.y).toBeGreaterThanOrEqual(0);
        expect(b.x + b.width).toBeLessThanOrEqual(200);
        expect(b.y + b.height).toBeLessThanOrEqual(200);
        expect(b.width).toBeGreaterThan(50); // a face, not a speck
        expect(b.score).toBeGreaterThanOrEqual(0.5);
      }
    }
    expect(withFace).toBeGreaterThanOrEqual(18);
  }, 600_000);

  it('finds 2 faces in two photos side by side, one in each half', async () => {
    const [left, right] = samplePhotos(2);
    const pair = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#808080' } })
      .composite([
        { input: left!, left: 0, top: 0 },
        { input: right!, left: 200, top: 0 },
      ])
      .png()
      .toBuffer();
    const boxes = await findFaces(pair);
    expect(boxes).toHaveLength(2);
    const centres = boxes.map((b) => b.x + b.width / 2).sort((a, b) => a - b);
    expect(centres[0]).toBeLessThan(200);
    expect(centres[1]).toBeGreaterThan(200);
  }, 600_000);

  it('finds no face in a flat gray image', async () => {
    const gray = { pixels: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 };
    expect(await findFaces(gray)).toEqual([]);
  });

  it('crops a face to size x size RGB in [-1, 1]', async () => {
    const [photo] = samplePhotos(1);
    const [box] = await findFaces(photo!);
    const crop = await cropFace(photo!, box!, 64);
    expect(crop).toHaveLength(64 * 64 * 3);
    expect(Math.min(...crop)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...crop)).toBeLessThanOrEqual(1);
    expect(Math.max(...crop) - Math.min(...crop)).toBeGreaterThan(0.5); // a picture, not a flat fill
  });

  it('gives 128-d descriptors; two crops of one photo are closer than crops of two people', async () => {
    const photos = samplePhotos(8);
    const tight: Float32Array[] = [];
    const loose: Float32Array[] = [];
    for (const photo of photos) {
      const box = (await findFaces(photo))[0] ?? WHOLE;
      tight.push(await cropFace(photo, box, 64, 0));
      loose.push(await cropFace(photo, box, 64, 0.25));
    }
    const a = await faceDescriptors(tight, 64);
    const b = await faceDescriptors(loose, 64);
    expect(a).toHaveLength(8);
    for (const d of [...a, ...b]) {
      expect(d).toHaveLength(128);
      const norm = Math.hypot(...d);
      expect(norm).toBeGreaterThan(0.8); // face-api's raw output: ~1.3-1.6, not re-normalised
      expect(norm).toBeLessThan(2.5);
    }
    let same = 0;
    let different = 0;
    for (let i = 0; i < 8; i++) {
      same += distance(a[i]!, b[i]!) / 8;
      for (let j = 0; j < 8; j++) if (j !== i) different += distance(a[i]!, b[j]!) / 56;
    }
    expect(same).toBeLessThan(different * 0.75);
  }, 900_000);

  it('describes 32x32 crops given as a [n, 32, 32, 3] tensor, and grayscale crops', async () => {
    const photos = samplePhotos(3);
    const crops = await Promise.all(photos.map((p) => cropFace(p, WHOLE, 32)));
    const batch = tf.tensor4d(Float32Array.from(crops.flatMap((c) => [...c])), [3, 32, 32, 3]);
    const fromTensor = await faceDescriptors(batch, 32);
    const fromArrays = await faceDescriptors(crops, 32);
    batch.dispose();
    expect(fromTensor).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(distance(fromTensor[i]!, fromArrays[i]!)).toBeLessThan(1e-4);
    const gray = crops.map((c) => Float32Array.from({ length: 32 * 32 }, (_, p) => (c[p * 3]! + c[p * 3 + 1]! + c[p * 3 + 2]!) / 3));
    const fromGray = await faceDescriptors(gray, 32);
    expect(fromGray.every((d) => d.length === 128 && d.every(Number.isFinite))).toBe(true);
    await expect(faceDescriptors([new Float32Array(10)], 32)).rejects.toThrow(/crop 0 has 10 values/);
  });

  it('does not leak tensors across calls', async () => {
    const [photo] = samplePhotos(1);
    const once = async () => {
      const boxes = await findFaces(photo!);
      const crop = await cropFace(photo!, boxes[0] ?? WHOLE, 64);
      await faceDescriptors([crop, crop], 64);
    };
    await once(); // warm-up: backends allocate their own scratch tensors on first use
    const before = tf.memory().numTensors;
    await once();
    await once();
    expect(tf.memory().numTensors).toBe(before);
  }, 600_000);

  it('names the feature network and its version', () => {
    expect(FACE_FEATURE_NETWORK).toMatch(/^face-api faceRecognitionNet .*@vladmandic\/face-api 1\.7\.\d+$/);
  });

  it('rejects a file that is not an image with ImageDecodeError naming it', async () => {
    await expect(findFaces(Buffer.from('not an image'))).rejects.toThrow(ImageDecodeError);
    await expect(findFaces('/nonexistent/face.jpg')).rejects.toThrow(/\/nonexistent\/face\.jpg: cannot read file \(ENOENT\)/);
  });
});
