/**
 * Backbone features of source photos under a degradation, cut around their faces
 * as `detect` cuts them, cached on disk (a feature vector is ~6 KB; computing one
 * costs ~0.1 s of backbone plus ~0.5 s to find the face), so the probe's training
 * script can be rerun and its choices compared without recomputing.
 * @internal
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../data/images.js';
import { findFaces, type FaceBox } from '../faces/detect.js';
import { decodeRgb } from '../faces/image.js';
import type { Backbone } from './backbone.js';
import { backboneCrop, degradeImage, wholeImageBox, type Degradation } from './probe-views.js';

export interface FaceFeatures {
  /** One per face found (best first, at most `maxFaces`); empty when none was found. */
  faces: { box: FaceBox; features: Float32Array }[];
  /** The image's size after the degradation. */
  width: number;
  height: number;
}

export interface FeatureCacheOptions {
  dir: string;
  margin: number;
  backbone: Backbone;
  maxFaces?: number;
}

/** The cache key: the file's path, size and modification time (a set rebuilt under the same names gets new keys), and how it is cut. */
function keyOf(file: string, how: Degradation, mode: string, margin: number): string {
  const { size, mtimeMs } = statSync(file);
  return createHash('sha1').update(JSON.stringify([file, size, Math.round(mtimeMs), how, mode, margin])).digest('hex');
}

function pack(result: FaceFeatures): Buffer {
  const header = { width: result.width, height: result.height, boxes: result.faces.map((f) => f.box), length: result.faces[0]?.features.length ?? 0 };
  const json = Buffer.from(JSON.stringify(header));
  const floats = Buffer.alloc(result.faces.length * header.length * 4);
  result.faces.forEach((f, i) => Buffer.from(f.features.buffer, f.features.byteOffset, f.features.byteLength).copy(floats, i * header.length * 4));
  const size = Buffer.alloc(4);
  size.writeUInt32LE(json.length);
  return Buffer.concat([size, json, floats]);
}

function unpack(data: Buffer): FaceFeatures {
  const size = data.readUInt32LE(0);
  const header = JSON.parse(data.subarray(4, 4 + size).toString()) as { width: number; height: number; boxes: FaceBox[]; length: number };
  const floats = data.subarray(4 + size);
  const faces = header.boxes.map((box, i) => {
    const copy = new Float32Array(header.length);
    new Uint8Array(copy.buffer).set(floats.subarray(i * header.length * 4, (i + 1) * header.length * 4));
    return { box, features: copy };
  });
  return { faces, width: header.width, height: header.height };
}

/**
 * Features of `file` after `how`. mode 'pipeline': faces found by findFaces on the
 * degraded image, as `detect` does; 'crop': the whole image is the face (the photo
 * is already a face crop); 'box': the face box found on the undegraded image,
 * carried through the degradation (cheaper; for training views), the whole image
 * when no face is found there.
 */
export async function faceFeatures(file: string, how: Degradation, mode: 'pipeline' | 'crop' | 'box', opts: FeatureCacheOptions, knownBox?: FaceBox | null): Promise<FaceFeatures> {
  const cacheFile = join(opts.dir, `${keyOf(file, how, mode, opts.margin)}.bin`);
  if (existsSync(cacheFile)) return unpack(await readFile(cacheFile));
  const original = await decodeRgb(file);
  const startBox = knownBox ?? wholeImageBox(original);
  const { image, box } = await degradeImage(original, startBox, how);
  let boxes: FaceBox[];
  if (mode === 'pipeline') boxes = (await findFaces(image)).slice(0, opts.maxFaces ?? 3);
  else if (mode === 'crop') boxes = [wholeImageBox(image)];
  else boxes = [box];
  const crops = await Promise.all(boxes.map((b) => backboneCrop(image, b, mode === 'crop' ? 0 : opts.margin)));
  const { features } = opts.backbone.features(crops);
  const result: FaceFeatures = { faces: boxes.map((b, i) => ({ box: b, features: features[i]! })), width: image.width, height: image.height };
  await mkdir(opts.dir, { recursive: true });
  await writeFileAtomic(cacheFile, pack(result));
  return result;
}

/** The best face box of the undegraded photo (cached), or null when none is found. */
export async function originalBox(file: string, opts: FeatureCacheOptions): Promise<FaceBox | null> {
  const cacheFile = join(opts.dir, `${keyOf(file, { scale: 1, jpeg: null }, 'box-only', 0)}.json`);
  if (existsSync(cacheFile)) return JSON.parse(await readFile(cacheFile, 'utf8')) as FaceBox | null;
  const [box] = await findFaces(await decodeRgb(file));
  await mkdir(opts.dir, { recursive: true });
  await writeFileAtomic(cacheFile, JSON.stringify(box ?? null));
  return box ?? null;
}
