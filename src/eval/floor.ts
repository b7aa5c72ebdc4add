/**
 * The real-vs-real floor: a metric applied to two disjoint random halves of the
 * real set. Real faces are not at distance 0 from other real faces (FID is
 * biased upwards by finite samples; the two-sample test sits near 0.5 only
 * within its interval), so every report shows this value beside real-vs-fake,
 * and a generator is judged by how close it gets to it.
 *
 * Bias depends on set size: for a fair floor, compare halves of the size that
 * the real-vs-fake number used (`halfSize`), which needs at least twice as many
 * real vectors.
 */
import { FeatureMatrixError } from '../errors.js';
import { Rng } from '../train/rng.js';
import type { Features } from './linalg.js';

export interface RealVsRealFloorOptions {
  /** Seed of the split. @default 0 */
  seed?: number;
  /** Vectors in each half. @default floor(n / 2) */
  halfSize?: number;
}

/** `metric(firstHalf, secondHalf)` on two disjoint random halves of `real`. */
export function realVsRealFloor<T>(
  real: Features,
  metric: (first: Features, second: Features) => T,
  options: RealVsRealFloorOptions = {},
): T {
  const n = real.length;
  const { seed = 0, halfSize = Math.floor(n / 2) } = options;
  if (!Number.isInteger(halfSize) || halfSize < 1 || 2 * halfSize > n) {
    throw new FeatureMatrixError(
      `real-vs-real floor: cannot take two disjoint halves of ${halfSize} from ${n} real vectors`,
      halfSize > n / 2 ? 'the floor needs twice as many real vectors as each half holds' : undefined,
    );
  }
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const pick = (from: number): Features => order.slice(from, from + halfSize).map((i) => real[i]!);
  return metric(pick(0), pick(halfSize));
}
