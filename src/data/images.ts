/**
 * One image in, one image out: decode + resize to float32 HWC RGB in [-1, 1],
 * encode back to PNG, tile many into a grid, and write files atomically.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { ImageDecodeError, UsageError } from '../errors.js';
import { nonRegularFileProblem } from './regular-file.js';

/** Images smaller than this on either side are rejected: no face survives the upscale. */
export const MIN_IMAGE_SIDE = 8;

/** Formats we decode; sharp reads more (SVG, GIF, TIFF...), which we do not want from a face folder. */
const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * Decodes an image (file path or bytes) to height x width x 3 bytes, RGB, row-major.
 *
 * - EXIF orientation is applied before resizing.
 * - Grayscale becomes 3 equal channels.
 * - Alpha is flattened onto black (transparent pixels read as -1 after scaling),
 *   so what is drawn under a transparent area never leaks into training data.
 * - Resized with fit 'cover': scaled to fill height x width, centre-cropped on the
 *   long side. UTKFace crops are square, so at a square size nothing is cut.
 * - Corrupt or truncated data fails (sharp `failOn: 'warning'`, its strictest level).
 *
 * Throws ImageDecodeError(name, problem) for a path that is no regular file (a FIFO,
 * a device), an empty file, a non-image, an unsupported format, corrupt data or an
 * image under 8x8 px.
 * @internal used by loadFaceFolder, which keeps bytes for its cache.
 */
