import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyBatch, type FaceDataset } from '../data/index.js';
import { flipHorizontally } from './augment.js';
import { ResidentBatches } from './resident-batches.js';
import { Rng } from './rng.js';

function dataset(count: number, side: number): FaceDataset {
  const rng = new Rng(5);
  const images = new Float32Array(count * side * side * 3).map(() => rng.uniform() * 2 - 1);
  return { images, count, height: side, width: side, files: [], labels: [], skipped: [], fromCache: false };
}

describe('ResidentBatches', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    ['one upload', {}],
    ['uploaded in chunks of 3 images', { chunkBytes: 3 * 5 * 5 * 3 * 4 }],
  ])('gathers exactly what copyBatch + flipHorizontally make (%s)', async (_, options) => {
    const ds = dataset(10, 5);
    const resident = ResidentBatches.create(ds, options)!;
    const indices = [3, 9, 0, 3, 7];
    const flips = [true, false, false, true, true];
    const expected = copyBatch(ds, indices);
    flipHorizontally(expected, flips, 5, 5);
    const before = tf.memory().numTensors;
    const batch = resident.batch(indices, flips);
    expect(batch.shape).toEqual([5, 5, 5, 3]);
    expect(Array.from(await batch.data())).toEqual(Array.from(expected));
    const plain = resident.batch(indices);
    expect(Array.from(await plain.data())).toEqual(Array.from(copyBatch(ds, indices)));
    tf.dispose([batch, plain]);
    expect(tf.memory().numTensors).toBe(before);
    resident.dispose();
  });

  it('stays on the host when the dataset is too big, and refuses indices out of range', () => {
    const ds = dataset(4, 3);
    expect(ResidentBatches.create(ds, { maxBytes: 4 * 3 * 3 * 3 * 4 - 1 })).toBeNull();
    const resident = ResidentBatches.create(ds)!;
    expect(() => resident.batch([0, 4])).toThrow(/index 4 is out of range 0..3/);
    expect(() => resident.batch([-1])).toThrow(/out of range/);
    resident.dispose();
  });
});
