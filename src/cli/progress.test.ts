import { describe, expect, it } from 'vitest';
import { formatEta } from './progress.js';

describe('formatEta', () => {
  it('rounds to whole seconds before splitting, so a minute never shows 60 seconds', () => {
    expect(formatEta(959.6)).toBe('16m00s');
    expect(formatEta(959.4)).toBe('15m59s');
    expect(formatEta(59.6)).toBe('1m00s');
  });

  it('shows seconds, minutes and seconds, or hours and minutes', () => {
    expect(formatEta(0)).toBe('0s');
    expect(formatEta(42.2)).toBe('42s');
    expect(formatEta(907)).toBe('15m07s');
    expect(formatEta(3725)).toBe('1h02m');
  });

  it('says "-" when the time left is unknown', () => {
    expect(formatEta(Infinity)).toBe('-');
    expect(formatEta(NaN)).toBe('-');
    expect(formatEta(-1)).toBe('-');
  });
});
