import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageDecodeError, UsageError } from '../errors.js';
import {
  badImageFiles,
  grayscalePng,
  patternPixels,
  requireUtkface,
  rgbaPng,
  syntheticJpeg,
  tempFolder,
} from '../../test/helpers/data.js';
import { decodeImage, encodePng, tileGrid, writeFileAtomic } from './images.js';

const tmp = tempFolder();
afterAll(() => tmp.cleanup());

/** [r, g, b] of pixel (x, y) in an HWC float image. */
function pixel(image: Float32Array, width: number, x: number, y: number): number[] {
  const i = (y * width + x) * 3;
  return [image[i]!, image[i + 1]!, image[i + 2]!];
}

describe('decodeImage', () => {
  it('decodes a real UTKFace photo to 64x64x3 float32 in [-1, 1], pixel / 127.5 - 1', async (ctx) => {
    const dir = requireUtkface(ctx);
    const file = join(dir, readdirSync(dir).sort()[0]!);
    const image = await decodeImage(file, 64, 64);
    expect(image).toBeInstanceOf(Float32Array);
    expect(image.length).toBe(64 * 64 * 3);
    let min = Infinity;
    let max = -Infinity;
    for (const v of image) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(-1);
    expect(max).toBeLessThanOrEqual(1);
    expect(max - min).toBeGreaterThan(0.5); // a photo, not a flat colour

    // At its own size (200x200) nothing is resized: exactly sharp's bytes, scaled.
    const full = await decodeImage(file, 200, 200);
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    expect(full.length).toBe(data.length);
    for (let i = 0; i < data.length; i += 101) expect(full[i]).toBe(Math.fround(data[i]! / 127.5 - 1));
  });

  it('decodes bytes the same as the file they came from', async () => {
    const bytes = await syntheticJpeg(40, 40, 3);
    const file = join(tmp.dir, 'same.jpg');
    writeFileSync(file, bytes);
    expect(await decodeImage(bytes, 20, 20)).toEqual(await decodeImage(file, 20, 20));
  });

  it('resizes a non-square image with fit cover (fills, centre-crops the long side)', async () => {
    // 32 wide x 16 tall: left quarter red, middle half green, right quarter blue.
    const width = 32;
    const height = 16;
    const pixels = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) pixels.set(x < 8 ? [255, 0, 0] : x < 24 ? [0, 255, 0] : [0, 0, 255], (y * width + x) * 3);
    const png = await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
    const image = await decodeImage(png, 16, 16);
    // Cover crops the outer quarters away: all green, no red or blue stretched in.
    for (const [x, y] of [[0, 0], [15, 15], [8, 8]] as const) {
      const [r, g, b] = pixel(image, 16, x, y);
      expect(r).toBeLessThan(-0.9);
      expect(g).toBeGreaterThan(0.9);
      expect(b).toBeLessThan(-0.9);
    }
  });

  it('applies EXIF orientation before resizing', async () => {
    // Stored 16 wide x 8 tall, left half red, right half blue; orientation 6 = rotate 90 deg clockwise,
    // so it shows 8 wide x 16 tall with red on top.
    const width = 16;
    const height = 8;
    const pixels = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set(x < 8 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
    const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const image = await decodeImage(jpeg, 16, 8);
    const top = pixel(image, 8, 4, 1);
    const bottom = pixel(image, 8, 4, 14);
    expect(top[0]).toBeGreaterThan(0.7); // red
    expect(top[2]).toBeLessThan(-0.7);
    expect(bottom[2]).toBeGreaterThan(0.7); // blue
    expect(bottom[0]).toBeLessThan(-0.7);
  });

  it('decodes a grayscale PNG to three equal channels', async () => {
    const png = await grayscalePng(16, 16);
    expect((await sharp(png).metadata()).channels).toBe(1);
    const image = await decodeImage(png, 16, 16);
    expect(image.length).toBe(16 * 16 * 3);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const [r, g, b] = pixel(image, 16, x, y);
        expect(g).toBe(r);
        expect(b).toBe(r);
        expect(r).toBe(Math.fround(((x * 8 + y * 3) & 255) / 127.5 - 1));
      }
    }
  });

  it('flattens an RGBA PNG onto black', async () => {
    const png = await rgbaPng(16, 16);
    expect((await sharp(png).metadata()).hasAlpha).toBe(true);
    const image = await decodeImage(png, 16, 16);
    expect(image.length).toBe(16 * 16 * 3);
    expect(pixel(image, 16, 2, 2)).toEqual([200, 100, 50].map((v) => Math.fround(v / 127.5 - 1)));
    expect(pixel(image, 16, 13, 13)).toEqual([-1, -1, -1]); // transparent white -> black
  });

  it('throws ImageDecodeError naming the file, with the problem, for each kind of bad input', async () => {
    for (const bad of await badImageFiles()) {
      const file = join(tmp.dir, bad.name);
      writeFileSync(file, bad.bytes);
      const error = await decodeImage(file, 32, 32, bad.name).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, bad.name).toBeInstanceOf(ImageDecodeError);
      expect((error as ImageDecodeError).file).toBe(bad.name);
      expect((error as ImageDecodeError).problem).toMatch(bad.problem);
      expect((error as ImageDecodeError).message).toContain(bad.name);
    }
  });

  it('rejects formats other than JPEG, PNG and WebP, and missing files', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="red"/></svg>');
    await expect(decodeImage(svg, 16, 16, 'drawing.jpg')).rejects.toThrow(/drawing\.jpg: unsupported image format 'svg'/);
    await expect(decodeImage(join(tmp.dir, 'nope.jpg'), 16, 16, 'nope.jpg')).rejects.toThrow(/nope\.jpg: cannot read file \(ENOENT\)/);
  });

  it('decodes WebP and accepts an 8x8 image, the smallest allowed', async () => {
    const webp = await sharp(patternPixels(8, 8), { raw: { width: 8, height: 8, channels: 3 } }).webp({ lossless: true }).toBuffer();
    const image = await decodeImage(webp, 8, 8);
    expect(pixel(image, 8, 3, 2)).toEqual([...patternPixels(8, 8).subarray((2 * 8 + 3) * 3, (2 * 8 + 3) * 3 + 3)].map((v) => Math.fround(v / 127.5 - 1)));
    const sevenWide = await sharp(patternPixels(7, 8), { raw: { width: 7, height: 8, channels: 3 } }).png().toBuffer();
    await expect(decodeImage(sevenWide, 8, 8, 'narrow.png')).rejects.toThrow('narrow.png: image is 7x8 px; at least 8x8 needed');
  });

  it('rejects a size that is not a positive integer', async () => {
    await expect(decodeImage(await syntheticJpeg(), 0, 8)).rejects.toThrow(UsageError);
    await expect(decodeImage(await syntheticJpeg(), 8, 2.5)).rejects.toThrow(UsageError);
  });
});

