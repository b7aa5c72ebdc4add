/** Mirrors the chosen images of an NHWC batch left to right, in place. */
export function flipHorizontally(batch: Float32Array, flips: ArrayLike<boolean>, height: number, width: number, channels = 3): void {
  const imageSize = height * width * channels;
  for (let image = 0; image < flips.length; image++) {
    if (!flips[image]) continue;
    for (let y = 0; y < height; y++) {
      const row = image * imageSize + y * width * channels;
      for (let left = 0, right = width - 1; left < right; left++, right--) {
        for (let c = 0; c < channels; c++) {
          const a = row + left * channels + c;
          const b = row + right * channels + c;
          const t = batch[a]!;
          batch[a] = batch[b]!;
          batch[b] = t;
        }
      }
    }
  }
}

/** Instance noise std at an iteration: linear decay from `initial` to 0 over the run. */
export function instanceNoiseAt(initial: number, iteration: number, iterations: number): number {
  return initial * Math.max(0, 1 - iteration / iterations);
}
