/**
 * Face boxes with face-api's SSD MobileNet v1, and square face crops.
 *
 * The detector sees a 512x512 input. It finds faces that span roughly a tenth to
 * half of that frame; a face that fills the whole picture (a tight crop such as a
 * UTKFace photo, or a GAN sample) is missed: 14 of 40 UTKFace crops found when
 * shown as they are, 40 of 40 when centred at a third of the frame. So findFaces
 * looks twice and merges the boxes:
 *   1. the image scaled to fit 512x512, centred on gray (faces in scenes, video frames);
 *   2. the image scaled to fit a third of that, centred on gray (faces that fill the frame).
 */
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { faceModels } from './models.js';
import { decodeRgb, type ImageInput, type RgbImage } from './image.js';

/** A face's box, in pixels of the original image, and the detector's confidence (0..1). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface FindFacesOptions {
  /** Boxes scoring below this are dropped. @default 0.5 */
  minScore?: number;
  /** At most this many boxes, best first. @default 20 */
  maxFaces?: number;
  /**
   * Also look at the image shrunk to a third of the detector's frame, to find faces
   * that fill the picture (crops, GAN samples). Doubles the time; turn it off for
   * scenes where every face is small. @default true
   */
  zoomOut?: boolean;
}

/** The SSD's input side in pixels (face-api resizes everything to this). */
const DETECTOR_SIDE = 512;
/** Pass 2 shows the image at this fraction of the detector's frame. */
const ZOOM_OUT = 1 / 3;
/** Gray (0..255) around the image: neutral for the SSD, which scales inputs to [-1, 1]. */
const PAD_VALUE = 128;
/** Boxes from the two passes that overlap more than this are one face. */
const MERGE_IOU = 0.4;

/**
 * Finds faces. Returns boxes in the image's own pixels, clamped to the image,
 * best score first; an empty array when there is no face.
 * Call loadFaceModels() first, or let the first call load them.
 */
export async function findFaces(image: ImageInput, opts: FindFacesOptions = {}): Promise<FaceBox[]> {
  const minScore = opts.minScore ?? 0.5;
  const maxFaces = opts.maxFaces ?? 20;
  if (!(minScore >= 0 && minScore <= 1)) throw new RangeError(`minScore must be in [0, 1], got ${minScore}`);
  if (!(Number.isInteger(maxFaces) && maxFaces >= 1)) throw new RangeError(`maxFaces must be a positive integer, got ${maxFaces}`);
  const faceApi = await faceModels();
  const rgb = await decodeRgb(image);
  const fractions = opts.zoomOut === false ? [1] : [1, ZOOM_OUT];

  const boxes: FaceBox[] = [];
  for (const fraction of fractions) {
    const { canvas, scale, offsetX, offsetY } = placeOnCanvas(rgb, fraction);
    try {
      const found = await faceApi.nets.ssdMobilenetv1.locateFaces(
        canvas as unknown as Parameters<typeof faceApi.nets.ssdMobilenetv1.locateFaces>[0],
        { minConfidence: minScore, maxResults: maxFaces },
      );
      for (const { box, score } of found) {
        const mapped = clampBox(
          {
            x: (box.x - offsetX) / scale,
            y: (box.y - offsetY) / scale,
            width: box.width / scale,
            height: box.height / scale,
            score,
          },
          rgb.width,
          rgb.height,
        );
        if (mapped) boxes.push(mapped);
      }
    } finally {
      canvas.dispose();
    }
  }
  return mergeBoxes(boxes, MERGE_IOU).slice(0, maxFaces);
}

/** The image scaled to fit fraction x 512 px, centred on a 512x512 gray canvas (float32, 0..255). */
function placeOnCanvas(rgb: RgbImage, fraction: number) {
  const scale = (DETECTOR_SIDE * fraction) / Math.max(rgb.width, rgb.height);
  const width = Math.max(1, Math.round(rgb.width * scale));
  const height = Math.max(1, Math.round(rgb.height * scale));
  const offsetX = Math.floor((DETECTOR_SIDE - width) / 2);
  const offsetY = Math.floor((DETECTOR_SIDE - height) / 2);
  const canvas = tf.tidy(() => {
    const pixels = tf.tensor3d(rgb.pixels, [rgb.height, rgb.width, 3], 'int32');
    const resized = tf.image.resizeBilinear(tf.cast(pixels, 'float32'), [height, width], false, true);
    return tf.pad(
      resized,
      [
        [offsetY, DETECTOR_SIDE - height - offsetY],
        [offsetX, DETECTOR_SIDE - width - offsetX],
        [0, 0],
      ],
      PAD_VALUE,
    );
  });
  // The box maps back with the scale actually applied on each axis; they differ by under a pixel.
  return { canvas, scale: width / rgb.width, offsetX, offsetY };
}

/** The part of a box inside a width x height image, or null when nothing is left. */
function clampBox(box: FaceBox, width: number, height: number): FaceBox | null {
  const x0 = Math.max(0, box.x);
  const y0 = Math.max(0, box.y);
  const x1 = Math.min(width, box.x + box.width);
  const y1 = Math.min(height, box.y + box.height);
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: box.score };
}

function iou(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Greedy non-maximum suppression: the best box of each overlapping group survives. */
function mergeBoxes(boxes: FaceBox[], iouThreshold: number): FaceBox[] {
  const kept: FaceBox[] = [];
  for (const box of [...boxes].sort((a, b) => b.score - a.score)) {
    if (kept.every((k) => iou(k, box) <= iouThreshold)) kept.push(box);
  }
  return kept;
}

/**
 * A square crop around a face: the box's longer side plus `margin` of it on every
 * side, centred on the box, moved (and if need be shrunk) to stay inside the image,
 * then resized to size x size. Returns HWC RGB float32 in [-1, 1], the range the
 * GANs and the data loader use.
 */
export async function cropFace(image: ImageInput, box: FaceBox, size: number, margin = 0.2): Promise<Float32Array> {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`size must be a positive integer, got ${size}`);
  if (!(margin >= 0)) throw new RangeError(`margin must be >= 0, got ${margin}`);
  const rgb = await decodeRgb(image);
  const region = squareRegion(box, margin, rgb.width, rgb.height);
  const { data } = await sharp(rgb.pixels, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .extract(region)
    .resize(size, size, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = data[i]! / 127.5 - 1;
  return out;
}

/** The integer square region cropFace cuts, inside a width x height image. @internal */
export function squareRegion(box: FaceBox, margin: number, width: number, height: number) {
  const side = Math.min(width, height, Math.max(1, Math.round(Math.max(box.width, box.height) * (1 + 2 * margin))));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.min(width - side, Math.max(0, Math.round(cx - side / 2)));
  const top = Math.min(height - side, Math.max(0, Math.round(cy - side / 2)));
  return { left, top, width: side, height: side };
}