export async function decodeImageBytes(
  input: string | Buffer,
  height: number,
  width: number,
  name?: string,
): Promise<Uint8Array> {
  checkSize(height, width);
  const label = name ?? (typeof input === 'string' ? input : '<buffer>');
  let bytes: Buffer;
  if (typeof input === 'string') {
    // Checked first: reading a FIFO would wait forever, a device would never end.
    const notRegular = await nonRegularFileProblem(input);
    if (notRegular) throw new ImageDecodeError(label, notRegular);
    try {
      bytes = await readFile(input);
    } catch (error) {
      throw new ImageDecodeError(label, `cannot read file (${errorCode(error)})`);
    }
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw new ImageDecodeError(label, 'file is empty (0 bytes)');

  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (error) {
    throw new ImageDecodeError(label, `not an image (${firstLine(error)})`);
  }
  if (!meta.format || !SUPPORTED_FORMATS.has(meta.format)) {
    throw new ImageDecodeError(label, `unsupported image format '${meta.format ?? 'unknown'}'; expected JPEG, PNG or WebP`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE) {
    throw new ImageDecodeError(label, `image is ${w}x${h} px; at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE} needed`);
  }

  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(bytes, { failOn: 'warning', autoOrient: true })
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .resize(width, height, { fit: 'cover' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (error) {
    throw new ImageDecodeError(label, `corrupt ${meta.format.toUpperCase()} data (${firstLine(error)})`);
  }
  if (info.channels !== 3 || info.width !== width || info.height !== height || data.length !== height * width * 3) {
    // Should not happen after toColourspace('srgb'); checked so a surprise never misaligns a batch.
    throw new ImageDecodeError(label, `decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  return data;
}

/**
 * Decodes an image file (path) or its bytes to float32 HWC RGB in [-1, 1]
 * (pixel / 127.5 - 1), resized to height x width. See decodeImageBytes for the rules
 * (orientation, grayscale, alpha onto black, fit 'cover', errors).
 * `name` names the image in errors; defaults to the path, or '<buffer>'.
 */
export async function decodeImage(
  input: string | Buffer,
  height: number,
  width: number,
  name?: string,
): Promise<Float32Array> {
  const bytes = await decodeImageBytes(input, height, width, name);
  const out = new Float32Array(bytes.length);
  bytesToUnitRange(bytes, out);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * out[offset + i] = bytes[i] / 127.5 - 1. @internal
 * Hot on a cache hit (422M values for UTKFace at 120x120): reading the bytes four at a
 * time as one uint32 makes it ~40% faster than a byte loop in V8.
 */
export function bytesToUnitRange(bytes: Uint8Array, out: Float32Array, offset = 0): void {
  const n = bytes.length;
  let i = 0;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, n >>> 2);
    const scale = 1 / 127.5;
    for (let w = 0, j = offset, m = words.length; w < m; w++, j += 4) {
      const word = words[w]!;
      out[j] = (word & 255) * scale - 1;
      out[j + 1] = ((word >>> 8) & 255) * scale - 1;
      out[j + 2] = ((word >>> 16) & 255) * scale - 1;
      out[j + 3] = (word >>> 24) * scale - 1;
    }
    i = words.length * 4;
  }
  for (; i < n; i++) out[offset + i] = bytes[i]! / 127.5 - 1;
}

/** Encodes float32 HWC RGB in [-1, 1] (values outside are clipped) as a PNG. */
export async function encodePng(pixels: Float32Array, height: number, width: number): Promise<Buffer> {
  checkSize(height, width);
  const expected = height * width * 3;
  if (pixels.length !== expected) {
    throw new UsageError(`encodePng: got ${pixels.length} values, expected ${height}x${width}x3 = ${expected}`);
  }
  const bytes = Buffer.allocUnsafe(expected);
  for (let i = 0; i < expected; i++) {
    const v = Math.round((pixels[i]! + 1) * 127.5);
    bytes[i] = v < 0 ? 0 : v > 255 ? 255 : v; // NaN -> 0 via Uint8 store
  }
  return sharp(bytes, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/**
 * Lays `count` images (HWC, back to back in `images`) out in a grid, row by row.
 * `columns` defaults to ceil(sqrt(count)). `padding` px (default 2) of black (-1)
 * separate the tiles and frame the grid, as in torchvision's make_grid.
 */
export function tileGrid(
  images: Float32Array,
  count: number,
  height: number,
  width: number,
  columns?: number,
  padding = 2,
): { pixels: Float32Array; height: number; width: number } {
  checkSize(height, width);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`tileGrid: count must be a positive integer, got ${count}`);
  const cols = columns ?? Math.ceil(Math.sqrt(count));
  if (!Number.isInteger(cols) || cols < 1) throw new UsageError(`tileGrid: columns must be a positive integer, got ${cols}`);
  if (!Number.isInteger(padding) || padding < 0) throw new UsageError(`tileGrid: padding must be an integer >= 0, got ${padding}`);
  const imageSize = height * width * 3;
  if (images.length < count * imageSize) {
    throw new UsageError(`tileGrid: ${count} images of ${height}x${width}x3 need ${count * imageSize} values, got ${images.length}`);
  }
  const rows = Math.ceil(count / cols);
  const gridHeight = rows * (height + padding) + padding;
  const gridWidth = cols * (width + padding) + padding;
  const pixels = new Float32Array(gridHeight * gridWidth * 3).fill(-1);
  const rowLength = width * 3;
  for (let n = 0; n < count; n++) {
    const top = padding + Math.floor(n / cols) * (height + padding);
    const left = padding + (n % cols) * (width + padding);
    for (let y = 0; y < height; y++) {
      const from = n * imageSize + y * rowLength;
      pixels.set(images.subarray(from, from + rowLength), ((top + y) * gridWidth + left) * 3);
    }
  }
  return { pixels, height: gridHeight, width: gridWidth };
}

/**
 * Writes `data` to a temporary file in the same folder, fsyncs it and renames it
 * over `path`, so readers see the old file or the whole new one, never a part.
 * On error the temporary file is removed and the error rethrown.
 * `data` may also be a list of chunks, written in order (saves joining large buffers).
 */
export async function writeFileAtomic(path: string, data: Buffer | string | readonly Uint8Array[]): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const chunks = typeof data === 'string' ? [Buffer.from(data)] : Buffer.isBuffer(data) ? [data] : data;
  let handle;
  try {
    handle = await open(tmp, 'wx');
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, written, chunk.length - written);
        written += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw error;
  }
  await syncFolder(dirname(path));
}

/** Makes the rename durable; best effort (not every platform can fsync a folder). */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // e.g. Windows: folders cannot be opened for fsync; the rename is still atomic.
  }
}

function checkSize(height: number, width: number): void {
  if (!Number.isInteger(height) || height < 1 || !Number.isInteger(width) || width < 1) {
    throw new UsageError(`image size must be positive integers, got ${height}x${width}`);
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? firstLine(error);
}
