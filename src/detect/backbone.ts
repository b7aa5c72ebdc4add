/**
 * A pretrained image backbone whose weights ship inside an npm package: the
 * ImageNet-pretrained MobileNetV2 (224x224, Keras) that `nsfwjs` bundles (MIT), read
 * from the package's own files with tfjs-layers — nothing is downloaded.
 *
 * The probe detector (./probe.ts) reads four of its layers, from low-level texture
 * (block 2, 56x56) to semantics (the last 7x7 map). Each position p of a layer gives a
 * feature vector φ(p) — the layer's values, and for the three linear (projection)
 * layers their magnitudes too — and the image's features are the mean of φ over all
 * positions of each layer. A linear probe on that mean is the mean of the same probe
 * applied at each position, which is what makes the detector's "where it looks" map
 * (`featureMaps`) exact rather than an approximation.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';

/** The square side the backbone reads. */
export const BACKBONE_INPUT = 224;
/** What the probe's card names as its backbone. */
export const BACKBONE_NAME = 'MobileNetV2 (ImageNet-pretrained, as shipped in nsfwjs 4.4.0)';

interface TappedLayer {
  name: string;
  /** Also take |value| (for layers without a ReLU, whose sign carries half the information). */
  magnitudes: boolean;
}

/** Low to high level; the last one sets the map's grid (7x7). */
const TAPS: TappedLayer[] = [
  { name: 'block_2_add', magnitudes: true },
  { name: 'block_5_add', magnitudes: true },
  { name: 'block_12_add', magnitudes: true },
  { name: 'out_relu', magnitudes: false },
];
/** Side of the region map: the last tap's grid. */
export const MAP_GRID = 7;

export interface Backbone {
  /** Length of one image's feature vector. */
  featureLength: number;
  /**
   * Features of crops (each BACKBONE_INPUT^2 x 3 RGB bytes, HWC): the mean over
   * positions of each tapped layer's φ, concatenated. With `weights` (one per
   * feature), also each image's per-position map of Σ w·φ(p), pooled to MAP_GRID^2;
   * its mean over the grid equals w·features.
   */
  features(crops: Uint8Array[], weights?: Float32Array): { features: Float32Array[]; maps: Float32Array[] | null };
  dispose(): void;
}

let loading: Promise<tfl.LayersModel> | null = null;

async function loadTapped(): Promise<tfl.LayersModel> {
  const topology = ((await MobileNetV2Model.modelJson()) as { default: { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] } }).default;
  const shard = ((await MobileNetV2Model.weightBundles[0]!()) as { default: string }).default;
  const bytes = Buffer.from(shard, 'base64');
  const full = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: topology.modelTopology,
      weightSpecs: topology.weightsManifest[0]!.weights,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    }),
  );
  return tfl.model({ inputs: full.inputs, outputs: TAPS.map((tap) => full.getLayer(tap.name).output as tfl.SymbolicTensor) });
}

/** Channels of each tap's φ. */
function channelsOf(model: tfl.LayersModel): number[] {
  return model.outputs.map((out, i) => out.shape[3]! * (TAPS[i]!.magnitudes ? 2 : 1));
}

const BATCH = 8;

/** The backbone, loaded once per process (its weights: 2.6 MB, ~0.2 s). */
export async function loadBackbone(): Promise<Backbone> {
  loading ??= loadTapped();
  loading.catch(() => (loading = null));
  const model = await loading;
  const channels = channelsOf(model);
  const featureLength = channels.reduce((a, b) => a + b, 0);
  const floats = BACKBONE_INPUT * BACKBONE_INPUT * 3;

  const features: Backbone['features'] = (crops, weights) => {
    if (weights && weights.length !== featureLength) throw new RangeError(`weights have ${weights.length} values, expected ${featureLength}`);
    const outFeatures: Float32Array[] = [];
    const outMaps: Float32Array[] | null = weights ? [] : null;
    for (let start = 0; start < crops.length; start += BATCH) {
      const batch = crops.slice(start, start + BATCH);
      const x = new Float32Array(batch.length * floats);
      batch.forEach((crop, i) => {
        if (crop.length !== floats) throw new RangeError(`crop ${start + i} has ${crop.length} bytes, expected ${BACKBONE_INPUT}x${BACKBONE_INPUT}x3`);
        for (let k = 0; k < floats; k++) x[i * floats + k] = crop[k]! / 255;
      });
      const { pooled, map } = tf.tidy((): { pooled: tf.Tensor; map?: tf.Tensor } => {
        const outs = model.predict(tf.tensor4d(x, [batch.length, BACKBONE_INPUT, BACKBONE_INPUT, 3])) as tf.Tensor4D[];
        const phis = outs.map((o, i) => (TAPS[i]!.magnitudes ? tf.concat([o, tf.abs(o)], 3) : o));
        const pooledAll = tf.concat(phis.map((phi) => tf.mean(phi, [1, 2])), 1);
        if (!weights) return { pooled: pooledAll };
        let offset = 0;
        let total: tf.Tensor | null = null;
        for (const phi of phis) {
          const c = phi.shape[3]!;
          const w = tf.tensor1d(weights.subarray(offset, offset + c));
          offset += c;
          // Σ_c w_c φ_c(p), then averaged down to the 7x7 grid (each tap's grid is a multiple of 7).
          const contribution = tf.sum(tf.mul(phi, w), 3, true) as tf.Tensor4D;
          const factor = phi.shape[1]! / MAP_GRID;
          const pooledMap = factor === 1 ? contribution : tf.avgPool(contribution, factor, factor, 'valid');
          total = total ? tf.add(total, pooledMap) : pooledMap;
        }
        return { pooled: pooledAll, map: tf.reshape(total!, [batch.length, MAP_GRID * MAP_GRID]) };
      });
      const pooledData = pooled.dataSync() as Float32Array;
      const mapData = map ? (map.dataSync() as Float32Array) : null;
      tf.dispose([pooled, ...(map ? [map] : [])]);
      for (let i = 0; i < batch.length; i++) {
        outFeatures.push(pooledData.slice(i * featureLength, (i + 1) * featureLength));
        if (outMaps && mapData) outMaps.push(mapData.slice(i * MAP_GRID * MAP_GRID, (i + 1) * MAP_GRID * MAP_GRID));
      }
    }
    return { features: outFeatures, maps: outMaps };
  };

  return { featureLength, features, dispose: () => {} };
}
