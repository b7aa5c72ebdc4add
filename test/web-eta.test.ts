/** The Check page's time-left estimate for a video job. */
import { describe, expect, it } from 'vitest';
import { Eta, formatDuration } from '../web/src/eta.js';

describe('Eta', () => {
  it('estimates from the pace since the first report, and says nothing until it can', () => {
    const eta = new Eta();
    expect(eta.update(0, 20, 10_000)).toBe(''); // start (after loading: not counted)
    expect(eta.update(1, 20, 11_000)).toBe(''); // one step: too early
    expect(eta.update(4, 20, 14_000)).toBe('about 15 s left'); // 1 s a frame, 16 to go (5 s steps past 10 s)
    expect(eta.update(10, 20, 20_000)).toBe('about 10 s left');
    expect(eta.update(20, 20, 30_000)).toBe(''); // done
    expect(new Eta().update(5, null, 0)).toBe(''); // no total
  });
  it('words durations as people say them', () => {
    expect(formatDuration(0.2)).toBe('1 s');
    expect(formatDuration(7.4)).toBe('7 s');
    expect(formatDuration(52)).toBe('50 s');
    expect(formatDuration(130)).toBe('2 min');
    expect(formatDuration(3900)).toBe('1 h 5 min');
  });
});
