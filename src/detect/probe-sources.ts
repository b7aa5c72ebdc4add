/**
 * The photos the probe detector is trained and measured on, by source:
 *
 *   outside sets   data/outside/<set>/{real,fake}/ with provenance.json, rebuilt by
 *                  scripts/outside-data.mjs from public repositories (GAN and
 *                  diffusion fakes made by others, real photos that are not UTKFace)
 *   utkface        real photos (the paper's set), as they are and shrunk onto a
 *                  photo-like background
 *   own            faces from fakeface's built-in generator, as the Generate page
 *                  downloads them (64x64, or 68x68 with the grid's 2 px frame), and
 *                  pasted onto a photo-like background
 *
 * Each file falls into train / calibration / test by a hash of its name, so the
 * split never changes between runs and no photo is in two splits.
 * @internal
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../data/images.js';
import type { RgbImage } from '../faces/image.js';
import { generateFromRun } from '../generate/index.js';
import { builtInGenerator } from '../models/builtin.js';
import { Rng } from '../train/rng.js';
import { renderGridPng } from '../train/samples.js';
import { evenSpread, listImages } from './files.js';

export type Family = 'gan' | 'diffusion' | 'real' | 'own-gan';
export type Split = 'train' | 'calibration' | 'test';

export interface SourceImage {
  file: string;
  /** 1 = fake. */
  label: 0 | 1;
  /** Source name, e.g. "stylegan2-tpdne/fake" or "utkface". */
  source: string;
  /** The outside set it belongs to, or "utkface" / "own". */
  set: string;
  family: Family;
  split: Split;
}

export interface OutsideSetInfo {
  name: string;
  provenance: Record<string, unknown>;
  real: number;
  fake: number;
}

/** Deterministic split by file name: 50 / 15 / 35 for outside sets (the test share is what the card reports). */
export function splitOf(name: string, shares = { train: 0.5, calibration: 0.15 }): Split {
  const h = createHash('sha1').update(name).digest().readUInt32BE(0) / 2 ** 32;
  return h < shares.train ? 'train' : h < shares.train + shares.calibration ? 'calibration' : 'test';
}

/** The outside sets under `dir` (each a folder with provenance.json and real/ and/or fake/). */
export async function outsideSets(dir: string, perClass: number): Promise<{ sets: OutsideSetInfo[]; images: SourceImage[] }> {
  if (!existsSync(dir)) return { sets: [], images: [] };
  const sets: OutsideSetInfo[] = [];
  const images: SourceImage[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const provenanceFile = join(dir, name, 'provenance.json');
    if (!existsSync(provenanceFile)) continue;
    const provenance = JSON.parse(await readFile(provenanceFile, 'utf8')) as Record<string, unknown>;
    const info: OutsideSetInfo = { name, provenance, real: 0, fake: 0 };
    for (const [cls, label] of [['real', 0], ['fake', 1]] as const) {
      const classDir = join(dir, name, cls);
      if (!existsSync(classDir)) continue;
      const files = evenSpread(await listImages(classDir, `${name}/${cls}`), perClass);
      const family = label === 0 ? 'real' : (familyOf(provenance) ?? 'gan');
      for (const file of files) images.push({ file, label, source: `${name}/${cls}`, set: name, family, split: splitOf(`${name}/${cls}/${basename(file)}`) });
      info[cls] = files.length;
    }
    sets.push(info);
  }
  return { sets, images };
}

/** The fakes' family as provenance.json records it (`families.fake`, as scripts/outside-data.mjs writes), or null. */
export function familyOf(provenance: Record<string, unknown>): Family | null {
  const families = provenance.families as Record<string, unknown> | undefined;
  const f = String(families?.fake ?? provenance.family ?? '').toLowerCase();
  if (f.includes('diffusion')) return 'diffusion';
  if (f.includes('gan')) return 'gan';
  return null;
}

