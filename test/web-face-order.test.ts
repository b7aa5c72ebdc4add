import { describe, expect, it } from 'vitest';
import { readingOrder } from '../web/src/face-order.js';

const face = (name: string, x: number, y: number, size = 100) => ({ name, box: { x, y, width: size, height: size } });

describe('readingOrder', () => {
  it('numbers faces left to right, then top to bottom', () => {
    const faces = [face('bottom-right', 300, 320), face('top-right', 300, 10), face('bottom-left', 20, 300), face('top-left', 10, 30)];
    expect(readingOrder(faces).map((f) => f.name)).toEqual(['top-left', 'top-right', 'bottom-left', 'bottom-right']);
  });

  it('keeps faces a little out of line in one row', () => {
    const faces = [face('c', 400, 0), face('a', 0, 40), face('b', 200, 70)];
    expect(readingOrder(faces).map((f) => f.name)).toEqual(['a', 'b', 'c']);
  });

  it('leaves the input alone and handles none and one', () => {
    const faces = [face('b', 200, 0), face('a', 0, 0)];
    readingOrder(faces);
    expect(faces.map((f) => f.name)).toEqual(['b', 'a']);
    expect(readingOrder([])).toEqual([]);
    expect(readingOrder([face('only', 5, 5)]).map((f) => f.name)).toEqual(['only']);
  });
});
