import { conditionOf, oneHotConditions, type FaceCondition } from '../data/conditions.js';
import type { FaceDataset } from '../data/index.js';
import { EmptyDatasetError } from '../errors.js';
import type { Rng } from './rng.js';

/** The photos a conditional run trains on (those with every label) and the labels of each batch. */
export interface LabelledFaces {
  /** Indices into the dataset of the photos with full labels, in dataset order. */
  indices: number[];
  /**
   * One-hot labels for one iteration: the real batch's own, and for each batch of fakes
   * labels of photos drawn at random (so fakes follow the data's label mix).
   */
  batchConditions(realIndices: ArrayLike<number>, rng: Rng): { real: Float32Array; fakeForD: Float32Array; fakeForG: Float32Array };
}

export function labelledFaces(dataset: FaceDataset, dataDir: string): LabelledFaces {
  const conditions: (FaceCondition | null)[] = dataset.labels.map(conditionOf);
  const indices = conditions.flatMap((condition, i) => (condition ? [i] : []));
  if (indices.length === 0) {
    throw new EmptyDatasetError(`--conditional: none of the ${dataset.count} images in ${dataDir} carries UTKFace labels`, 'name files AGE_GENDER_RACE_DATETIME.jpg, as UTKFace does');
  }
  const of = (dataIndices: ArrayLike<number>) => oneHotConditions(Array.from(dataIndices, (i) => conditions[i]!));
  return {
    indices,
    batchConditions(realIndices, rng) {
      const drawFakes = () => of(Array.from(rng.indices(realIndices.length, indices.length), (i) => indices[i]!));
      const real = of(realIndices);
      const fakeForD = drawFakes();
      return { real, fakeForD, fakeForG: drawFakes() };
    },
  };
}
