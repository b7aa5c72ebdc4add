import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CheckpointMismatchError } from '../errors.js';
import { bytesPerStoredValue, quantizeWeights, type WeightDtype } from './quantize.js';

/**
 * Saves a Keras-compatible model in the TensorFlow.js layers format
 * (`model.json` + `weights.bin`), loadable with `tf.loadLayersModel` in Node
 * or the browser. The caller makes the folder appear atomically (it writes a
 * temporary folder, then renames it). `dtype` float16 or uint8 stores the
 * weights quantized (tfjs dequantizes them on load); checkpoints keep float32.
 */
export async function saveLayersModel(model: tfl.LayersModel, dir: string, dtype: WeightDtype = 'float32'): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const { specs, data: weightData } = quantizeWeights(artifacts.weightSpecs ?? [], tf.io.CompositeArrayBuffer.join(artifacts.weightData), dtype);
      const modelJson = {
        format: 'layers-model',
        generatedBy: 'fakeface',
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
      };
      await writeFile(join(dir, 'weights.bin'), Buffer.from(weightData));
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
    }),
  );
}

/** Loads a model saved by `saveLayersModel` (or any single-shard tfjs layers model). */
export async function loadLayersModel(dir: string): Promise<tfl.LayersModel> {
  let modelJson: { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  } catch (error) {
    throw new CheckpointMismatchError(`${join(dir, 'model.json')}: cannot read model (${(error as Error).message})`);
  }
  const manifest = modelJson.weightsManifest ?? [];
  const weightSpecs = manifest.flatMap((group) => group.weights);
  const shards = await Promise.all(manifest.flatMap((group) => group.paths).map((p) => readFile(join(dir, p))));
  const weightData = tf.io.concatenateArrayBuffers(shards.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer));
  const expected = weightSpecs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * bytesPerStoredValue(spec), 0);
  if (weightData.byteLength !== expected) {
    throw new CheckpointMismatchError(`${dir}: weights hold ${weightData.byteLength} bytes, the manifest needs ${expected} (truncated file?)`);
  }
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
}
