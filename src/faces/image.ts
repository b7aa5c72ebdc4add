/**
 * Images as the face code takes them: raw RGB bytes at their own size, from a
 * file path, encoded bytes, or pixels the caller already has (a video frame).
 * @internal
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { nonRegularFileProblem } from '../data/regular-file.js';
import { ImageDecodeError } from '../errors.js';

/** Height x width x 3 bytes, RGB, row-major: what readFrames yields and decodeRgb returns. */
export interface RgbImage {
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** A decoded image, an image file's path, or its encoded bytes (JPEG, PNG, WebP...). */
export type ImageInput = RgbImage | string | Buffer;

/**
 * Decodes to RGB bytes at the image's own size: EXIF orientation applied, alpha
 * flattened onto black, grayscale expanded to three channels. Decoded input is
 * checked and returned as is.
 */
export async function decodeRgb(input: ImageInput): Promise<RgbImage> {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    checkRgb(input);
    return input;
  }
  const label = typeof input === 'string' ? input : '<buffer>';
  let bytes: Buffer;
  if (typeof input === 'string') {
    // Checked first: reading a FIFO would wait forever, a device would never end.
    const notRegular = await nonRegularFileProblem(input);
    if (notRegular) throw new ImageDecodeError(label, notRegular);
    try {
      bytes = await readFile(input);
    } catch (error) {
      throw new ImageDecodeError(label, `cannot read file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw new ImageDecodeError(label, 'file is empty (0 bytes)');
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .rotate()
      .flatten({ background: '#000000' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (error) {
    throw new ImageDecodeError(label, `not a readable image (${String((error as Error).message ?? error).split('\n')[0]})`);
  }
}

/** Throws a RangeError unless pixels holds exactly width x height x 3 bytes. */
export function checkRgb(image: RgbImage): void {
  const { pixels, width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  if (pixels.length !== width * height * 3) {
    throw new RangeError(`expected ${width}x${height}x3 = ${width * height * 3} RGB bytes, got ${pixels.length}`);
  }
}
