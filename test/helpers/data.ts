/**
 * Where tests find real face photos: UTKFace crop_part1 beside the repo, at
 * ../shared/data/utkface-crop_part1, or $FAKEFACE_TEST_DATA. Never copied into the repo.
 *
 *   import { UTKFACE_DIR, requireUtkface } from '../../test/helpers/data.js';
 *   describe.skipIf(!UTKFACE_DIR)('on real faces', () => { ... });
 *   it('decodes a face', (ctx) => { const dir = requireUtkface(ctx); ... });
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The UTKFace folder tests would read, whether or not it exists. */
export const UTKFACE_PATH = process.env['FAKEFACE_TEST_DATA']
  ? resolve(process.env['FAKEFACE_TEST_DATA'])
  : resolve(REPO_ROOT, '../shared/data/utkface-crop_part1');

/** The UTKFace folder, or null when it is absent (tests that need it skip). */
export const UTKFACE_DIR: string | null = isFolder(UTKFACE_PATH) ? UTKFACE_PATH : null;

export const UTKFACE_MISSING =
  `UTKFace not found at ${UTKFACE_PATH}: skipping tests on real faces ` +
  '(put utkface-crop_part1 there, or set FAKEFACE_TEST_DATA to a copy)';

/**
 * Returns the UTKFace folder. Without it, skips the calling test with a clear note
 * when given the test context, and throws otherwise.
 */
export function requireUtkface(ctx?: { skip: (note?: string) => never }): string {
  if (UTKFACE_DIR) return UTKFACE_DIR;
  if (ctx) {
    console.warn(UTKFACE_MISSING);
    return ctx.skip(UTKFACE_MISSING);
  }
  throw new Error(UTKFACE_MISSING);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Image fixtures, made at test time (never real faces written into the repo).

/** A width x height RGB image with a deterministic pattern, as raw bytes. */
export function patternPixels(width: number, height: number, seed = 0): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 16 + seed * 37) & 255;
      pixels[i + 1] = (y * 16 + seed * 91) & 255;
      pixels[i + 2] = ((x + y) * 8 + seed * 53) & 255;
    }
  }
  return pixels;
}

/** A synthetic JPEG (no face, but a valid image) for tests that need no real data. */
export async function syntheticJpeg(width = 32, height = 32, seed = 0): Promise<Buffer> {
  return sharp(patternPixels(width, height, seed), { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** A one-channel PNG whose pixel (x, y) is (x * 8 + y * 3) & 255. */
export async function grayscalePng(width = 16, height = 16): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = (x * 8 + y * 3) & 255;
  return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

/** An RGBA PNG: left half opaque (200, 100, 50), right half fully transparent white. */
export async function rgbaPng(width = 16, height = 16): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const opaque = x < width / 2;
      pixels.set(opaque ? [200, 100, 50, 255] : [255, 255, 255, 0], i);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

/** A JPEG cut to half its bytes: a real UTKFace photo when present, else a synthetic one. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = UTKFACE_DIR
    ? readFileSync(join(UTKFACE_DIR, readdirSync(UTKFACE_DIR).sort()[0]!))
    : await syntheticJpeg(64, 64);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/** Unreadable files, each named .jpg or .png, with the problem decodeImage should report. */
export async function badImageFiles(): Promise<{ name: string; bytes: Buffer; problem: RegExp }[]> {
  const onePixel = await sharp(Buffer.from([10, 20, 30]), { raw: { width: 1, height: 1, channels: 3 } }).png().toBuffer();
  return [
    { name: 'empty.jpg', bytes: Buffer.alloc(0), problem: /file is empty/ },
    { name: 'notes.jpg', bytes: Buffer.from('this is a text file, not a photo\n'), problem: /not an image/ },
    { name: 'truncated.jpg', bytes: await truncatedJpeg(), problem: /corrupt JPEG data/ },
    { name: 'tiny.png', bytes: onePixel, problem: /^image is 1x1 px; at least 8x8 needed$/ },
  ];
}

/** A fresh temporary folder; removed by the returned cleanup. */
export function tempFolder(prefix = 'fakeface-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
