import type * as tf from '@tensorflow/tfjs-core';

/**
 * Weight quantization in the TensorFlow.js weights-manifest format, so any tfjs
 * loader (ours, `tf.loadLayersModel` in a browser) dequantizes on load:
 * - `float16`: IEEE half precision, round to nearest even (2 bytes a weight);
 * - `uint8`: affine per tensor, w ≈ min + scale · q (1 byte a weight).
 * `float32` leaves the weights as they are.
 */
export type WeightDtype = 'float32' | 'float16' | 'uint8';

export const WEIGHT_DTYPES: readonly WeightDtype[] = ['float32', 'float16', 'uint8'];

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** IEEE 754 binary16 bits of a float32, rounded to nearest even; overflow gives ±Infinity. */
export function float32ToFloat16Bits(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf / NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && result & 1)) result++;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && result & 1)) result++; // may carry into the exponent: still right
  return sign | result;
}

/** Bytes one stored value of a manifest entry takes (its quantized dtype, else 4). */
export function bytesPerStoredValue(spec: tf.io.WeightsManifestEntry): number {
  const dtype = spec.quantization?.dtype;
  if (dtype === 'float16' || dtype === 'uint16') return 2;
  if (dtype === 'uint8') return 1;
  return 4;
}

/**
 * Re-encodes float32 weights (specs + concatenated data, as a tfjs save handler
 * gets them) at `dtype`. Non-float32 weights pass through unchanged.
 */
export function quantizeWeights(
  specs: tf.io.WeightsManifestEntry[],
  data: ArrayBuffer,
  dtype: WeightDtype,
): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  if (dtype === 'float32') return { specs, data };
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = count * bytesPerStoredValue(spec);
    const raw = data.slice(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== 'float32' || spec.quantization) {
      outSpecs.push(spec);
      chunks.push(new Uint8Array(raw));
      continue;
    }
    const values = new Float32Array(raw);
    if (dtype === 'float16') {
      const half = new Uint16Array(count);
      for (let i = 0; i < count; i++) half[i] = float32ToFloat16Bits(values[i]!);
      outSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
      chunks.push(new Uint8Array(half.buffer));
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (count === 0) min = max = 0;
      const scale = max > min ? (max - min) / 255 : 1;
      const q = new Uint8Array(count);
      for (let i = 0; i < count; i++) q[i] = Math.round((values[i]! - min) / scale);
      outSpecs.push({ ...spec, quantization: { dtype: 'uint8', min, scale } });
      chunks.push(q);
    }
  }
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return { specs: outSpecs, data: out.buffer };
}
