/**
 * The classes a conditional GAN is trained on and asked for: UTKFace's labels,
 * with age grouped into buckets. A condition is one-hot encoded as
 * [age bucket | gender | race], CONDITION_SIZE values.
 */
import { UsageError } from '../errors.js';
import type { FaceLabels } from './labels.js';

/** Age buckets (inclusive years): children, teens, then adult spans of about equal share in UTKFace. */
export const AGE_BUCKETS: readonly (readonly [number, number])[] = [
  [1, 12],
  [13, 19],
  [20, 30],
  [31, 45],
  [46, 59],
  [60, 80],
  [81, 116],
];
export const GENDERS = ['male', 'female'] as const;
/** UTKFace's race field, in its order (0 White … 4 Others). */
export const RACES = ['white', 'black', 'asian', 'indian', 'others'] as const;

/** Length of a one-hot condition vector. */
export const CONDITION_SIZE = AGE_BUCKETS.length + GENDERS.length + RACES.length;

/** One face's classes: an index into AGE_BUCKETS, GENDERS and RACES. */
export interface FaceCondition {
  ageBucket: number;
  gender: number;
  race: number;
}

/** What a user asks for: any field left out is drawn at random per face. */
export interface ConditionRequest {
  ageBucket?: number;
  gender?: number;
  race?: number;
}

export const ageBucketName = (bucket: number): string => `${AGE_BUCKETS[bucket]![0]}-${AGE_BUCKETS[bucket]![1]}`;

/** The bucket holding an age in years, or null outside 1-116. */
export function ageBucketOf(age: number): number | null {
  const bucket = AGE_BUCKETS.findIndex(([low, high]) => age >= low && age <= high);
  return bucket < 0 ? null : bucket;
}

/** A photo's condition, or null when a label is missing (no UTKFace name, no race field). */
export function conditionOf(labels: FaceLabels | null): FaceCondition | null {
  if (!labels || labels.race === null) return null;
  const ageBucket = ageBucketOf(labels.age);
  return ageBucket === null ? null : { ageBucket, gender: labels.gender, race: labels.race };
}

/** Writes the one-hot vector of each condition into `out` (conditions.length x CONDITION_SIZE). */
export function oneHotConditions(conditions: readonly FaceCondition[], out = new Float32Array(conditions.length * CONDITION_SIZE)): Float32Array {
  out.fill(0);
  conditions.forEach((c, i) => {
    const row = i * CONDITION_SIZE;
    out[row + c.ageBucket] = 1;
    out[row + AGE_BUCKETS.length + c.gender] = 1;
    out[row + AGE_BUCKETS.length + GENDERS.length + c.race] = 1;
  });
  return out;
}

/**
 * Appends each face's one-hot condition to its noise vector: the generator's input
 * of a conditional run ([z | condition], latentDim + CONDITION_SIZE values a face).
 */
export function withConditions(noise: Float32Array, latentDim: number, oneHot: Float32Array): Float32Array {
  const count = noise.length / latentDim;
  const width = latentDim + CONDITION_SIZE;
  const input = new Float32Array(count * width);
  for (let i = 0; i < count; i++) {
    input.set(noise.subarray(i * latentDim, (i + 1) * latentDim), i * width);
    input.set(oneHot.subarray(i * CONDITION_SIZE, (i + 1) * CONDITION_SIZE), i * width + latentDim);
  }
  return input;
}

/**
 * Fills in a request: fields given are kept, the others drawn uniformly with `uniform`
 * (a function returning [0, 1)), one draw per missing field per face.
 */
export function resolveConditions(request: ConditionRequest, count: number, uniform: () => number): FaceCondition[] {
  const pick = (given: number | undefined, size: number) => given ?? Math.min(size - 1, Math.floor(uniform() * size));
  return Array.from({ length: count }, () => ({
    ageBucket: pick(request.ageBucket, AGE_BUCKETS.length),
    gender: pick(request.gender, GENDERS.length),
    race: pick(request.race, RACES.length),
  }));
}

function oneOf(flag: string, value: string, names: readonly string[]): number {
  const index = names.indexOf(value.trim().toLowerCase());
  if (index < 0) throw new UsageError(`unknown ${flag} "${value}": one of ${names.join(', ')}`);
  return index;
}

/**
 * Reads `--age 60-80` (a bucket, or one age in years: 25 means 20-30), `--gender female`
 * and `--race asian` (or "any"). Unknown values are UsageErrors naming the valid ones;
 * `prefix` is what the names are written with in them ("--" for flags, "" for API fields).
 */
export function parseConditionRequest(values: { age?: string; gender?: string; race?: string }, prefix = '--'): ConditionRequest {
  const request: ConditionRequest = {};
  const any = (value: string | undefined) => value === undefined || value.trim().toLowerCase() === 'any';
  if (!any(values.age)) {
    const age = values.age!.trim();
    const names = AGE_BUCKETS.map((_, i) => ageBucketName(i));
    const byName = names.indexOf(age);
    const bucket = byName >= 0 ? byName : /^\d{1,3}$/.test(age) ? ageBucketOf(Number(age)) : null;
    if (bucket === null) throw new UsageError(`unknown ${prefix}age "${values.age}": an age from 1 to 116 or one of ${names.join(', ')}`);
    request.ageBucket = bucket;
  }
  if (!any(values.gender)) request.gender = oneOf(`${prefix}gender`, values.gender!, GENDERS);
  if (!any(values.race)) request.race = oneOf(`${prefix}race`, values.race!, RACES);
  return request;
}

/** True when a request names at least one field. */
export const isConditioned = (request: ConditionRequest): boolean => request.ageBucket !== undefined || request.gender !== undefined || request.race !== undefined;
