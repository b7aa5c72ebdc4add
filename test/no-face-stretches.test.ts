/** The no-face stretches a video's timeline shades (the Check page's and the SVG of --annotate and --report). */
import { describe, expect, it } from 'vitest';
import { noFaceStretches } from '../src/detect/no-face-stretches.js';

const frames = (faces: number[]) => faces.map((n, i) => ({ timeSeconds: i + 0.5, faces: Array.from({ length: n }) }));

describe('noFaceStretches', () => {
  it('covers each run of faceless frames up to halfway to its neighbours, and the video edges', () => {
    expect(noFaceStretches(frames([1, 1, 1]), 3)).toEqual([]);
    expect(noFaceStretches(frames([0, 0, 1, 0, 1, 0]), 6)).toEqual([
      { from: 0, to: 2, frames: 2 },
      { from: 3, to: 4, frames: 1 },
      { from: 5, to: 6, frames: 1 },
    ]);
    expect(noFaceStretches(frames([0, 0]), 2)).toEqual([{ from: 0, to: 2, frames: 2 }]);
    expect(noFaceStretches([], 5)).toEqual([]);
  });
});
