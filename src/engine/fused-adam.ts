/**
 * A drop-in for `tf.train.adam` that, on the tfjs `cpu` backend with the native
 * addon, updates each variable and its two moments in place in one native loop:
 * no tensors per step (tf.train.adam makes about ten temporaries per variable, i.e.
 * gigabytes of fresh memory per step for the MLP GAN). Same arithmetic as tfjs'
 * AdamOptimizer (equal results), same getWeights()/setWeights() layout and class
 * name 'Adam', so checkpoints move freely between the two. On the webgpu backend one
 * shader does the same in place (src/engine/webgpu-kernels.ts). Elsewhere it runs
 * AdamOptimizer's tensor maths.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon, type NativeAddon } from './native.js';
import { adamUpdateWebGpu } from './webgpu-kernels.js';

/** tfjs-core's NamedTensor (not re-exported from its index). */
type NamedTensor = { name: string; tensor: tf.Tensor };

interface TensorData {
  values?: unknown;
  refCount?: number;
}

interface CpuBackendLike {
  data: { get(dataId: object): TensorData | undefined; has(dataId: object): boolean };
}

interface Moments {
  m: tf.Variable;
  v: tf.Variable;
}

/** A moment variable and the name it is saved under (`<variable>/m` or `/v`). */
interface MomentVariable {
  originalName: string;
  variable: tf.Variable;
}

export class FusedAdamOptimizer extends tf.Optimizer {
  /** AdamOptimizer's name: a saved optimizer config restores as either class. */
  static get className(): string {
    return 'Adam';
  }

  epsilon: number;
  // beta^t as tfjs keeps them: float32 products, t = iterations + 1.
  private accBeta1: number;
  private accBeta2: number;
  private accumulatedFirstMoment: MomentVariable[] = [];
  private accumulatedSecondMoment: MomentVariable[] = [];

  constructor(
    public learningRate = 0.001,
    public beta1 = 0.9,
    public beta2 = 0.999,
    epsilon: number | null = null,
  ) {
    super();
    this.epsilon = epsilon ?? tf.backend().epsilon();
    this.accBeta1 = Math.fround(beta1);
    this.accBeta2 = Math.fround(beta2);
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const native = loadNativeAddon();
    const backend = native && tf.getBackend() === 'cpu' ? (tf.backend() as unknown as CpuBackendLike) : null;
    const oneMinusAccBeta1 = Math.fround(1 - this.accBeta1);
    const oneMinusAccBeta2 = Math.fround(1 - this.accBeta2);
    const step = { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, accBeta1: this.accBeta1, accBeta2: this.accBeta2 };

    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      // Moments are indexed by position, like AdamOptimizer (same checkpoint layout).
      this.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      this.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (gradient == null) return;
      const moments = { m: this.accumulatedFirstMoment[i].variable, v: this.accumulatedSecondMoment[i].variable };
      if (native && backend && this.updateInPlace(native, backend, value, gradient, moments)) return;
      if (adamUpdateWebGpu(value, gradient, moments.m, moments.v, step)) return;

      tf.tidy(() => {
        const m = tf.add(tf.mul(moments.m, this.beta1), tf.mul(gradient, 1 - this.beta1));
        const v = tf.add(tf.mul(moments.v, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
        const mHat = tf.div(m, oneMinusAccBeta1);
        const vHat = tf.div(v, oneMinusAccBeta2);
        moments.m.assign(m);
        moments.v.assign(v);
        value.assign(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate), value));
      });
    });
    this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(this.beta1));
    this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(this.beta2));
    this.incrementIterations();
  }

  /**
   * The native update, when the variable, its gradient and moments are distinct,
   * unshared (refCount 1: mutating memory another tensor reads would change that
   * tensor) float32 cpu tensors. Returns false to take the tensor path instead.
   */
  private updateInPlace(native: NativeAddon, backend: CpuBackendLike, value: tf.Variable, gradient: tf.Tensor, moments: Moments): boolean {
    const tensors = [value, gradient, moments.m, moments.v];
    if (new Set(tensors.map((t) => t.dataId)).size !== 4) return false;
    const arrays: Float32Array[] = [];
    for (const [index, tensor] of tensors.entries()) {
      if (tensor.dtype !== 'float32' || tensor.size !== value.size || !backend.data.has(tensor.dataId)) return false;
      const data = backend.data.get(tensor.dataId);
      const mutated = index !== 1;
      if (!data || !(data.values instanceof Float32Array) || data.values.length !== value.size) return false;
      if (mutated && data.refCount !== 1) return false;
      arrays.push(data.values);
    }
    if (new Set(arrays.map((a) => a.buffer)).size !== 4) return false;
    const [param, grad, m, v] = arrays;
    native.adamUpdate(param, grad, m, v, this.learningRate, this.beta1, this.beta2, this.epsilon, this.accBeta1, this.accBeta2);
    return true;
  }

  override dispose(): void {
    tf.dispose([...this.accumulatedFirstMoment, ...this.accumulatedSecondMoment].map((w) => w.variable));
    this.accumulatedFirstMoment = [];
    this.accumulatedSecondMoment = [];
  }

  override async getWeights(): Promise<NamedTensor[]> {
    // Order matters for Python compatibility (as in AdamOptimizer).
    const moments = [...this.accumulatedFirstMoment, ...this.accumulatedSecondMoment];
    return [await this.saveIterations(), ...moments.map((w) => ({ name: w.originalName, tensor: w.variable }))];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    // AdamOptimizer recomputes beta^(t+1) with pow() (float32) on restore.
    this.accBeta1 = Math.fround(Math.pow(Math.fround(this.beta1), this.iterations_ + 1));
    this.accBeta2 = Math.fround(Math.pow(Math.fround(this.beta2), this.iterations_ + 1));
    const count = rest.length / 2;
    const toVariable = (w: NamedTensor): MomentVariable => ({ originalName: w.name, variable: w.tensor.variable(false) });
    const previous = [...this.accumulatedFirstMoment, ...this.accumulatedSecondMoment].map((w) => w.variable);
    this.accumulatedFirstMoment = rest.slice(0, count).map(toVariable);
    this.accumulatedSecondMoment = rest.slice(count, 2 * count).map(toVariable);
    // Disposed after the new ones exist: `rest` may hold these very variables.
    tf.dispose(previous);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const Ctor = cls as unknown as new (lr: number, b1: number, b2: number, eps: number) => T;
    return new Ctor(config.learningRate as number, config.beta1 as number, config.beta2 as number, config.epsilon as number);
  }
}
