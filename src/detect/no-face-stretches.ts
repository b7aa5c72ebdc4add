/**
 * The stretches of a video in which no face was found, for shading its timeline:
 * each run of consecutive analysed frames without a face covers the time from
 * halfway to the frame before it to halfway to the frame after it (the video's
 * start and end at the edges).
 */
export interface Stretch {
  from: number;
  to: number;
  /** How many analysed frames it holds. */
  frames: number;
}

export function noFaceStretches(frames: ReadonlyArray<{ timeSeconds: number; faces: readonly unknown[] }>, durationSeconds: number): Stretch[] {
  const out: Stretch[] = [];
  const edge = (i: number, side: -1 | 1) => {
    const neighbour = frames[i + side];
    if (!neighbour) return side < 0 ? 0 : Math.max(durationSeconds, frames[i]!.timeSeconds);
    return (frames[i]!.timeSeconds + neighbour.timeSeconds) / 2;
  };
  for (let i = 0; i < frames.length; i++) {
    if (frames[i]!.faces.length > 0) continue;
    let j = i;
    while (j + 1 < frames.length && frames[j + 1]!.faces.length === 0) j++;
    out.push({ from: edge(i, -1), to: edge(j, 1), frames: j - i + 1 });
    i = j;
  }
  return out;
}
