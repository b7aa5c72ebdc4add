/**
 * Is a path a regular file? Asked before reading one: opening a FIFO (named pipe)
 * blocks until something writes into it, and a device such as /dev/zero never ends,
 * so each must be refused by its type, never by trying to read it.
 */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';

/** What a non-regular file is, in words. */
export function fileTypeOf(info: Stats): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}

/** "a FIFO, not a regular file": the problem with a stat that is not a regular file. */
export function notRegularProblem(info: Stats): string {
  return `${fileTypeOf(info)}, not a regular file`;
}

/**
 * Why `path` (symlinks followed) cannot be read as a file: e.g. "a FIFO, not a
 * regular file". Null for a regular file, and for a path stat cannot see
 * (missing, no permission), which the reader then reports in its own words.
 */
export async function nonRegularFileProblem(path: string): Promise<string | null> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch {
    return null;
  }
  return info.isFile() ? null : notRegularProblem(info);
}
