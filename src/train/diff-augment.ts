import * as tf from '@tensorflow/tfjs-core';
import type { DiffAugmentOp } from '../config/index.js';

/**
 * DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
 * Training"): the same random colour, translation and cutout on every batch D sees,
 * real and fake, made of differentiable tensor ops so G's gradient passes through.
 * The random parameters are drawn on the host from the run's RNG (drawDiffAugment),
 * so a resumed run repeats them; applyDiffAugment is pure tensor maths.
 * Zhao's settings: translation by up to 1/8 of the side (zero padding), one cutout
 * square of half the side.
 */
export interface DiffAugmentDraw {
  /** Per image, added to every value: uniform in [-0.5, 0.5). */
  brightness?: Float32Array;
  /** Per image, the distance from the per-pixel channel mean is scaled by: uniform in [0, 2). */
  saturation?: Float32Array;
  /** Per image, the distance from the image mean is scaled by: uniform in [0.5, 1.5). */
  contrast?: Float32Array;
  /** Per image, whole-pixel shifts down and right, in [-side/8, side/8]. */
  shiftY?: Int32Array;
  shiftX?: Int32Array;
  /** Per image, H x W: 0 inside the cutout square, 1 elsewhere. */
  cutoutMask?: Float32Array;
}

/** The order the operations run in, whatever order they were listed in (Zhao's). */
const ORDER: readonly DiffAugmentOp[] = ['color', 'translation', 'cutout'];

const TRANSLATION_RATIO = 1 / 8;
const CUTOUT_RATIO = 1 / 2;

/** Draws one batch's augmentation; `uniform` returns [0, 1) (the run's Rng). Nothing is drawn for an empty policy. */
export function drawDiffAugment(ops: readonly DiffAugmentOp[], batch: number, height: number, width: number, uniform: () => number): DiffAugmentDraw {
  const draw: DiffAugmentDraw = {};
  const perImage = (scale: number, offset: number) => Float32Array.from({ length: batch }, () => uniform() * scale + offset);
  const integer = (low: number, high: number) => Math.min(high, low + Math.floor(uniform() * (high - low + 1)));
  for (const op of ORDER.filter((o) => ops.includes(o))) {
    if (op === 'color') {
      draw.brightness = perImage(1, -0.5);
      draw.saturation = perImage(2, 0);
      draw.contrast = perImage(1, 0.5);
    } else if (op === 'translation') {
      const [maxY, maxX] = [Math.round(height * TRANSLATION_RATIO), Math.round(width * TRANSLATION_RATIO)];
      draw.shiftY = Int32Array.from({ length: batch }, () => integer(-maxY, maxY));
      draw.shiftX = Int32Array.from({ length: batch }, () => integer(-maxX, maxX));
    } else {
      const [sizeY, sizeX] = [Math.round(height * CUTOUT_RATIO), Math.round(width * CUTOUT_RATIO)];
      const mask = new Float32Array(batch * height * width).fill(1);
      for (let b = 0; b < batch; b++) {
        // The square's centre anywhere in the image; the square is clipped at the border.
        const [cy, cx] = [integer(0, height - 1), integer(0, width - 1)];
        for (let y = Math.max(0, cy - (sizeY >> 1)); y < Math.min(height, cy - (sizeY >> 1) + sizeY); y++) {
          mask.fill(0, b * height * width + y * width + Math.max(0, cx - (sizeX >> 1)), b * height * width + y * width + Math.min(width, cx - (sizeX >> 1) + sizeX));
        }
      }
      draw.cutoutMask = mask;
    }
  }
  return draw;
}

/** Per image [B, side, side] matrices M with M[i][j] = 1 when j = i - shift: out = M · rows shifts rows by `shift`, zero-filled. */
function shiftMatrices(shifts: Int32Array, side: number): tf.Tensor3D {
  const values = new Float32Array(shifts.length * side * side);
  shifts.forEach((shift, b) => {
    for (let i = 0; i < side; i++) {
      const j = i - shift;
      if (j >= 0 && j < side) values[b * side * side + i * side + j] = 1;
    }
  });
  return tf.tensor3d(values, [shifts.length, side, side]);
}

/** Applies a draw to an NHWC batch; differentiable in `images`. */
export function applyDiffAugment(images: tf.Tensor4D, draw: DiffAugmentDraw): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, height, width, channels] = images.shape;
    let x: tf.Tensor4D = images;
    const perImage = (values: Float32Array) => tf.tensor4d(values, [batch, 1, 1, 1]);
    if (draw.brightness) x = tf.add(x, perImage(draw.brightness));
    if (draw.saturation) {
      const mean = tf.mean(x, 3, true);
      x = tf.add(tf.mul(tf.sub(x, mean), perImage(draw.saturation)), mean);
    }
    if (draw.contrast) {
      const mean = tf.mean(x, [1, 2, 3], true);
      x = tf.add(tf.mul(tf.sub(x, mean), perImage(draw.contrast)), mean);
    }
    if (draw.shiftY) x = tf.reshape(tf.matMul(shiftMatrices(draw.shiftY, height), tf.reshape(x, [batch, height, width * channels])), [batch, height, width, channels]);
    if (draw.shiftX) {
      const columns = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch, width, height * channels]);
      const shifted = tf.reshape(tf.matMul(shiftMatrices(draw.shiftX, width), columns), [batch, width, height, channels]);
      x = tf.transpose(shifted, [0, 2, 1, 3]) as tf.Tensor4D;
    }
    if (draw.cutoutMask) x = tf.mul(x, tf.tensor4d(draw.cutoutMask, [batch, height, width, 1]));
    return x;
  });
}
