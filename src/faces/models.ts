/**
 * The face-api networks this project uses, loaded once from the weights that ship
 * inside the @vladmandic/face-api npm package (no network access).
 * @internal
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { FACE_API_MODEL_DIR, getFaceApi, type FaceApi } from './faceapi.js';

/** One entry of a tfjs weights manifest (`*-weights_manifest.json`). */
interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** A face-api network that takes a weight map (every face-api net does). */
interface LoadableNet {
  loadFromWeightMap(weightMap: tf.NamedTensorMap): void;
  readonly isLoaded: boolean;
}

/** Reads `<name>-weights_manifest.json` and its shards into tensors. */
async function readWeightMap(modelName: string): Promise<tf.NamedTensorMap> {
  const manifestFile = join(FACE_API_MODEL_DIR, `${modelName}-weights_manifest.json`);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as ManifestGroup[];
  const weightMap: tf.NamedTensorMap = {};
  for (const group of manifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(FACE_API_MODEL_DIR, p))));
    const bytes = Buffer.concat(shards);
    // decodeWeights wants an ArrayBuffer holding exactly the shard bytes.
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    Object.assign(weightMap, tf.io.decodeWeights(buffer, group.weights));
  }
  return weightMap;
}

let loading: Promise<FaceApi> | undefined;

/**
 * Loads SSD MobileNet v1 (face boxes) and the face recognition net (128-d
 * descriptors) on the current tfjs backend. Idempotent and safe to call
 * concurrently; after a failure the next call tries again.
 */
export function loadFaceModels(): Promise<void> {
  return faceModels().then(() => undefined);
}

/** face-api with its networks loaded. @internal */
export function faceModels(): Promise<FaceApi> {
  loading ??= (async () => {
    await tf.ready();
    const faceApi = getFaceApi();
    const nets: [string, LoadableNet][] = [
      ['ssd_mobilenetv1_model', faceApi.nets.ssdMobilenetv1 as unknown as LoadableNet],
      ['face_recognition_model', faceApi.nets.faceRecognitionNet as unknown as LoadableNet],
    ];
    for (const [name, net] of nets) {
      if (!net.isLoaded) net.loadFromWeightMap(await readWeightMap(name));
    }
    return faceApi;
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

let loadingAgeGender: Promise<FaceApi> | undefined;

/**
 * face-api with its age and gender net (TinyXception on 112x112 crops) loaded too: the
 * judge of a conditional generator (src/eval/judge.ts). Loaded on first use only.
 * @internal
 */
export function ageGenderModel(): Promise<FaceApi> {
  loadingAgeGender ??= (async () => {
    await tf.ready();
    const faceApi = getFaceApi();
    const net = faceApi.nets.ageGenderNet as unknown as LoadableNet;
    if (!net.isLoaded) net.loadFromWeightMap(await readWeightMap('age_gender_model'));
    return faceApi;
  })();
  loadingAgeGender.catch(() => {
    loadingAgeGender = undefined;
  });
  return loadingAgeGender;
}
