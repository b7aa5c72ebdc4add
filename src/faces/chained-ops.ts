/**
 * Tensor methods (`t.as3D(...)`, `t.mean(...)`, `t.div(...)`) for code written
 * against the `@tensorflow/tfjs` umbrella package.
 *
 * tfjs-core's Node bundle (dist/tf-core.node.js) ships the ops but not their chained
 * forms: the umbrella package adds those to `Tensor.prototype` when it is imported
 * (tfjs-core/src/public/chained_ops/register_all_chained_ops.ts), and tfjs-core's own
 * copies of those files are extension-less ESM that Node cannot load. face-api calls
 * several of them, so we add the same methods, with the same semantics, to the one
 * Tensor class. Methods already present are left alone, so importing the umbrella
 * package later changes nothing.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core';

/** Methods that are `op(this, ...args)` for the op of the same name (tfjs-core 4.22's list). */
const SAME_NAME = `abs acos acosh add all any argMax argMin asin asinh atan atan2 atanh avgPool
  batchToSpaceND batchNorm broadcastTo cast ceil clipByValue conv1d conv2d conv2dTranspose cos
  cosh cumprod cumsum depthToSpace depthwiseConv2d dilation2d div divNoNan dot elu equal erf
  euclideanNorm exp expandDims expm1 fft floor floorDiv gather greater greaterEqual ifft irfft
  isFinite isInf isNaN leakyRelu less lessEqual localResponseNormalization log log1p logSigmoid
  logSoftmax logSumExp logicalAnd logicalNot logicalOr logicalXor matMul max maxPool maximum mean
  min minimum mirrorPad mod mul neg norm notEqual oneHot onesLike pad pool pow prelu prod
  reciprocal relu relu6 reshape resizeBilinear resizeNearestNeighbor reverse rfft round rsqrt selu
  separableConv2d sigmoid sign sin sinh slice softmax softplus spaceToBatchND split sqrt square
  squaredDifference squeeze step stridedSlice sub sum tan tanh tile topk transpose unique
  unsortedSegmentSum unstack zerosLike`.split(/\s+/);

type AnyFn = (...args: unknown[]) => unknown;

/** Where an op lives: top level, or under tf.image / tf.spectral like the umbrella's chained ops. */
function findOp(name: string): AnyFn | undefined {
  const namespaces = [tf, tf.image, tf.spectral] as unknown as Record<string, unknown>[];
  for (const ns of namespaces) {
    const op = ns[name];
    if (typeof op === 'function') return op as AnyFn;
  }
  return undefined;
}

let registered = false;

/** Adds the missing chained methods to tf.Tensor.prototype; safe to call repeatedly. */
export function registerChainedOps(): void {
  if (registered) return;
  registered = true;
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const define = (name: string, method: (this: tf.Tensor, ...args: never[]) => unknown): void => {
    if (typeof proto[name] === 'function') return;
    Object.defineProperty(proto, name, {
      value: function (this: tf.Tensor, ...args: never[]) {
        this.throwIfDisposed();
        return method.apply(this, args);
      },
      writable: true,
      configurable: true,
    });
  };

  for (const name of SAME_NAME) {
    const op = findOp(name);
    if (op) define(name, function (this: tf.Tensor, ...args: unknown[]) { return op(this, ...args); });
  }
  define('as1D', function (this: tf.Tensor) { return tf.reshape(this, [this.size]); });
  define('flatten', function (this: tf.Tensor) { return tf.reshape(this, [this.size]); });
  define('as2D', function (this: tf.Tensor, ...shape: number[]) { return tf.reshape(this, shape.slice(0, 2)); });
  define('as3D', function (this: tf.Tensor, ...shape: number[]) { return tf.reshape(this, shape.slice(0, 3)); });
  define('as4D', function (this: tf.Tensor, ...shape: number[]) { return tf.reshape(this, shape.slice(0, 4)); });
  define('as5D', function (this: tf.Tensor, ...shape: number[]) { return tf.reshape(this, shape.slice(0, 5)); });
  define('asScalar', function (this: tf.Tensor) {
    tf.util.assert(this.size === 1, () => 'The array must have only 1 element.');
    return tf.reshape(this, []);
  });
  define('asType', function (this: tf.Tensor, dtype: tf.DataType) { return tf.cast(this, dtype); });
  define('toBool', function (this: tf.Tensor) { return tf.cast(this, 'bool'); });
  define('toFloat', function (this: tf.Tensor) { return tf.cast(this, 'float32'); });
  define('toInt', function (this: tf.Tensor) { return tf.cast(this, 'int32'); });
  define('reshapeAs', function (this: tf.Tensor, other: tf.Tensor) { return tf.reshape(this, other.shape); });
  define('concat', function (this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) {
    return tf.concat([this, ...(x instanceof tf.Tensor ? [x] : x)], axis);
  });
  define('stack', function (this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) {
    return tf.stack([this, ...(x instanceof tf.Tensor ? [x] : x)], axis);
  });
  define('where', function (this: tf.Tensor, condition: tf.Tensor, x: tf.Tensor) { return tf.where(condition, this, x); });
}
