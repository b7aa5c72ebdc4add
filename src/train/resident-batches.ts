/**
 * The training images kept on the GPU, batches gathered there: on the webgpu backend
 * uploading each real batch costs more host time than the rest of the iteration (the
 * paper's MLP GAN: 256 x 120x120x3 floats = 44 MB, ~33 ms of an ~70 ms iteration on
 * the H100 machine). The dataset goes up once; each iteration then uploads B indices.
 * Same values as copyBatch + flipHorizontally (a copy, no arithmetic).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FaceDataset } from '../data/index.js';

/** Datasets above this stay on the host (per-batch uploads): GPU memory is for training. */
export const RESIDENT_DATASET_MAX_BYTES = 4e9;
/** Uploaded in pieces of at most this many bytes (one huge write strains the driver's staging memory). */
const UPLOAD_CHUNK_BYTES = 256e6;

export class ResidentBatches {
  private constructor(
    private readonly images: tf.Tensor4D,
    private readonly count: number,
  ) {}

  /** The dataset on the current backend, or null when it is too big to keep there. */
  static create(dataset: FaceDataset, { maxBytes = RESIDENT_DATASET_MAX_BYTES, chunkBytes = UPLOAD_CHUNK_BYTES } = {}): ResidentBatches | null {
    const imageSize = dataset.height * dataset.width * 3;
    if (dataset.count === 0 || dataset.count * imageSize * 4 > maxBytes) return null;
    const perChunk = Math.max(1, Math.floor(chunkBytes / (imageSize * 4)));
    const images = tf.tidy(() => {
      const chunks: tf.Tensor4D[] = [];
      for (let start = 0; start < dataset.count; start += perChunk) {
        const end = Math.min(dataset.count, start + perChunk);
        chunks.push(tf.tensor4d(dataset.images.subarray(start * imageSize, end * imageSize), [end - start, dataset.height, dataset.width, 3]));
      }
      return chunks.length === 1 ? chunks[0]! : tf.concat(chunks, 0);
    });
    return new ResidentBatches(images, dataset.count);
  }

  /** Images `indices` (NHWC, [-1, 1]); those with flips[i] mirrored left-right. The caller disposes it. */
  batch(indices: ArrayLike<number>, flips?: ArrayLike<boolean>): tf.Tensor4D {
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`batch: index ${index} is out of range 0..${this.count - 1}`);
    }
    return tf.tidy(() => {
      const batch = tf.gather(this.images, tf.tensor1d(Int32Array.from(indices), 'int32'));
      if (!flips || !Array.from(flips).some(Boolean)) return batch;
      const mask = tf.tensor4d(Array.from(flips, (f) => (f ? 1 : 0)), [indices.length, 1, 1, 1], 'bool');
      return tf.where(tf.broadcastTo(mask, batch.shape), tf.reverse(batch, 2), batch);
    });
  }

  dispose(): void {
    this.images.dispose();
  }
}
