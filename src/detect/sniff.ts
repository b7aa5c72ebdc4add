/**
 * Image or video? Decided from the file's first bytes, never its name: a
 * `clip.jpg` that holds an MP4 is a video, and `notes.mp4` holding text is neither.
 * @internal
 */
import { open } from 'node:fs/promises';
import { nonRegularFileProblem } from '../data/regular-file.js';
import { MediaFileError } from '../errors.js';

export type MediaKind = 'image' | 'video';

const SUPPORTED_HINT = 'detect reads JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF images and MP4, MOV, MKV, WebM, AVI, FLV, MPEG videos';

/** ISO media brands (bytes 8-12 after `ftyp`) that are still images, not videos. */
const IMAGE_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'mif1', 'msf1']);

const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString('latin1');

/** The kind of media the bytes start with, or null when they are neither. */
export function mediaKindOf(head: Buffer): MediaKind | null {
  const at = (offset: number, ...values: number[]) => values.every((v, i) => head[offset + i] === v);
  if (at(0, 0xff, 0xd8, 0xff)) return 'image'; // JPEG
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image'; // PNG
  if (ascii(head, 0, 4) === 'GIF8') return 'image';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'image'; // TIFF
  if (ascii(head, 0, 4) === 'RIFF') {
    const form = ascii(head, 8, 12);
    if (form === 'WEBP') return 'image';
    if (form === 'AVI ') return 'video';
    return null;
  }
  const box = ascii(head, 4, 8);
  if (box === 'ftyp') return IMAGE_BRANDS.has(ascii(head, 8, 12)) ? 'image' : 'video'; // MP4, MOV, M4V, 3GP / AVIF, HEIC
  if (['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'].includes(box)) return 'video'; // QuickTime without ftyp
  if (at(0, 0x1a, 0x45, 0xdf, 0xa3)) return 'video'; // Matroska, WebM
  if (ascii(head, 0, 3) === 'FLV') return 'video';
  if (ascii(head, 0, 4) === 'OggS') return 'video';
  if (at(0, 0x00, 0x00, 0x01, 0xba) || at(0, 0x00, 0x00, 0x01, 0xb3)) return 'video'; // MPEG program stream / elementary
  if (head[0] === 0x47 && (head.length < 189 || head[188] === 0x47)) return 'video'; // MPEG transport stream
  return null;
}

/** Reads the file's first bytes. Throws MediaFileError for a missing, empty or unrecognised file. */
export async function sniffMedia(file: string): Promise<MediaKind> {
  let head: Buffer;
  // Checked before opening: opening a FIFO blocks until something writes into it.
  const special = await nonRegularFileProblem(file);
  if (special) throw new MediaFileError(file, special);
  try {
    const handle = await open(file, 'r');
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new MediaFileError(file, 'not a regular file');
      if (info.size === 0) throw new MediaFileError(file, 'file is empty (0 bytes)');
      head = Buffer.alloc(Math.min(512, info.size));
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof MediaFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new MediaFileError(file, 'not a file');
    throw new MediaFileError(file, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`);
  }
  const kind = mediaKindOf(head);
  if (kind) return kind;
  const printable = /^[\x09\x0a\x0d\x20-\x7e]*$/.test(ascii(head, 0, Math.min(64, head.length)));
  throw new MediaFileError(file, `not an image or a video${printable ? ' (it holds text)' : ''}`, SUPPORTED_HINT);
}
