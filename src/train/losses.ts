import * as tf from '@tensorflow/tfjs-core';
import type { GanLoss } from '../config/index.js';
import { AGE_BUCKETS, GENDERS, RACES } from '../data/conditions.js';

/**
 * Binary cross-entropy of D's logits against one target for the whole batch,
 * computed stably: max(x, 0) - x·t + log(1 + e^-|x|). This is what TF-Keras does
 * for a sigmoid output (it recovers the logits); cross-entropy on clipped
 * probabilities, by contrast, has zero gradient once D is sure (p < 1e-7), and G
 * then stops learning for good.
 */
export function binaryCrossEntropyWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, target)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))) as tf.Scalar);
}

/** D's hinge loss on one side (Lim & Ye 2017, as BigGAN): mean(relu(1 - x)) on real images, mean(relu(1 + x)) on fakes. */
export function hingeDiscriminatorLoss(logits: tf.Tensor, label: 0 | 1): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.relu(label === 1 ? tf.sub(1, logits) : tf.add(1, logits))) as tf.Scalar);
}

/** G's hinge loss: -mean(x) on D's logits for its fakes. */
export function hingeGeneratorLoss(logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(logits)) as tf.Scalar);
}

/**
 * D's loss on one batch of one label. `target` is the non-saturating loss's target
 * (1 - label smoothing for real images); the hinge loss has margins instead.
 */
export function discriminatorLoss(kind: GanLoss, logits: tf.Tensor, label: 0 | 1, target: number): tf.Scalar {
  return kind === 'hinge' ? hingeDiscriminatorLoss(logits, label) : binaryCrossEntropyWithLogits(logits, target);
}

/** G's loss on D's logits for its fakes: non-saturating (cross-entropy against 1) or hinge. */
export function generatorLoss(kind: GanLoss, logits: tf.Tensor): tf.Scalar {
  return kind === 'hinge' ? hingeGeneratorLoss(logits) : binaryCrossEntropyWithLogits(logits, 1);
}

/** Where each label group sits in a one-hot condition vector: [start, length]. */
const CONDITION_GROUPS: readonly (readonly [number, number])[] = [
  [0, AGE_BUCKETS.length],
  [AGE_BUCKETS.length, GENDERS.length],
  [AGE_BUCKETS.length + GENDERS.length, RACES.length],
];

/**
 * AC-GAN's class loss: for each label group (age bucket, gender, race), softmax
 * cross-entropy of the class head's logits (B x CONDITION_SIZE) against the one-hot
 * labels; the mean over the batch, summed over the three groups.
 */
export function conditionCrossEntropy(classLogits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const perGroup = CONDITION_GROUPS.map(([start, length]) => {
      const logits = tf.slice(classLogits, [0, start], [-1, length]);
      const labels = tf.slice(oneHot, [0, start], [-1, length]);
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1)));
    });
    return tf.addN(perGroup) as tf.Scalar;
  });
}
