/**
 * A corpus of hostile inputs, made at test time in a temporary folder with sharp,
 * ffmpeg and Buffer code (never binaries from elsewhere): what a new user's folder
 * of "photos" may really hold. Truncated and polyglot files, a decompression-bomb
 * header, unusual colour models and bit depths, formats fakeface does not train on,
 * broken and odd videos, odd names, and paths that are no regular file.
 *
 *   const corpus = await buildHostileCorpus(dir, { face: jpegBytes, video: true });
 *   for (const entry of corpus.entries) ...        // entry.path, entry.expect, entry.bytes
 *   corpus.notMade                                  // kinds this sharp/ffmpeg cannot write, with why
 *
 * Each entry says what must happen to it: 'error' (no program may call it a face
 * photo), 'verdict' (a real face under an odd name: it must be checked like any
 * other) or 'either' (a readable image in a format some readers take and others
 * refuse; a verdict and a one-line error are both fine, a crash is not).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export type Expectation = 'error' | 'verdict' | 'either';

export interface HostileEntry {
  /** File name inside the corpus folder (for the device, the device path itself). */
  name: string;
  /** Where it is. */
  path: string;
  /** What it is, in words. */
  kind: string;
  expect: Expectation;
  /** Its bytes, for uploads; null for paths that hold no bytes (FIFO, folder, symlink loop, device). */
  bytes: Buffer | null;
  /** Whether the dataset loader looks at it (an image name, .jpg/.jpeg/.png/.webp, not hidden: no leading dot). */
  trainable: boolean;
}

export interface HostileCorpus {
  dir: string;
  entries: HostileEntry[];
  /** Kinds this machine's sharp or ffmpeg cannot make, each with why (the corpus goes on without them). */
  notMade: string[];
}

export interface CorpusOptions {
  /** A real face photo (JPEG bytes); odd-name entries and derived formats are made from it. */
  face: Buffer;
  /** A second face, for the 2-frame videos (default: the first). */
  otherFace?: Buffer;
  /** Path of ffmpeg, or null to make no video entries (they are listed in notMade). */
  ffmpeg: string | null;
}

const trainable = (name: string) => /\.(jpe?g|png|webp)$/i.test(name) && !name.startsWith('.') && !name.includes('/');

// ---------------------------------------------------------------------------
// Hand-built formats.

function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(8 + data.length + 4);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A PNG whose header claims width x height RGB pixels (valid CRCs) over a few bytes
 * of compressed zeros: decoding it as it asks would take width * height * 3 bytes.
 */
export function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A 24-bit BMP (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes) of raw RGB pixels. */
export function bmpFromRgb(rgb: Buffer, width: number, height: number): Buffer {
  const rowSize = Math.ceil((width * 3) / 4) * 4;
  const pixelBytes = rowSize * height;
  const out = Buffer.alloc(54 + pixelBytes);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(pixelBytes, 34);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * rowSize;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[row + x * 3] = rgb[i + 2]!; // BGR
      out[row + x * 3 + 1] = rgb[i + 1]!;
      out[row + x * 3 + 2] = rgb[i]!;
    }
  }
  return out;
}

