/**
 * The images the probe detector learns from and is measured on: each photo as a
 * person meets it after the internet has had it — shrunk, re-encoded as JPEG,
 * sometimes both — then cut around its face exactly as `detect` cuts it (the same
 * face box, margin and resize).
 *
 * The same degradations apply to real and fake photos alike, so that format and
 * quality (all reals in some sets are JPEGs, fakes PNGs) stop telling them apart.
 * @internal
 */
import sharp, { type Sharp } from 'sharp';
import type { FaceBox } from '../faces/detect.js';
import { squareRegion } from '../faces/detect.js';
import type { RgbImage } from '../faces/image.js';
import type { Rng } from '../train/rng.js';
import { BACKBONE_INPUT } from './backbone.js';

/** What happens to a photo before the detector sees it. */
export interface Degradation {
  /** Resize factor of the whole image (1 = as it is). */
  scale: number;
  /** JPEG quality it is re-encoded at, or null for none. */
  jpeg: number | null;
  /** Gaussian blur sigma, or null. */
  blur?: number | null;
  flip?: boolean;
}

export const NO_DEGRADATION: Degradation = { scale: 1, jpeg: null };
/** The robustness conditions the card reports. */
export const ROBUSTNESS: Record<string, Degradation> = {
  clean: NO_DEGRADATION,
  jpeg50: { scale: 1, jpeg: 50 },
  'half-resolution': { scale: 0.5, jpeg: null },
  'half-resolution+jpeg50': { scale: 0.5, jpeg: 50 },
};

/** A face must keep at least this many pixels across after shrinking, or the view is not drawn. */
const MIN_DEGRADED_FACE = 40;

/**
 * A random degradation like those of social media and messaging apps: shrink to
 * 0.25-1x (never below MIN_DEGRADED_FACE px of face) with p 0.6, JPEG quality
 * 30-100 with p 0.8, slight blur with p 0.15, a mirror flip with p 0.5.
 */
export function randomDegradation(rng: Rng, faceSide: number): Degradation {
  const minScale = Math.min(1, Math.max(0.25, MIN_DEGRADED_FACE / Math.max(1, faceSide)));
  const scale = rng.uniform() < 0.6 ? minScale + (1 - minScale) * rng.uniform() : 1;
  const jpeg = rng.uniform() < 0.8 ? 30 + Math.round(70 * rng.uniform()) : null;
  const blur = rng.uniform() < 0.15 ? 0.3 + 0.7 * rng.uniform() : null;
  const flip = rng.uniform() < 0.5;
  return { scale, jpeg, blur, flip };
}

const raw = (image: RgbImage) => sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } });

async function toRgb(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** The whole image after `how`; the face box is scaled alongside. */
export async function degradeImage(image: RgbImage, box: FaceBox, how: Degradation): Promise<{ image: RgbImage; box: FaceBox }> {
  let current = image;
  let scaledBox = box;
  if (how.scale !== 1) {
    const width = Math.max(8, Math.round(image.width * how.scale));
    const height = Math.max(8, Math.round(image.height * how.scale));
    current = await toRgb(raw(current).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }));
    const sx = width / image.width;
    const sy = height / image.height;
    scaledBox = { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy, score: box.score };
  }
  if (how.flip) {
    current = await toRgb(raw(current).flop());
    scaledBox = { ...scaledBox, x: current.width - scaledBox.x - scaledBox.width };
  }
  if (how.blur) current = await toRgb(raw(current).blur(how.blur));
  if (how.jpeg !== null) {
    const jpeg = await raw(current).jpeg({ quality: how.jpeg, chromaSubsampling: how.jpeg >= 90 ? '4:4:4' : '4:2:0' }).toBuffer();
    current = await toRgb(sharp(jpeg));
  }
  return { image: current, box: scaledBox };
}

/** The square face crop `detect` cuts (squareRegion + margin), resized to the backbone's input, as RGB bytes. */
export async function backboneCrop(image: RgbImage, box: FaceBox, margin: number): Promise<Uint8Array> {
  const region = squareRegion(box, margin, image.width, image.height);
  const { data } = await raw(image).extract(region).resize(BACKBONE_INPUT, BACKBONE_INPUT, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** A box covering the whole image: for face photos in which the face finder finds nothing. */
export const wholeImageBox = (image: RgbImage): FaceBox => ({ x: 0, y: 0, width: image.width, height: image.height, score: 0 });
