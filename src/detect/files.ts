/**
 * Face image folders for training and evaluating detectors: list, pick an even
 * spread, decode to RGB bytes at a fixed square size.
 * @internal
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { IMAGE_EXTENSIONS } from '../data/index.js';
import { decodeImageBytes } from '../data/images.js';
import { DatasetNotFoundError, EmptyDatasetError, ImageDecodeError } from '../errors.js';
import type { RgbBytes } from './augment.js';

/** Image files in dir (not subfolders, no hidden files), sorted by name, as full paths. */
export async function listImages(dir: string, what: string): Promise<string[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DatasetNotFoundError(`${what} folder ${dir} ${code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code})`}`);
  }
  if (!isDir) throw new DatasetNotFoundError(`${what} folder ${dir} is a file, not a folder`);
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(n).toLowerCase())).sort();
  if (names.length === 0) throw new EmptyDatasetError(`${what} folder ${dir} holds no JPEG, PNG or WebP images`);
  return names.map((n) => join(dir, n));
}

/**
 * n items spread evenly over the list (all of it when n >= its length). UTKFace is
 * sorted by age, so the first n would all be children; an even spread covers every
 * age, gender and group.
 */
export function evenSpread<T>(items: readonly T[], n: number | undefined): T[] {
  if (n === undefined || n >= items.length) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor(((i + 0.5) * items.length) / n)]!);
}

export interface DecodedFolder {
  images: RgbBytes[];
  files: string[];
  skipped: { file: string; problem: string }[];
}

/** Decodes files to side x side RGB bytes (fit 'cover'), a few at a time; unreadable ones are skipped and listed. */
export async function decodeSquare(files: string[], side: number, onProgress?: (done: number, total: number) => void, concurrency = 4): Promise<DecodedFolder> {
  const slots: (RgbBytes | { problem: string })[] = new Array(files.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      try {
        slots[index] = { pixels: await decodeImageBytes(files[index]!, side, side), width: side, height: side };
      } catch (error) {
        if (!(error instanceof ImageDecodeError)) throw error;
        slots[index] = { problem: error.problem };
      }
      onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  const out: DecodedFolder = { images: [], files: [], skipped: [] };
  slots.forEach((slot, i) => {
    if ('problem' in slot) out.skipped.push({ file: files[i]!, problem: slot.problem });
    else {
      out.images.push(slot);
      out.files.push(files[i]!);
    }
  });
  return out;
}
