/**
 * Deterministic test inputs: a linear congruential generator, so that a seed gives
 * the same values in every test file and process (no Math.random).
 *
 *   const x = randomTensor([2, 9, 7, 3], 1);   // float32 values in [-1, 1)
 *   const v = randomArray(70_001, 9, 10);      // in [-10, 10)
 */
import * as tf from '@tensorflow/tfjs-core';

/** n values in [-scale, scale) from `seed`, in a Float32Array of its own. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** randomArray with one value per element of `shape`. */
export const randomValues = (shape: readonly number[], seed: number, scale = 1): Float32Array =>
  randomArray(shape.reduce((a, b) => a * b, 1), seed, scale);

/** A float32 tensor of randomValues (on the current backend). */
export const randomTensor = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.tensor(randomValues(shape, seed, scale), shape);
