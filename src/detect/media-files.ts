/**
 * The files a batch check covers: each file named as it is, and each folder
 * walked recursively for the images and videos in it (by name; the kind is then
 * decided from the content, as for any file). Hidden files and folders are left
 * out, and so are other files in a folder (notes, sidecars); a file named
 * outright is always kept, so that a bad one gets its own error line.
 *
 *   await listMediaFiles(['photos/', 'clip.mp4'])   // ['photos/a.jpg', 'photos/trip/b.png', 'clip.mp4']
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { UsageError } from '../errors.js';

/** What sniffMedia (./sniff.ts) reads, by the names such files usually have. */
export const MEDIA_EXTENSIONS: readonly string[] = [
  '.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif',
  '.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.flv', '.mpg', '.mpeg', '.ts', '.3gp', '.ogv',
];

const isMediaName = (name: string) => !name.startsWith('.') && MEDIA_EXTENSIONS.includes(extname(name).toLowerCase());

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // missing or unreadable: kept as a file, whose check then says why
  }
}

/** The media files under `dir`, sorted by path; symlinked folders are not followed (no loops). */
async function walk(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new UsageError(`cannot read the folder ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(path)));
    else if ((entry.isFile() || entry.isSymbolicLink()) && isMediaName(entry.name)) found.push(path);
  }
  return found;
}

/** The files named and the media files in the folders named, in order, each once. */
export async function listMediaFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    if (!(await isFolder(path))) files.push(path);
    else {
      const inFolder = await walk(path);
      if (inFolder.length === 0) throw new UsageError(`${path} holds no image or video files (looked for ${MEDIA_EXTENSIONS.join(' ')})`);
      files.push(...inFolder);
    }
  }
  return [...new Set(files)];
}