describe('tileGrid and encodePng', () => {
  /** `count` images whose values are exact byte steps, so a PNG round trip is lossless. */
  function quantizedImages(count: number, height: number, width: number): Float32Array {
    const images = new Float32Array(count * height * width * 3);
    for (let i = 0; i < images.length; i++) images[i] = ((i * 7 + Math.floor(i / 97)) % 256) / 127.5 - 1;
    return images;
  }

  it('tiles images row by row with padding and round-trips through PNG exactly', async () => {
    const count = 5;
    const [h, w, pad] = [6, 4, 2];
    const images = quantizedImages(count, h, w);
    const grid = tileGrid(images, count, h, w, undefined, pad);
    // ceil(sqrt(5)) = 3 columns, 2 rows, padding around every tile.
    expect(grid.height).toBe(2 * (h + pad) + pad);
    expect(grid.width).toBe(3 * (w + pad) + pad);
    expect(grid.pixels.length).toBe(grid.height * grid.width * 3);

    const png = await encodePng(grid.pixels, grid.height, grid.width);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const back = await decodeImage(png, grid.height, grid.width);
    expect(back).toEqual(grid.pixels);

    for (let n = 0; n < count; n++) {
      const top = pad + Math.floor(n / 3) * (h + pad);
      const left = pad + (n % 3) * (w + pad);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          expect(pixel(back, grid.width, left + x, top + y)).toEqual(pixel(images.subarray(n * h * w * 3), w, x, y));
    }
    expect(pixel(back, grid.width, 0, 0)).toEqual([-1, -1, -1]); // padding is black
    // The empty sixth slot stays black too.
    expect(pixel(back, grid.width, pad + 2 * (w + pad) + 1, pad + (h + pad) + 1)).toEqual([-1, -1, -1]);
  });

  it('honours columns and zero padding', () => {
    const images = quantizedImages(4, 2, 3);
    const grid = tileGrid(images, 4, 2, 3, 4, 0);
    expect([grid.height, grid.width]).toEqual([2, 12]);
    expect(pixel(grid.pixels, 12, 9, 1)).toEqual(pixel(images.subarray(3 * 2 * 3 * 3), 3, 0, 1));
  });

  it('clips values outside [-1, 1] when encoding', async () => {
    const pixels = new Float32Array(8 * 8 * 3).fill(3);
    pixels[0] = -5;
    const { data } = await sharp(await encodePng(pixels, 8, 8)).raw().toBuffer({ resolveWithObject: true });
    expect(data[0]).toBe(0);
    expect(data[1]).toBe(255);
  });

  it('rejects sizes that do not match the data', async () => {
    expect(() => tileGrid(new Float32Array(10), 2, 2, 2)).toThrow(UsageError);
    expect(() => tileGrid(new Float32Array(12), 0, 2, 2)).toThrow(UsageError);
    await expect(encodePng(new Float32Array(10), 2, 2)).rejects.toThrow(UsageError);
  });
});

describe('writeFileAtomic', () => {
  it('writes and replaces a file, leaving no temporary file', async () => {
    const dir = join(tmp.dir, 'atomic-ok');
    mkdirSync(dir);
    const file = join(dir, 'state.json');
    await writeFileAtomic(file, '{"step":1}');
    await writeFileAtomic(file, Buffer.from('{"step":2}'));
    expect(readFileSync(file, 'utf8')).toBe('{"step":2}');
    await writeFileAtomic(file, [Buffer.from('ab'), new Uint8Array([99, 100])]);
    expect(readFileSync(file, 'utf8')).toBe('abcd');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('removes its temporary file and keeps the old file when the rename fails', async () => {
    const dir = join(tmp.dir, 'atomic-rename');
    mkdirSync(join(dir, 'target', 'inside'), { recursive: true });
    // Renaming a file over a non-empty folder fails after the temporary file is written.
    await expect(writeFileAtomic(join(dir, 'target'), 'data')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['target']);
    expect(readdirSync(join(dir, 'target'))).toEqual(['inside']);
  });

  it('removes its temporary file when writing fails midway', async () => {
    const dir = join(tmp.dir, 'atomic-write');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'old');
    const badChunk = { length: 3 } as unknown as Uint8Array; // not a buffer: write() throws
    await expect(writeFileAtomic(join(dir, 'keep.txt'), [Buffer.from('new'), badChunk])).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['keep.txt']);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('old');
  });
});
