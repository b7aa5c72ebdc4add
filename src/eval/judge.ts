/**
 * Does a conditional generator draw the faces it is asked for? A network nobody here
 * trained judges them: face-api's age and gender net (AGE_GENDER_NETWORK). For each
 * face with requested labels it predicts an age and a gender; we report the share
 * whose predicted gender is the requested one and the mean absolute age error against
 * the requested age bucket (distance from the predicted age to the bucket's range, 0
 * inside it). The same figures on real UTKFace photos of the same labels are the
 * judge's floor: what a generator drawing exactly the photos' kind of face would score.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AGE_BUCKETS, ageBucketName, GENDERS, type FaceCondition } from '../data/conditions.js';
import { FACE_API_VERSION } from '../faces/faceapi.js';
import { ageGenderModel } from '../faces/models.js';

export const AGE_GENDER_NETWORK = `face-api ageGenderNet (TinyXception, 112x112), @vladmandic/face-api ${FACE_API_VERSION}`;

/** The net's input side: crops are resized (bilinear) to it. */
const NET_INPUT_SIDE = 112;
const BATCH = 16;

export interface AgeGenderPrediction {
  /** Predicted age in years. */
  age: number;
  /** Predicted gender as an index into GENDERS (UTKFace's 0 male, 1 female). */
  gender: number;
  /** The net's probability for that gender. */
  genderProbability: number;
}

/** Predicted age and gender of face crops (size x size HWC RGB in [-1, 1], as the generators and the datasets give them). */
export async function predictAgeGender(crops: Float32Array[], size: number): Promise<AgeGenderPrediction[]> {
  const net = (await ageGenderModel()).nets.ageGenderNet;
  const out: AgeGenderPrediction[] = [];
  for (let start = 0; start < crops.length; start += BATCH) {
    const inputs = tf.tidy(() =>
      crops.slice(start, start + BATCH).map((crop) => {
        // [-1, 1] -> [0, 255], the range face-api normalises from.
        const bytes = tf.mul(tf.add(tf.tensor3d(crop, [size, size, 3]), 1), 127.5) as tf.Tensor3D;
        return size === NET_INPUT_SIDE ? bytes : tf.image.resizeBilinear(bytes, [NET_INPUT_SIDE, NET_INPUT_SIDE]);
      }),
    );
    try {
      const predictions = (await net.predictAgeAndGender(inputs as unknown as Parameters<typeof net.predictAgeAndGender>[0])) as { age: number; gender: string; genderProbability: number }[];
      for (const p of predictions) out.push({ age: p.age, gender: GENDERS.indexOf(p.gender as (typeof GENDERS)[number]), genderProbability: p.genderProbability });
    } finally {
      tf.dispose(inputs);
    }
  }
  return out;
}

/** Distance in years from an age to an age bucket's range (0 inside it). */
export function ageBucketError(age: number, bucket: number): number {
  const [low, high] = AGE_BUCKETS[bucket]!;
  return age < low ? low - age : age > high ? age - high : 0;
}

/** How well predictions agree with the labels asked for (or, for real photos, with their own labels). */
export interface LabelAgreement {
  count: number;
  /** Share of faces whose predicted gender is the label's. */
  genderMatch: number;
  /** Mean distance in years from the predicted age to the label's age bucket. */
  ageError: number;
}

export interface LabelJudgement extends LabelAgreement {
  /** The same, per requested gender and per age bucket (named "male", "60-80", …). */
  byGender: Record<string, LabelAgreement>;
  byAgeBucket: Record<string, LabelAgreement>;
}

function agreement(pairs: { prediction: AgeGenderPrediction; label: FaceCondition }[]): LabelAgreement {
  const count = pairs.length;
  if (count === 0) return { count, genderMatch: NaN, ageError: NaN };
  const matches = pairs.filter((p) => p.prediction.gender === p.label.gender).length;
  const error = pairs.reduce((sum, p) => sum + ageBucketError(p.prediction.age, p.label.ageBucket), 0);
  return { count, genderMatch: matches / count, ageError: error / count };
}

/** Gender match and age error of predictions against the labels of the same faces, overall, per gender and per age bucket. */
export function judgeLabels(predictions: AgeGenderPrediction[], labels: FaceCondition[]): LabelJudgement {
  if (predictions.length !== labels.length) throw new RangeError(`${predictions.length} predictions for ${labels.length} labels`);
  const pairs = predictions.map((prediction, i) => ({ prediction, label: labels[i]! }));
  const groups = (key: (label: FaceCondition) => number, names: string[]) =>
    Object.fromEntries(names.map((name, value) => [name, agreement(pairs.filter((p) => key(p.label) === value))]).filter(([, a]) => (a as LabelAgreement).count > 0));
  return {
    ...agreement(pairs),
    byGender: groups((l) => l.gender, [...GENDERS]),
    byAgeBucket: groups((l) => l.ageBucket, AGE_BUCKETS.map((_, i) => ageBucketName(i))),
  };
}

/** A conditional generator's faces and real photos of the same labels, judged alike. */
export interface ConditioningReport {
  network: string;
  /** The generated faces, each with the labels of one real photo. */
  generated: LabelJudgement;
  /** Those real photos with their own labels: the judge's floor. */
  real: LabelJudgement;
  /** generated.ageError / real.ageError (1 = as good as real photos; the goal is at most 1.5). */
  ageErrorRatio: number;
}

/** Judges generated faces (made with `labels`) beside real photos carrying those labels (the same count, in the same order). */
export async function judgeConditioning(generated: Float32Array[], real: Float32Array[], labels: FaceCondition[], size: number): Promise<ConditioningReport> {
  if (generated.length !== labels.length || real.length !== labels.length) throw new RangeError(`${generated.length} generated and ${real.length} real faces for ${labels.length} labels`);
  const onGenerated = judgeLabels(await predictAgeGender(generated, size), labels);
  const onReal = judgeLabels(await predictAgeGender(real, size), labels);
  return { network: AGE_GENDER_NETWORK, generated: onGenerated, real: onReal, ageErrorRatio: onGenerated.ageError / onReal.ageError };
}
