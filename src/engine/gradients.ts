/**
 * Leaner gradients for two reductions on the GPU. tfjs-core's Sum and Mean gradients
 * multiply the incoming gradient by `ones(x.shape)`: a typed array the size of x,
 * filled in JavaScript and uploaded on every backward pass (BatchNorm's moments alone
 * make ~100 MB of them per DCGAN iteration: ~170 ms of host time per iteration on the
 * H100 machine). On webgpu these broadcast the gradient instead: the same numbers bit
 * for bit (dy·1 = dy), one kernel, no host memory. Elsewhere tfjs-core's own run (on
 * the cpu backend its JS Tile kernel is slower than the native multiply).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers registers tfjs-core's gradients when it loads: loaded first, so that ours
// replace them whichever module a program imports first.
import '@tensorflow/tfjs-layers';

type GradFunc = tf.GradConfig['gradFunc'];

function expandedGradient(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
  const expanded = tf.reshape(dy, shape);
  return expanded.dtype === 'float32' ? expanded : tf.cast(expanded, 'float32');
}

const leanSum: GradFunc = (dy, saved, attrs) => {
  const [x] = saved as tf.Tensor[];
  const derX = tf.broadcastTo(expandedGradient(dy as tf.Tensor, x!, (attrs as unknown as tf.SumAttrs).axis), x!.shape);
  return { x: () => derX };
};

const leanMean: GradFunc = (dy, saved, attrs) => {
  const [x] = saved as tf.Tensor[];
  const axis = (attrs as unknown as tf.MeanAttrs).axis;
  const axes = tf.util.parseAxisParam(axis, x!.shape);
  const reduceSize = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x!.shape, axes)[1]);
  return { x: () => tf.broadcastTo(tf.div(expandedGradient(dy as tf.Tensor, x!, axis), reduceSize), x!.shape) };
};

const LEAN: Array<[string, GradFunc]> = [
  [tf.Sum, leanSum],
  [tf.Mean, leanMean],
];
/** Backends the lean versions run on. */
const LEAN_BACKENDS = new Set(['webgpu']);

let originals: tf.GradConfig[] | undefined;
let forced = false;

/** Replaces tfjs-core's Sum and Mean gradients by ones that pick per backend (global). Idempotent. */
export function installLeanGradients({ everywhere = false } = {}): void {
  forced = everywhere;
  originals ??= LEAN.map(([name]) => tf.getGradient(name)).filter((g): g is tf.GradConfig => g !== undefined);
  for (const original of originals) {
    const lean = LEAN.find(([name]) => name === original.kernelName)![1];
    tf.registerGradient({
      ...original,
      gradFunc: (dy, saved, attrs) => (forced || LEAN_BACKENDS.has(tf.getBackend()) ? lean : original.gradFunc)(dy, saved, attrs),
    });
  }
}

/** Puts tfjs-core's own gradients back (for A/B benchmarks and tests). */
export function uninstallLeanGradients(): void {
  for (const config of originals ?? []) tf.registerGradient(config);
}
