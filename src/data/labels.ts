/**
 * Labels carried by UTKFace file names: `AGE_GENDER_RACE_DATETIME.jpg.chip.jpg`.
 *
 *   AGE     1-116 (years)
 *   GENDER  0 male, 1 female
 *   RACE    0 White, 1 Black, 2 Asian, 3 Indian, 4 Others
 */
export interface FaceLabels {
  age: number;
  gender: 0 | 1;
  /** null where the file name lacks the RACE field (two files in crop_part1). */
  race: 0 | 1 | 2 | 3 | 4 | null;
}

// AGE_GENDER_RACE_DATETIME with an optional `.jpg.chip.jpg` (or any image) suffix.
const FULL_NAME = /^(\d{1,3})_(\d)_(\d)_(\d{8,})\.[^/\\]*$/;
// The malformed form AGE_GENDER_DATETIME: the RACE field is missing.
const NO_RACE_NAME = /^(\d{1,3})_(\d)_(\d{8,})\.[^/\\]*$/;

const MAX_AGE = 116;

/**
 * Reads the labels from a UTKFace file name (a bare name or a path).
 * Returns null for names that are not UTKFace names or carry out-of-range values.
 *
 * Of the two crop_part1 names without a RACE field, `61_1_20170109142408075` reads as
 * age 61, gender 1, race null. `61_3_20170109150557335` also lacks a field, but its
 * second field (3) is no valid gender, so we cannot tell which field is missing:
 * it returns null (no labels) rather than a guessed gender.
 */
export function parseUtkfaceName(fileName: string): FaceLabels | null {
  const base = fileName.split(/[/\\]/).pop() ?? fileName;
  const full = FULL_NAME.exec(base);
  if (full) {
    const age = Number(full[1]);
    const gender = Number(full[2]);
    const race = Number(full[3]);
    if (!validAge(age) || !isGender(gender) || !isRace(race)) return null;
    return { age, gender, race };
  }
  const noRace = NO_RACE_NAME.exec(base);
  if (noRace) {
    const age = Number(noRace[1]);
    const gender = Number(noRace[2]);
    if (!validAge(age) || !isGender(gender)) return null;
    return { age, gender, race: null };
  }
  return null;
}

function validAge(age: number): boolean {
  return Number.isInteger(age) && age >= 1 && age <= MAX_AGE;
}

function isGender(value: number): value is 0 | 1 {
  return value === 0 || value === 1;
}

function isRace(value: number): value is 0 | 1 | 2 | 3 | 4 {
  return Number.isInteger(value) && value >= 0 && value <= 4;
}
