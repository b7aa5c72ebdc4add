/**
 * 128-d face descriptors from face-api's recognition net (a ResNet-34-like net
 * ported from dlib's face recognition model), usable as FID/KID features for faces.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FACE_API_VERSION } from './faceapi.js';
import { faceModels } from './models.js';

export const FACE_FEATURE_NETWORK = `face-api faceRecognitionNet (ResNet-34-like, 128-d), @vladmandic/face-api ${FACE_API_VERSION}`;

/** The recognition net's input side: every crop is resized (bilinear) to this. */
const NET_INPUT_SIDE = 150;
/** Crops per forward pass: bounds memory (~150x150x3 floats and the net's activations each). */
const BATCH = 16;

/**
 * Descriptors of face crops, one 128-d Float32Array per crop.
 *
 * Takes size x size crops as HWC RGB floats in [-1, 1] (what cropFace and the
 * generators produce): an array of Float32Array (size*size*3 each, or size*size
 * for grayscale, repeated over RGB), or one [n, size, size, 3] tensor (not disposed).
 * Small crops (64x64, 32x32) are upscaled to 150x150. The crops should be faces
 * framed like cropFace's (the net was trained on aligned face chips).
 *
 * The descriptors are face-api's raw output, not re-normalised; their L2 norm is
 * about 1.3-1.6, and the same person's are within ~0.6 of each other.
 */
export async function faceDescriptors(crops: Float32Array[] | tf.Tensor4D, size: number): Promise<Float32Array[]> {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`size must be a positive integer, got ${size}`);
  const faceApi = await faceModels();
  const net = faceApi.nets.faceRecognitionNet;
  const count = Array.isArray(crops) ? crops.length : crops.shape[0];
  if (!Array.isArray(crops) && (crops.shape[1] !== size || crops.shape[2] !== size || crops.shape[3] !== 3)) {
    throw new RangeError(`expected a [n, ${size}, ${size}, 3] tensor, got [${crops.shape.join(', ')}]`);
  }
  const out: Float32Array[] = [];
  for (let start = 0; start < count; start += BATCH) {
    const end = Math.min(count, start + BATCH);
    const inputs = tf.tidy(() => {
      const batch = Array.isArray(crops) ? stackCrops(crops.slice(start, end), size, start) : tf.slice(crops, start, end - start);
      // [-1, 1] -> [0, 255], the range face-api's net normalises from.
      const bytes = tf.mul(tf.add(batch, 1), 127.5);
      const resized = size === NET_INPUT_SIDE ? bytes : tf.image.resizeBilinear(bytes as tf.Tensor4D, [NET_INPUT_SIDE, NET_INPUT_SIDE]);
      return tf.unstack(resized) as tf.Tensor3D[];
    });
    try {
      // An array input always comes back as an array, one descriptor per crop.
      const descriptors = (await net.computeFaceDescriptor(
        inputs as unknown as Parameters<typeof net.computeFaceDescriptor>[0],
      )) as Float32Array[];
      out.push(...descriptors);
    } finally {
      tf.dispose(inputs);
    }
  }
  return out;
}

function stackCrops(crops: Float32Array[], size: number, firstIndex: number): tf.Tensor4D {
  const rgbLength = size * size * 3;
  return tf.stack(
    crops.map((crop, i) => {
      if (crop.length === rgbLength) return tf.tensor3d(crop, [size, size, 3]);
      if (crop.length === size * size) return tf.tile(tf.tensor3d(crop, [size, size, 1]), [1, 1, 3]);
      throw new RangeError(
        `crop ${firstIndex + i} has ${crop.length} values; expected ${rgbLength} (${size}x${size} RGB) or ${size * size} (grayscale)`,
      );
    }),
  ) as tf.Tensor4D;
}
