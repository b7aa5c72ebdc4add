import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * An exponential moving average of G's weights (Karras et al., Brock et al.): after
 * each iteration every trainable weight moves toward G's by (1 - decay),
 * ema += (1 - decay)·(G - ema); BatchNorm's moving statistics are copied, as
 * StyleGAN2's code copies buffers. The average makes smoother faces than G itself,
 * which oscillates around the equilibrium. The model is G's architecture (same layers,
 * same input), so everything that takes a generator takes it.
 */
export class GeneratorEma {
  private constructor(
    readonly model: tfl.LayersModel,
    readonly decay: number,
  ) {}

  /** Starts the average at G's weights, in `shell` (a freshly built model of G's architecture). */
  static startFrom(generator: tfl.LayersModel, shell: tfl.LayersModel, decay: number): GeneratorEma {
    shell.setWeights(generator.getWeights());
    return new GeneratorEma(shell, decay);
  }

  /** An average loaded back from a checkpoint. */
  static restored(model: tfl.LayersModel, decay: number): GeneratorEma {
    return new GeneratorEma(model, decay);
  }

  /** One step toward G's current weights. */
  update(generator: tfl.LayersModel): void {
    const rate = 1 - this.decay;
    tf.tidy(() => {
      pairs(this.model.trainableWeights, generator.trainableWeights).forEach(([average, current]) => {
        const value = average.read();
        average.write(tf.add(value, tf.mul(tf.sub(current.read(), value), rate)));
      });
      pairs(this.model.nonTrainableWeights, generator.nonTrainableWeights).forEach(([copy, current]) => copy.write(tf.clone(current.read())));
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}

function pairs(a: tfl.LayerVariable[], b: tfl.LayerVariable[]): [tfl.LayerVariable, tfl.LayerVariable][] {
  if (a.length !== b.length) throw new Error(`EMA: the average has ${a.length} weights, G ${b.length}`);
  return a.map((w, i) => {
    if (w.shape.join('x') !== b[i]!.shape.join('x')) throw new Error(`EMA: weight ${i} is ${w.shape.join('x')} in the average, ${b[i]!.shape.join('x')} in G`);
    return [w, b[i]!];
  });
}