/** A smooth random colour field with sensor-like noise: a stand-in for a photo's background, with no face in it. */
export function photoLikeBackground(width: number, height: number, rng: Rng): Promise<RgbImage> {
  const gx = 3 + rng.int(6);
  const gy = 3 + rng.int(5);
  const coarse = new Uint8Array(gx * gy * 3);
  const base = [rng.int(256), rng.int(256), rng.int(256)];
  for (let i = 0; i < gx * gy; i++) for (let c = 0; c < 3; c++) coarse[i * 3 + c] = Math.max(0, Math.min(255, base[c]! + Math.round((rng.uniform() - 0.5) * 160)));
  return sharp(coarse, { raw: { width: gx, height: gy, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer()
    .then((data) => {
      const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
      const sigma = 2 + 6 * rng.uniform();
      const noise = rng.normals(pixels.length);
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.max(0, Math.min(255, Math.round(pixels[i]! + sigma * noise[i]!)));
      return { pixels, width, height };
    });
}

/** `face` (RGB bytes) scaled to `side` px and pasted at a random place on a photo-like background, as PNG or JPEG. */
export async function pasteOnBackground(face: RgbImage, side: number, rng: Rng, format: 'png' | 'jpg'): Promise<Buffer> {
  const width = Math.max(side + 20, 320 + rng.int(480));
  const height = Math.max(side + 20, 240 + rng.int(360));
  const background = await photoLikeBackground(width, height, rng);
  const scaled = await sharp(face.pixels, { raw: { width: face.width, height: face.height, channels: 3 } }).resize(side, side, { fit: 'fill' }).png().toBuffer();
  const left = rng.int(width - side);
  const top = rng.int(height - side);
  const composed = sharp(background.pixels, { raw: { width, height, channels: 3 } }).composite([{ input: scaled, left, top }]);
  return format === 'png' ? composed.png().toBuffer() : composed.jpeg({ quality: 70 + rng.int(26) }).toBuffer();
}

async function decodeBytes(input: string | Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/**
 * Materialises `count` of the built-in generator's faces under `dir` (seeded, so the
 * same files every time; existing files are kept): a third as downloaded (64x64), a
 * third with the grid's 2 px frame (68x68), a third pasted onto a background.
 */
export async function ownFakes(generatorDir: string, dir: string, count: number, seed: number): Promise<SourceImage[]> {
  await mkdir(dir, { recursive: true });
  const out: SourceImage[] = [];
  const faces = await generateFromRun(generatorDir, count, seed);
  const size = faces.height * faces.width * 3;
  for (let i = 0; i < count; i++) {
    const variant = ['plain', 'framed', 'pasted'][i % 3]!;
    const bytesRng = new Rng(seed * 1000 + i);
    const format = variant === 'pasted' && bytesRng.uniform() < 0.5 ? 'jpg' : 'png';
    const file = join(dir, `own-${seed}-${i}-${variant}.${format}`);
    const one = { pixels: faces.pixels.subarray(i * size, (i + 1) * size), count: 1, height: faces.height, width: faces.width, iteration: faces.iteration };
    if (!existsSync(file)) {
      let png: Buffer;
      const framed = await renderGridPng(one, 1);
      const plain = await sharp(framed).extract({ left: 2, top: 2, width: faces.width, height: faces.height }).png().toBuffer();
      if (variant === 'plain') png = plain;
      else if (variant === 'framed') png = framed;
      else png = await pasteOnBackground(await decodeBytes(plain), faces.width + bytesRng.int(faces.width * 2), bytesRng, format);
      await writeFileAtomic(file, png);
    }
    out.push({ file, label: 1, source: `own/${variant}`, set: 'own', family: 'own-gan', split: splitOf(basename(file), { train: 0.6, calibration: 0.1 }) });
  }
  return out;
}

/** UTKFace reals: `count` photos as they are, and as many shrunk (64-128 px) onto a background. */
export async function utkfaceReals(utkDir: string, pastedDir: string, count: number, seed: number): Promise<SourceImage[]> {
  const all = await listImages(utkDir, 'UTKFace');
  const chosen = evenSpread(all, count * 2);
  await mkdir(pastedDir, { recursive: true });
  const out: SourceImage[] = [];
  for (let i = 0; i < chosen.length; i++) {
    const file = chosen[i]!;
    if (i % 2 === 0) {
      out.push({ file, label: 0, source: 'utkface/photo', set: 'utkface', family: 'real', split: splitOf(basename(file), { train: 0.6, calibration: 0.1 }) });
      continue;
    }
    const rng = new Rng(seed * 1000 + i);
    const format = rng.uniform() < 0.5 ? 'jpg' : 'png';
    const pasted = join(pastedDir, `utk-${i}-${basename(file).replace(/[^\w.-]/g, '_')}.${format}`);
    if (!existsSync(pasted)) await writeFileAtomic(pasted, await pasteOnBackground(await decodeBytes(file), 64 + rng.int(65), rng, format));
    out.push({ file: pasted, label: 0, source: 'utkface/pasted', set: 'utkface', family: 'real', split: splitOf(basename(pasted), { train: 0.6, calibration: 0.1 }) });
  }
  return out;
}

/** Seed of the built-in generator's faces and of the UTKFace pastes: fixed, so that training and measurement see the same photos. */
const SOURCES_SEED = 20261206;

/**
 * The probe's own-generator fakes (`own` of them, under `cache`/own) and UTKFace reals
 * (`utk` in all, half pasted, under `cache`/utk-pasted): what both the training and
 * the measurement scripts add to the outside sets.
 */
export async function ownAndUtkfaceSources(opts: { utkface: string; cache: string; own: number; utk: number }): Promise<{ own: SourceImage[]; utk: SourceImage[] }> {
  const generator = builtInGenerator();
  if (!generator) throw new Error('the built-in generator is missing (models/dcgan64-utkface)');
  const own = await ownFakes(generator.dir, join(opts.cache, 'own'), opts.own, SOURCES_SEED);
  const utk = await utkfaceReals(opts.utkface, join(opts.cache, 'utk-pasted'), opts.utk / 2, SOURCES_SEED);
  return { own, utk };
}
