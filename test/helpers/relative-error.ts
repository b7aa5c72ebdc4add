/**
 * How far two float results are apart when they sum the same products in another
 * order (a native kernel against tfjs' JS one, wasm against cpu).
 *
 *   expect(relativeError(native, reference)).toBeLessThanOrEqual(1e-5);
 */
import { expect } from 'vitest';

/** Largest |actual - expected| relative to max(1, max |expected|); the lengths must agree. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / scale);
  return worst;
}
