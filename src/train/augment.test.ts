import { describe, expect, it } from 'vitest';
import { flipHorizontally, instanceNoiseAt } from './augment.js';

describe('augmentation', () => {
  it('mirrors only the chosen images, each row left to right', () => {
    // two 2x3 RGB images; pixel value = image*100 + y*10 + x, same in each channel
    const batch = Float32Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => {
      const image = Math.floor(i / 18);
      const y = Math.floor((i % 18) / 9);
      const x = Math.floor((i % 9) / 3);
      return image * 100 + y * 10 + x;
    });
    flipHorizontally(batch, [false, true], 2, 3);
    const pixel = (image: number, y: number, x: number) => batch[image * 18 + y * 9 + x * 3]!;
    expect([pixel(0, 0, 0), pixel(0, 1, 2)]).toEqual([0, 12]);
    expect([pixel(1, 0, 0), pixel(1, 0, 1), pixel(1, 0, 2), pixel(1, 1, 0)]).toEqual([102, 101, 100, 112]);
  });

  it('anneals instance noise linearly to zero', () => {
    expect([instanceNoiseAt(0.2, 0, 100), instanceNoiseAt(0.2, 50, 100), instanceNoiseAt(0.2, 100, 100)]).toEqual([0.2, 0.1, 0]);
  });
});
