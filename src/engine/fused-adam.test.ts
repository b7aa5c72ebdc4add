import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedAdamOptimizer } from './fused-adam.js';
import { nativeBlasAvailable, registerNativeKernels } from './native.js';

const built = nativeBlasAvailable();
if (!built) console.warn('native BLAS addon not built: FusedAdamOptimizer tests cover its tensor path only');

/** A small MLP with fixed initial weights; the same seed gives the same model. */
function buildModel(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 12, inputShape: [8], activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), biasInitializer: 'ones' }),
      tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
}

const x = () => tf.tensor2d(Array.from({ length: 6 * 8 }, (_, i) => Math.sin(i * 0.7)), [6, 8]);
const y = () => tf.tensor2d([1, 0, 1, 1, 0, 0], [6, 1]);

/** `steps` minimize() calls on the model's weights. */
function train(model: tfl.Sequential, optimizer: tf.Optimizer, steps: number, afterStep?: () => void): void {
  const [xs, ys] = [x(), y()];
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(ys, model.apply(xs) as tf.Tensor) as tf.Scalar, false, vars);
    });
    afterStep?.();
  }
  tf.dispose([xs, ys]);
}

const weightsOf = (model: tfl.Sequential) => model.getWeights().map((w) => Array.from(w.dataSync()));

async function optimizerState(optimizer: tf.Optimizer): Promise<{ names: string[]; values: number[][] }> {
  const weights = await optimizer.getWeights();
  const state = { names: weights.map((w) => w.name.replace(/^.*\//, '*/')), values: weights.map((w) => Array.from(w.tensor.dataSync())) };
  weights[0].tensor.dispose(); // the iteration count scalar is made for the caller
  return state;
}

describe('FusedAdamOptimizer', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    registerNativeKernels('cpu');
  });

  it.skipIf(!built)('updates the variables in place and equals tf.train.adam over 5 steps', async () => {
    const reference = buildModel();
    const fused = buildModel();
    const adam = tf.train.adam(0.01, 0.8, 0.99, 1e-6);
    const fusedAdam = new FusedAdamOptimizer(0.01, 0.8, 0.99, 1e-6);
    train(reference, adam, 5);
    // In place: the variables keep their memory (tf.train.adam's assign() replaces it).
    const dataIds = fused.trainableWeights.map((w) => (w.read() as tf.Variable).dataId);
    train(fused, fusedAdam, 5);
    expect(fused.trainableWeights.map((w) => (w.read() as tf.Variable).dataId)).toEqual(dataIds);

    expect(weightsOf(fused)).toEqual(weightsOf(reference));
    expect(weightsOf(fused)).not.toEqual(weightsOf(buildModel()));
    const [adamState, fusedState] = [await optimizerState(adam), await optimizerState(fusedAdam)];
    expect(fusedState.names).toEqual(['iter', '*/m', '*/m', '*/m', '*/m', '*/v', '*/v', '*/v', '*/v']);
    expect(fusedState).toEqual(adamState);
    expect(fusedState.values[0]).toEqual([5]);
    adam.dispose();
    fusedAdam.dispose();
  });

  it('takes the tensor path while variable memory is shared, and still equals tf.train.adam', async () => {
    const reference = buildModel();
    const fused = buildModel();
    const adam = tf.train.adam(0.02);
    const fusedAdam = new FusedAdamOptimizer(0.02);
    // A clone shares its variable's memory: updating that in place would change the
    // clone. Cloning before every step keeps every update on the tensor path.
    const vars = fused.trainableWeights.map((w) => w.read() as tf.Variable);
    const clones: Array<{ tensor: tf.Tensor; values: number[] }> = [];
    const cloneAll = () => vars.forEach((v) => clones.push({ tensor: v.clone(), values: Array.from(v.dataSync()) }));
    cloneAll();
    train(reference, adam, 3);
    train(fused, fusedAdam, 3, cloneAll);
    for (const clone of clones) expect(Array.from(clone.tensor.dataSync())).toEqual(clone.values);
    expect(weightsOf(fused)).toEqual(weightsOf(reference));
    expect(await optimizerState(fusedAdam)).toEqual(await optimizerState(adam));
    tf.dispose(clones.map((c) => c.tensor));
    adam.dispose();
    fusedAdam.dispose();
  });

  it('keeps the tensor count flat across steps', () => {
    const model = buildModel();
    const optimizer = new FusedAdamOptimizer(0.01);
    train(model, optimizer, 1);
    const counts: number[] = [];
    train(model, optimizer, 4, () => counts.push(tf.memory().numTensors));
    expect(new Set(counts).size).toBe(1);
    optimizer.dispose();
    model.dispose();
  });

  it('saves and restores its state in AdamOptimizer format, both ways', async () => {
    // Train 3 steps, checkpoint, continue 2 steps: with either optimizer restoring
    // the other's checkpoint, the run equals 5 uninterrupted tf.train.adam steps.
    const reference = buildModel();
    const adam = tf.train.adam(0.01);
    train(reference, adam, 5);

    for (const [First, Second] of [
      [FusedAdamOptimizer, FusedAdamOptimizer],
      [tf.AdamOptimizer, FusedAdamOptimizer],
      [FusedAdamOptimizer, tf.AdamOptimizer],
    ] as const) {
      const model = buildModel();
      const first = new First(0.01, 0.9, 0.999);
      train(model, first, 3);
      const saved = (await first.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
      first.dispose();
      const second = new Second(0.01, 0.9, 0.999);
      await second.setWeights(saved);
      tf.dispose(saved.map((w) => w.tensor));
      expect(second.iterations).toBe(3);
      train(model, second, 2);
      expect(weightsOf(model)).toEqual(weightsOf(reference));
      second.dispose();
      model.dispose();
    }
    expect(new FusedAdamOptimizer().getClassName()).toBe(adam.getClassName());

    // Restoring its own live state is a no-op that leaks nothing.
    const model = buildModel();
    const optimizer = new FusedAdamOptimizer(0.01);
    train(model, optimizer, 2);
    const before = await optimizerState(optimizer);
    const tensors = tf.memory().numTensors;
    const own = await optimizer.getWeights();
    await optimizer.setWeights(own);
    own[0].tensor.dispose(); // the iteration count scalar
    expect(tf.memory().numTensors).toBe(tensors);
    expect(await optimizerState(optimizer)).toEqual(before);
    optimizer.dispose();
    model.dispose();
    adam.dispose();
  });

  it('round-trips its config', () => {
    const optimizer = new FusedAdamOptimizer(0.0002, 0.5, 0.9, 1e-8);
    expect(optimizer.getConfig()).toEqual({ learningRate: 0.0002, beta1: 0.5, beta2: 0.9, epsilon: 1e-8 });
    const copy = FusedAdamOptimizer.fromConfig(FusedAdamOptimizer, optimizer.getConfig());
    expect(copy).toBeInstanceOf(FusedAdamOptimizer);
    expect(copy.getConfig()).toEqual(optimizer.getConfig());
    expect(new FusedAdamOptimizer().getConfig()).toEqual(tf.train.adam().getConfig());
  });
});
