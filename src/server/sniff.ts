/**
 * What an upload is, from its first bytes (never from its name or the
 * Content-Type the browser guessed).
 */
export type Sniffed =
  | { accepted: true; kind: 'image' | 'video'; format: 'jpeg' | 'png' | 'webp' | 'mp4' | 'mov' | 'webm'; extension: string; mime: string }
  | { accepted: false; looksLike: string };

/** How many leading bytes sniff() needs. */
export const SNIFF_BYTES = 64;

export const ACCEPTED_TYPES = 'an image (JPEG, PNG, WebP) or a video (MP4, MOV, WebM)';

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));
const startsWith = (bytes: Uint8Array, prefix: number[], offset = 0) => prefix.every((b, i) => bytes[offset + i] === b);

/** ISO base media (ftyp) brands that are still images or audio, not video. */
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1', 'avif', 'avis']);
const AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);
/** Top-level QuickTime atoms that may open a .mov written without an ftyp box. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

export function sniff(head: Uint8Array): Sniffed {
  if (head.length === 0) return { accepted: false, looksLike: 'an empty file' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return image('jpeg', '.jpg', 'image/jpeg');
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image('png', '.png', 'image/png');
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return image('webp', '.webp', 'image/webp');
  if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (HEIF_BRANDS.has(brand)) return { accepted: false, looksLike: `a HEIF/AVIF image (brand "${brand.trim()}")` };
    if (AUDIO_BRANDS.has(brand)) return { accepted: false, looksLike: 'an audio file (MPEG-4 audio)' };
    if (brand === 'qt  ') return video('mov', '.mov', 'video/quicktime');
    return video('mp4', '.mp4', 'video/mp4');
  }
  if (head.length >= 8 && QUICKTIME_ATOMS.has(ascii(head, 4, 8))) return video('mov', '.mov', 'video/quicktime');
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    // EBML: the DocType element says WebM or Matroska.
    const header = ascii(head, 0, head.length);
    if (header.includes('webm')) return video('webm', '.webm', 'video/webm');
    return { accepted: false, looksLike: 'a Matroska (.mkv) file' };
  }
  return { accepted: false, looksLike: describeOther(head) };
}

function image(format: 'jpeg' | 'png' | 'webp', extension: string, mime: string): Sniffed {
  return { accepted: true, kind: 'image', format, extension, mime };
}

function video(format: 'mp4' | 'mov' | 'webm', extension: string, mime: string): Sniffed {
  return { accepted: true, kind: 'video', format, extension, mime };
}

/** A few common formats by name, so the message can say what was sent. */
function describeOther(head: Uint8Array): string {
  const text = ascii(head, 0, Math.min(head.length, 16));
  if (text.startsWith('GIF87a') || text.startsWith('GIF89a')) return 'a GIF image';
  if (text.startsWith('BM')) return 'a BMP image';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'a TIFF image';
  if (text.startsWith('%PDF')) return 'a PDF document';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return 'a ZIP archive';
  if (startsWith(head, [0x1f, 0x8b])) return 'a gzip archive';
  if (text.startsWith('ID3') || startsWith(head, [0xff, 0xfb])) return 'an MP3 audio file';
  if (text.startsWith('RIFF') && ascii(head, 8, 12) === 'AVI ') return 'an AVI video';
  if (text.startsWith('RIFF') && ascii(head, 8, 12) === 'WAVE') return 'a WAV audio file';
  if (text.startsWith('OggS')) return 'an Ogg file';
  if (/^\s*</.test(text)) return 'an HTML or XML document';
  if (looksLikeText(head)) return 'text';
  return 'an unknown binary format';
}

function looksLikeText(head: Uint8Array): boolean {
  for (const b of head) if (b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b)) return false;
  return true;
}
