import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installLeanGradients, uninstallLeanGradients } from './gradients.js';

type Reduce = (x: tf.Tensor) => tf.Tensor;

/** d(sum(w · f(x)))/dx with random weights w, so every element of dy differs. */
function gradientOf(reduce: Reduce, x: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const w = tf.randomNormal(reduce(x).shape, 0, 1, 'float32', 3);
    return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(reduce(input), w)))(x).dataSync() as Float32Array;
  });
}

const cases: Array<[string, Reduce]> = [
  ['sum over all', (x) => tf.sum(x)],
  ['sum over axis 0', (x) => tf.sum(x, 0)],
  ['sum over axes [0, 2], keepDims', (x) => tf.sum(x, [0, 2], true)],
  ['mean over all', (x) => tf.mean(x)],
  ['mean over axes [0, 1, 2] (BatchNorm moments)', (x) => tf.mean(x, [0, 1, 2])],
  ['mean over axis -1, keepDims', (x) => tf.mean(x, -1, true)],
];

describe('lean Sum and Mean gradients', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => installLeanGradients());

  it('keeps tfjs-core\'s own gradient off webgpu', () => {
    uninstallLeanGradients();
    const tfjsOwn = tf.getGradient(tf.Mean)!.gradFunc;
    installLeanGradients();
    expect(tf.getGradient(tf.Mean)!.gradFunc).not.toBe(tfjsOwn);
    // On cpu the installed gradient delegates to tfjs-core's.
    const x = tf.randomNormal([3, 4]);
    const grads = tf.getGradient(tf.Mean)!.gradFunc(tf.ones([4]), [x], { axis: 0 } as unknown as tf.NamedAttrMap) as { x: () => tf.Tensor };
    const g = grads.x();
    expect(Array.from(g.dataSync())).toEqual(new Array(12).fill(1 / 3).map(Math.fround));
    tf.dispose([x, g]);
  });

  it.each(cases)('%s: bit for bit the same as tfjs-core\'s', (_, reduce) => {
    const x = tf.randomNormal([4, 5, 6, 3], 0, 1, 'float32', 1);
    uninstallLeanGradients();
    const reference = gradientOf(reduce, x);
    installLeanGradients({ everywhere: true }); // the webgpu path, run on cpu
    const lean = gradientOf(reduce, x);
    expect(lean.length).toBe(x.size);
    expect(Array.from(lean)).toEqual(Array.from(reference));
    // The test can tell gradients apart: not all zero, and not constant unless x reduces to a scalar.
    expect(reference.some((v) => v !== 0)).toBe(true);
    if (reduce(x).size > 1) expect(reference.some((v) => v !== reference[0])).toBe(true);
    x.dispose();
  });

  it('leaves no tensors behind', () => {
    installLeanGradients({ everywhere: true });
    const x = tf.randomNormal([8, 4, 4, 2]);
    gradientOf((t) => tf.mean(t, [0, 1, 2]), x);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) gradientOf((t) => tf.mean(t, [0, 1, 2]), x);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
