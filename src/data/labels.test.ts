import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { requireUtkface } from '../../test/helpers/data.js';
import { parseUtkfaceName } from './labels.js';

describe('parseUtkfaceName', () => {
  it('reads age, gender and race from a UTKFace name', () => {
    expect(parseUtkfaceName('100_1_0_20170110183726390.jpg.chip.jpg')).toEqual({ age: 100, gender: 1, race: 0 });
    expect(parseUtkfaceName('1_0_4_20161221193016140.jpg.chip.jpg')).toEqual({ age: 1, gender: 0, race: 4 });
    expect(parseUtkfaceName('26_0_2_20170104023102422.jpg')).toEqual({ age: 26, gender: 0, race: 2 });
  });

  it('accepts a path and reads only the file name', () => {
    expect(parseUtkfaceName('/data/utk/35_1_3_20170117174441233.jpg.chip.jpg')).toEqual({ age: 35, gender: 1, race: 3 });
    expect(parseUtkfaceName('C:\\faces\\35_1_3_20170117174441233.jpg.chip.jpg')).toEqual({ age: 35, gender: 1, race: 3 });
  });

  it('gives race null for the malformed name without RACE whose gender is valid', () => {
    expect(parseUtkfaceName('61_1_20170109142408075.jpg.chip.jpg')).toEqual({ age: 61, gender: 1, race: null });
  });

  it('gives no labels for the malformed name whose second field (3) is no gender', () => {
    // 61_3_...: a field is missing, and 3 cannot be a gender, so we do not guess one.
    expect(parseUtkfaceName('61_3_20170109150557335.jpg.chip.jpg')).toBeNull();
  });

  it('returns null for names that are not UTKFace names or hold out-of-range values', () => {
    for (const name of [
      '',
      'face.jpg',
      'IMG_0001.JPG',
      '000001.jpg',
      '26_0_2.jpg', // no datetime
      '26_2_0_20170104023102422.jpg', // gender 2
      '26_0_5_20170104023102422.jpg', // race 5
      '0_0_0_20170104023102422.jpg', // age 0
      '117_0_0_20170104023102422.jpg', // age past 116
      'x26_0_2_20170104023102422.jpg',
      '26_0_2_20170104023102422', // no extension
    ]) {
      expect(parseUtkfaceName(name), name).toBeNull();
    }
  });

  it('labels the whole UTKFace crop_part1 set with the counts its README gives', (ctx) => {
    const dir = requireUtkface(ctx);
    const names = readdirSync(dir).filter((n) => !n.startsWith('.'));
    const labels = names.map(parseUtkfaceName);
    const unlabelled = names.filter((_, i) => labels[i] === null);
    expect(unlabelled).toEqual(['61_3_20170109150557335.jpg.chip.jpg']);
    const count = (pick: (l: NonNullable<(typeof labels)[number]>) => boolean) =>
      labels.filter((l) => l !== null && pick(l)).length;
    // README counts leave out both malformed files; we keep 61_1 (female, race unknown).
    expect(count((l) => l.gender === 0)).toBe(4372);
    expect(count((l) => l.gender === 1)).toBe(5406 + 1);
    expect([0, 1, 2, 3, 4].map((r) => count((l) => l.race === r))).toEqual([5265, 405, 1553, 1452, 1103]);
    expect(count((l) => l.race === null)).toBe(1);
  });
});