/** A zip archive holding one stored (uncompressed) file, as a polyglot tail. */
export function storedZip(name: string, content: Buffer): Buffer {
  const nameBytes = Buffer.from(name, 'latin1');
  const crc = crc32(content);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(content.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(content.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const localSize = local.length + nameBytes.length + content.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(localSize, 16);
  return Buffer.concat([local, nameBytes, content, central, nameBytes, end]);
}

// ---------------------------------------------------------------------------

/** Builds the corpus in `dir` (which must exist and be empty). */
export async function buildHostileCorpus(dir: string, options: CorpusOptions): Promise<HostileCorpus> {
  const { face } = options;
  const otherFace = options.otherFace ?? face;
  const entries: HostileEntry[] = [];
  const notMade: string[] = [];
  const add = (name: string, kind: string, expect: Expectation, bytes: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    entries.push({ name, path, kind, expect, bytes, trainable: trainable(name) });
  };
  const addPath = (name: string, path: string, kind: string, make: () => void) => {
    make();
    entries.push({ name, path, kind, expect: 'error', bytes: null, trainable: trainable(name) });
  };

  const png = await sharp(face).png().toBuffer();
  const { data: rgb, info } = await sharp(face).resize(64, 64).removeAlpha().raw().toBuffer({ resolveWithObject: true });

  // Broken or lying bytes: no reader may call these a photo.
  add('truncated.jpg', 'JPEG cut to 40% of its bytes', 'error', face.subarray(0, Math.floor(face.length * 0.4)));
  add('truncated.png', 'PNG cut in half', 'error', png.subarray(0, Math.floor(png.length / 2)));
  add('jpeg-header-on-text.jpg', 'JPEG magic bytes, then text', 'error', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('hello, I am not a photo\n'.repeat(20))]));
  add('bomb.png', 'PNG header claiming 100000x100000 px (30 GB decoded) over 9 bytes of data', 'error', bombPng(100_000, 100_000));
  add('bomb-16k.png', 'PNG header claiming 16000x16000 px, under sharp\'s pixel limit, with almost no data', 'error', bombPng(16_000, 16_000));
  add('zero-byte.jpg', 'zero bytes', 'error', Buffer.alloc(0));
  add('empty.mp4', 'zero bytes named as a video', 'error', Buffer.alloc(0));
  add('newline.png', 'one newline', 'error', Buffer.from('\n'));
  add('notes.jpg', 'a text file named .jpg', 'error', Buffer.from('this is a shopping list, not a photo\n'));
  add('page.html.png', 'an HTML page named .png', 'error', Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>\n'));
  add('external-refs.svg', 'SVG with external references (http, file://)', 'error', Buffer.from(
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">' +
      '<image xlink:href="http://127.0.0.1:9/face.jpg" width="64" height="64"/><image href="file:///etc/passwd" width="64" height="64"/></svg>\n',
  ));
  add('--json.jpg', 'text in a file named like an option', 'error', Buffer.from('--json --help\n'));
  add('svg-as.png', 'the same SVG named .png', 'error', entries.at(-1)!.bytes!);

  // Polyglots: a valid image followed by something else. Readers that stop at the image's end read the face.
  add('polyglot-zip.png', 'a PNG with a zip archive appended', 'either', Buffer.concat([png, storedZip('payload.sh', Buffer.from('#!/bin/sh\necho pwned\n'))]));
  add('polyglot-html.jpg', 'a JPEG with an HTML page and a PDF header appended', 'either', Buffer.concat([face, Buffer.from('%PDF-1.4\n<html><script>alert(1)</script></html>\n')]));

  // Colour models, bit depths and formats (readable images; some readers refuse some of them).
  add('cmyk.jpg', 'CMYK JPEG', 'either', await sharp(face).toColourspace('cmyk').jpeg().toBuffer());
  add('16-bit.png', '16-bit RGB PNG', 'either', await sharp(face).toColourspace('rgb16').png().toBuffer());
  add('palette.png', 'palette (indexed) PNG', 'either', await sharp(face).png({ palette: true, colours: 64 }).toBuffer());
  add('gray-alpha.png', 'grayscale + alpha PNG', 'either', await sharp(face).greyscale().ensureAlpha(0.8).toColourspace('b-w').png().toBuffer());
  add('face.tiff', 'TIFF', 'either', await sharp(face).tiff().toBuffer());
  add('tiff-named.jpg', 'TIFF named .jpg', 'either', entries.at(-1)!.bytes!);
  add('face.bmp', 'BMP (24-bit, hand-built header)', 'either', bmpFromRgb(rgb, info.width, info.height));
  add('bmp-named.png', 'BMP named .png', 'either', entries.at(-1)!.bytes!);
  add('face.gif', 'GIF', 'either', await sharp(face).gif().toBuffer());
  try {
    add('face.avif', 'AVIF', 'either', await sharp(face).avif({ quality: 50, effort: 0 }).toBuffer());
  } catch (error) {
    notMade.push(`AVIF: this sharp cannot write it (${(error as Error).message.split('\n')[0]})`);
  }
  try {
    add('face.heic', 'HEIC (HEVC in HEIF)', 'either', await sharp(face).heif({ compression: 'hevc', quality: 50 }).toBuffer());
  } catch (error) {
    notMade.push(`HEIC: this sharp cannot write it (${(error as Error).message.split('\n')[0]}); prebuilt sharp has no HEVC encoder`);
  }

  // A real face under odd names: each must be checked like any other photo.
  add('my photo (1).jpg', 'a face, spaces and brackets in the name', 'verdict', face);
  add('фото лица 😀 é.jpg', 'a face, unicode name (Cyrillic, emoji, accent)', 'verdict', face);
  add('-rf.jpg', 'a face, name starting with a dash', 'verdict', face);
  add('..%2F..%2Fetc%2Fpasswd.jpg', 'a face, name spelling ../../etc/passwd', 'verdict', face);
  add('...jpg', 'a face, name of dots', 'verdict', face);
  add(`${'long'.repeat(61)}.jpg`, 'a face, 248-character name', 'verdict', face);
  add('face;rm -rf $HOME\u202egpj.jpg', 'a face, shell metacharacters and a right-to-left override in the name', 'verdict', face);

  // Paths that hold no bytes to read.
  addPath('loop-a.jpg', join(dir, 'loop-a.jpg'), 'symlink loop (loop-a.jpg -> loop-b.jpg -> loop-a.jpg)', () => symlinkSync('loop-b.jpg', join(dir, 'loop-a.jpg')));
  addPath('loop-b.jpg', join(dir, 'loop-b.jpg'), 'symlink loop, the other half', () => symlinkSync('loop-a.jpg', join(dir, 'loop-b.jpg')));
  addPath('dangling.jpg', join(dir, 'dangling.jpg'), 'symlink to nothing', () => symlinkSync('no-such-file.jpg', join(dir, 'dangling.jpg')));
  addPath('fifo.jpg', join(dir, 'fifo.jpg'), 'a FIFO (named pipe): opening it blocks until a writer comes', () => execFileSync('mkfifo', [join(dir, 'fifo.jpg')]));
  addPath('zero-device.jpg', join(dir, 'zero-device.jpg'), 'symlink to /dev/zero (endless bytes)', () => symlinkSync('/dev/zero', join(dir, 'zero-device.jpg')));
  addPath('/dev/zero', '/dev/zero', 'a character device, endless zeros', () => undefined);
  addPath('folder.jpg', join(dir, 'folder.jpg'), 'a folder named .jpg', () => mkdirSync(join(dir, 'folder.jpg')));

  // Videos, made by ffmpeg.
  if (options.ffmpeg) {
    const ffmpeg = options.ffmpeg;
    const frames = join(dir, '.frames');
    mkdirSync(frames);
    writeFileSync(join(frames, 'f0.jpg'), face);
    writeFileSync(join(frames, 'f1.jpg'), otherFace);
    const run = (args: string[]) => execFileSync(ffmpeg, ['-y', '-loglevel', 'error', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const face2s = join(frames, 'two-faces.mp4');
    // Without +faststart the moov atom (the index) is written last: cutting the file loses it.
    run(['-framerate', '1', '-i', join(frames, 'f%d.jpg'), '-vf', 'scale=160:160,fps=10,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-t', '2', face2s]);
    const whole = readFileSync(face2s);
    add('moov-less.mp4', 'MP4 cut before its moov atom (index written last, file truncated)', 'error', whole.subarray(0, Math.floor(whole.length * 0.6)));
    add('header-only.mp4', 'the first 64 bytes of an MP4', 'error', whole.subarray(0, 64));
    const audio = join(frames, 'audio.mp4');
    run(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', audio]);
    add('audio-only.mp4', 'MP4 holding only an audio track', 'error', readFileSync(audio));
    // As a phone films in portrait: frames stored turned a quarter turn, and a rotation in the
    // metadata (a display matrix; ffmpeg 5 writes the `rotate` tag as one) that turns them upright.
    // A reader that ignores it sees sideways faces.
    const sideways = join(frames, 'sideways.mp4');
    run(['-framerate', '1', '-i', join(frames, 'f%d.jpg'), '-vf', 'scale=200:150,fps=10,transpose=clock,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-t', '2', sideways]);
    const rotated = join(frames, 'rotated.mp4');
    run(['-i', sideways, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    add('rotated.mp4', 'MP4 of sideways frames with rotation metadata that turns them upright (a phone\'s portrait video)', 'verdict', readFileSync(rotated));
    add('upright.mp4', 'the same faces upright, no rotation (what rotated.mp4 should read as)', 'verdict', whole);
    add('video-named.jpg', 'an MP4 named .jpg', 'verdict', whole);
  } else {
    notMade.push('videos (moov-less, audio-only, rotated): no ffmpeg on PATH');
  }
  return { dir, entries, notMade };
}
