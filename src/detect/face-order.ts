/** Faces in reading order: rows top to bottom, each row left to right, so "face 1" is where a reader starts. */
interface Boxed {
  box: { x: number; y: number; width: number; height: number };
}

/**
 * Sorts by the vertical centre of each box, then cuts the list into rows: a face
 * whose centre lies below every box of the current row starts a new row. Each row
 * is then sorted left to right. Faces of a group photo a little out of line stay in one row.
 */
export function readingOrder<T extends Boxed>(faces: readonly T[]): T[] {
  const centreY = (f: T) => f.box.y + f.box.height / 2;
  const byTop = [...faces].sort((a, b) => centreY(a) - centreY(b));
  const rows: T[][] = [];
  let rowBottom = -Infinity;
  for (const face of byTop) {
    if (centreY(face) < rowBottom) rows[rows.length - 1]!.push(face);
    else {
      rows.push([face]);
      rowBottom = -Infinity;
    }
    rowBottom = Math.max(rowBottom, face.box.y + face.box.height);
  }
  return rows.flatMap((row) => row.sort((a, b) => a.box.x - b.box.x));
}
