/**
 * Augmentation for the real-vs-fake detector, applied to real and fake faces
 * alike, so that the cheap cues that tell the two sets apart in training (reals
 * are JPEGs photographed at 200x200, fakes are lossless PNG-clean tensors at the
 * GAN's resolution) stop being reliable and the net has to look at the faces:
 *
 *   flip         left-right, p 0.5
 *   rescale      down to r in [0.5 S, S] and back up to S with a random kernel, p 0.5
 *   blur         Gaussian, sigma 0.3-1.2, p 0.25
 *   colour       brightness +-15%, saturation +-20%, hue +-8 degrees, contrast +-15%, p 0.5
 *   JPEG         re-encoded at quality 35-95, p 0.6
 *
 * Everything runs in sharp (libvips, off the main thread) on RGB bytes.
 * @internal
 */
import sharp, { type KernelEnum, type Sharp } from 'sharp';
import type { Rng } from '../train/rng.js';

/** Height x width x 3 bytes, RGB, row-major. */
export interface RgbBytes {
  pixels: Uint8Array;
  width: number;
  height: number;
}

export interface AugmentConfig {
  flip: number;
  rescale: { p: number; minScale: number };
  blur: { p: number; minSigma: number; maxSigma: number };
  colour: { p: number; brightness: number; saturation: number; hueDegrees: number; contrast: number };
  jpeg: { p: number; minQuality: number; maxQuality: number };
}

export const DEFAULT_AUGMENT: AugmentConfig = {
  flip: 0.5,
  rescale: { p: 0.5, minScale: 0.5 },
  blur: { p: 0.25, minSigma: 0.3, maxSigma: 1.2 },
  colour: { p: 0.5, brightness: 0.15, saturation: 0.2, hueDegrees: 8, contrast: 0.15 },
  jpeg: { p: 0.6, minQuality: 35, maxQuality: 95 },
};

const UPSCALE_KERNELS: (keyof KernelEnum)[] = ['nearest', 'linear', 'cubic', 'lanczos3'];

const raw = (image: RgbBytes) => sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } });

async function toBytes(pipeline: Sharp, size: number): Promise<Uint8Array> {
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(`augmentation produced ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** The image resized to size x size (fill), no augmentation: what the detector reads at inference. */
export async function toDetectorInput(image: RgbBytes, size: number): Promise<Uint8Array> {
  if (image.width === size && image.height === size) return image.pixels;
  return toBytes(raw(image).resize(size, size, { fit: 'fill' }), size);
}

/** One random augmentation of the image, resized to size x size. */
export async function augmentForDetector(image: RgbBytes, size: number, rng: Rng, config: AugmentConfig = DEFAULT_AUGMENT): Promise<Uint8Array> {
  const chance = (p: number) => rng.uniform() < p;
  const between = (lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
  // Draw every decision up front, in a fixed order, so one seed gives one augmentation.
  const flip = chance(config.flip);
  const rescale = chance(config.rescale.p) ? Math.max(2, Math.round(size * between(config.rescale.minScale, 1))) : null;
  const kernel = UPSCALE_KERNELS[rng.int(UPSCALE_KERNELS.length)]!;
  const blur = chance(config.blur.p) ? between(config.blur.minSigma, config.blur.maxSigma) : null;
  const colour = chance(config.colour.p)
    ? {
        brightness: between(1 - config.colour.brightness, 1 + config.colour.brightness),
        saturation: between(1 - config.colour.saturation, 1 + config.colour.saturation),
        hue: Math.round(between(-config.colour.hueDegrees, config.colour.hueDegrees)),
        contrast: between(1 - config.colour.contrast, 1 + config.colour.contrast),
      }
    : null;
  const quality = chance(config.jpeg.p) ? Math.round(between(config.jpeg.minQuality, config.jpeg.maxQuality)) : null;

  let current = image;
  if (rescale !== null) {
    // Down to r x r (area-averaging, as a camera or a re-upload would), then back up below.
    const small = await toBytes(raw(current).resize(rescale, rescale, { fit: 'fill', kernel: 'mitchell' }), rescale);
    current = { pixels: small, width: rescale, height: rescale };
  }
  let pipeline = raw(current).resize(size, size, { fit: 'fill', kernel: rescale !== null ? kernel : 'lanczos3' });
  if (flip) pipeline = pipeline.flop();
  if (blur !== null) pipeline = pipeline.blur(blur);
  if (colour) {
    pipeline = pipeline
      .modulate({ brightness: colour.brightness, saturation: colour.saturation, hue: colour.hue })
      .linear(colour.contrast, 128 * (1 - colour.contrast));
  }
  if (quality === null) return toBytes(pipeline, size);
  const jpeg = await pipeline.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' }).toBuffer();
  return toBytes(sharp(jpeg), size);
}

/** Fixed degradations for the robustness check on held-out images. */
export async function degrade(image: RgbBytes, size: number, how: 'jpeg50' | 'half-resolution' | 'blur'): Promise<Uint8Array> {
  const input = await toDetectorInput(image, size);
  const atSize = raw({ pixels: input, width: size, height: size });
  switch (how) {
    case 'jpeg50':
      return toBytes(sharp(await atSize.jpeg({ quality: 50 }).toBuffer()), size);
    case 'half-resolution': {
      const half = Math.max(2, Math.round(size / 2));
      const small = await toBytes(atSize.resize(half, half, { fit: 'fill' }), half);
      return toBytes(raw({ pixels: small, width: half, height: half }).resize(size, size, { fit: 'fill', kernel: 'linear' }), size);
    }
    case 'blur':
      return toBytes(atSize.blur(1), size);
  }
}

/** bytes / 127.5 - 1 into out at offset: the [-1, 1] range every model here reads. */
export function bytesToInput(bytes: Uint8Array, out: Float32Array, offset = 0): void {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = bytes[i]! / 127.5 - 1;
}

/** [-1, 1] floats back to bytes (clipped, rounded). */
export function inputToBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(0, Math.min(255, Math.round((values[i]! + 1) * 127.5)));
  return out;
}
