/**
 * A folder of face photos -> one float32 NHWC buffer in [-1, 1], plus names and labels.
 *
 * The decoded pixels are cached (as bytes, 4x smaller than float32) in a cache folder,
 * never beside the images: the data folder may be read-only. A second load of the
 * same folder at the same size reads one file instead of decoding every image.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { DatasetNotFoundError, EmptyDatasetError, ImageDecodeError, UsageError } from '../errors.js';
import { bytesToUnitRange, decodeImageBytes, writeFileAtomic } from './images.js';
import { type FaceLabels, parseUtkfaceName } from './labels.js';
import { fileTypeOf, notRegularProblem } from './regular-file.js';

export interface FaceDataset {
  /** count x height x width x 3 values, RGB, in [-1, 1]. */
  images: Float32Array;
  count: number;
  height: number;
  width: number;
  /** File names (not paths) of the loaded images, in image order (sorted by name). */
  files: string[];
  /** UTKFace labels per image, from the file name; null for other names. */
  labels: (FaceLabels | null)[];
  /** Files that could not be decoded, or are no regular file (a FIFO, a device), with why. */
  skipped: { file: string; problem: string }[];
  /** True when the pixels came from the cache rather than from decoding. */
  fromCache: boolean;
}

export interface LoadOptions {
  /** Output size in px; images are resized with fit 'cover' (fill, centre-crop the long side). */
  height: number;
  width: number;
  /**
   * Load only the first `limit` image files, by sorted name. Unreadable files among
   * them are skipped, not replaced, so `count` may come out below `limit`.
   * @default all files
   */
  limit?: number;
  /** Cache folder, or false to decode every time. @default defaultCacheDir() */
  cacheDir?: string | false;
  /** Called as images are decoded (not on a cache hit, which is one read). */
  onProgress?: (done: number, total: number) => void;
  /** Receives one message naming unreadable files, and cache problems. @default console.warn */
  warn?: (message: string) => void;
  /** Images decoded at once. @default 8 */
  concurrency?: number;
}

/** Image file extensions we pick up from a folder (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

const DEFAULT_CONCURRENCY = 8;
/** Unreadable files named in the warning; the rest are counted. */
const WARN_NAMED_FILES = 5;

/**
 * Loads every JPEG/PNG/WebP in `dir` (not its subfolders; hidden files and other
 * extensions are ignored), sorted by name, resized to height x width, scaled to [-1, 1].
 *
 * Throws DatasetNotFoundError when `dir` is missing or not a folder, EmptyDatasetError
 * when no image in it can be read, UsageError for bad options. Unreadable files are
 * skipped and reported in one `warn` call; so are image names that are no regular
 * file (a FIFO would block the read forever), which are never opened.
 */
export async function loadFaceFolder(dir: string, opts: LoadOptions): Promise<FaceDataset> {
  const { height, width, limit } = opts;
  checkOptions(opts);
  const folder = resolve(dir);
  const warn = opts.warn ?? ((message: string) => console.warn(message));
  const { files, stats, notRegular } = await listImageFiles(folder, dir, limit);
  const candidates = files.length + notRegular.length;

  const cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  const cache = cacheDir === false ? null : cacheLocation(cacheDir, folder, height, width, limit, stats);

  if (cache) {
    const cached = await readCache(cache, warn);
    if (cached) {
      const skipped = mergeSkipped(notRegular, cached.skipped);
      if (cached.count === 0) throw emptyError(dir, candidates, skipped.length);
      warnSkipped(dir, skipped, candidates, warn);
      return { ...cached, skipped };
    }
  }

  const decoded = await decodeAll(folder, files, height, width, opts.concurrency ?? DEFAULT_CONCURRENCY, opts.onProgress);
  const skipped = mergeSkipped(notRegular, decoded.skipped);
  if (decoded.count === 0) throw emptyError(dir, candidates, skipped.length);
  warnSkipped(dir, skipped, candidates, warn);

  const labels = decoded.files.map(parseUtkfaceName);
  if (cache) {
    // Written before the float copy exists: the bytes and the floats overlap only while converting.
    const header: CacheHeader = {
      format: CACHE_FORMAT,
      key: cache.key,
      folder,
      count: decoded.count,
      height,
      width,
      files: decoded.files,
      labels,
      skipped: decoded.skipped,
      checksum: checksum(decoded.pixels),
    };
    await writeCache(cache, header, decoded.pixels, warn);
  }

  const images = new Float32Array(decoded.pixels.length);
  bytesToUnitRange(decoded.pixels, images);
  return {
    images,
    count: decoded.count,
    height,
    width,
    files: decoded.files,
    labels,
    skipped,
    fromCache: false,
  };
}

/** $FAKEFACE_CACHE_DIR, else $XDG_CACHE_HOME/fakeface, else ~/.cache/fakeface. */
export function defaultCacheDir(): string {
  const own = process.env['FAKEFACE_CACHE_DIR'];
  if (own) return resolve(own);
  const xdg = process.env['XDG_CACHE_HOME'];
  if (xdg) return join(resolve(xdg), 'fakeface');
  return join(homedir(), '.cache', 'fakeface');
}

/**
 * Gathers the images at `indices` into one NHWC buffer (indices.length x H x W x 3),
 * into `out` when given (it must hold exactly that many values), else a new array.
 */
export function copyBatch(ds: FaceDataset, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
  const imageSize = ds.height * ds.width * 3;
  const needed = indices.length * imageSize;
  if (out && out.length !== needed) {
    throw new UsageError(`copyBatch: out holds ${out.length} values; ${indices.length} images of ${ds.height}x${ds.width}x3 need ${needed}`);
  }
  const batch = out ?? new Float32Array(needed);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= ds.count) {
      throw new UsageError(`copyBatch: index ${index} is out of range 0..${ds.count - 1}`);
    }
    batch.set(ds.images.subarray(index * imageSize, (index + 1) * imageSize), i * imageSize);
  }
  return batch;
}

// ---------------------------------------------------------------------------
// Listing and decoding

function checkOptions(opts: LoadOptions): void {
  const positive = (value: number | undefined): boolean => value !== undefined && Number.isInteger(value) && value > 0;
  if (!positive(opts.height) || !positive(opts.width)) {
    throw new UsageError(`image size must be positive integers, got ${opts.height}x${opts.width}`);
  }
  if (opts.limit !== undefined && !positive(opts.limit)) {
    throw new UsageError(`limit must be a positive integer, got ${opts.limit}`);
  }
  if (opts.concurrency !== undefined && !positive(opts.concurrency)) {
    throw new UsageError(`concurrency must be a positive integer, got ${opts.concurrency}`);
  }
}

interface FileStat {
  file: string;
  size: number;
  mtimeMs: number;
}

/**
 * Sorted names of the candidate image files in `folder`, the first `limit` of them,
 * with their size and mtime for the cache key; and the image names among them that
 * are no regular file (FIFOs, sockets, devices, or symlinks to them), with why.
 */
async function listImageFiles(
  folder: string,
  shownAs: string,
  limit: number | undefined,
): Promise<{ files: string[]; stats: FileStat[]; notRegular: { file: string; problem: string }[] }> {
  let info;
  try {
    info = await stat(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
    throw new DatasetNotFoundError(`data folder ${shownAs} ${why}`, 'point --data at a folder of face images (JPEG, PNG or WebP)');
  }
  if (!info.isDirectory()) {
    const what = info.isFile() ? 'a file' : fileTypeOf(info);
    throw new DatasetNotFoundError(`data folder ${shownAs} is ${what}, not a folder`, 'point --data at the folder that holds the images');
  }
  const entries = await readdir(folder, { withFileTypes: true });
  const names = entries
    // Symlinks are followed when the file is read; folders named *.jpg are not images.
    .filter((e) => !e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .filter((name) => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase()))
    .sort(compareNames);
  const picked = limit === undefined ? names : names.slice(0, limit);
  // statSync: ~5x faster than 10k async stats through the thread pool (50 ms vs 250 ms
  // for UTKFace), which matters on a cache hit, where these stats are most of the work.
  const notRegular: { file: string; problem: string }[] = [];
  const stats = picked.map((file): FileStat | null => {
    try {
      const s = statSync(join(folder, file));
      if (s.isFile()) return { file, size: s.size, mtimeMs: s.mtimeMs };
      // A symlink to a folder is no image file: ignored like a folder. A FIFO, socket or
      // device is never opened (reading a FIFO waits forever for a writer), and is named.
      if (!s.isDirectory()) notRegular.push({ file, problem: notRegularProblem(s) });
      return null;
    } catch {
      // Broken symlink or a file deleted meanwhile: kept, so decoding reports it as unreadable.
      return { file, size: -1, mtimeMs: -1 };
    }
  });
  const kept = stats.filter((s): s is FileStat => s !== null);
  return { files: kept.map((s) => s.file), stats: kept, notRegular };
}

/** The files skipped before decoding (no regular file) and while decoding, in name order. */
function mergeSkipped(notRegular: { file: string; problem: string }[], undecodable: { file: string; problem: string }[]): { file: string; problem: string }[] {
  return notRegular.length === 0 ? undecodable : [...notRegular, ...undecodable].sort((a, b) => compareNames(a.file, b.file));
}

/** Code-unit order: the same on every machine, whatever the locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Decoded {
  pixels: Uint8Array;
  count: number;
  files: string[];
  skipped: { file: string; problem: string }[];
}

async function decodeAll(
  folder: string,
  files: string[],
  height: number,
  width: number,
  concurrency: number,
  onProgress: LoadOptions['onProgress'],
): Promise<Decoded> {
  const imageSize = height * width * 3;
  // One slot per file; unreadable ones are squeezed out afterwards, keeping name order.
  const pixels = new Uint8Array(files.length * imageSize);
  const problems: (string | null)[] = new Array(files.length).fill(null);
  let done = 0;
  onProgress?.(0, files.length);
  await mapBounded(files, concurrency, async (file, index) => {
    try {
      const bytes = await decodeImageBytes(join(folder, file), height, width, file);
      pixels.set(bytes, index * imageSize);
    } catch (error) {
      problems[index] = error instanceof ImageDecodeError ? error.problem : String(error);
    }
    done++;
    onProgress?.(done, files.length);
  });

  const kept: string[] = [];
  const skipped: { file: string; problem: string }[] = [];
  for (let i = 0; i < files.length; i++) {
    const problem = problems[i];
    if (problem !== null && problem !== undefined) {
      skipped.push({ file: files[i]!, problem });
      continue;
    }
    if (kept.length !== i) pixels.copyWithin(kept.length * imageSize, i * imageSize, (i + 1) * imageSize);
    kept.push(files[i]!);
  }
  return { pixels: pixels.subarray(0, kept.length * imageSize), count: kept.length, files: kept, skipped };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in item order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function warnSkipped(dir: string, skipped: { file: string; problem: string }[], total: number, warn: (message: string) => void): void {
  if (skipped.length === 0) return;
  const named = skipped.slice(0, WARN_NAMED_FILES).map((s) => `${s.file} (${s.problem})`);
  const more = skipped.length - named.length;
  const list = named.join(', ') + (more > 0 ? ` and ${more} more` : '');
  warn(`skipped ${skipped.length} unreadable ${plural(skipped.length, 'file')} of ${total} in ${dir}: ${list}`);
}

function emptyError(dir: string, candidates: number, unreadable: number): EmptyDatasetError {
  if (candidates === 0) {
    return new EmptyDatasetError(`no image in ${dir}`, `expected ${IMAGE_EXTENSIONS.join(', ')} files`);
  }
  return new EmptyDatasetError(
    `no readable image in ${dir}: all ${unreadable} image ${plural(unreadable, 'file')} unreadable`,
    'check that the files are JPEG, PNG or WebP images of at least 8x8 px',
  );
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

// ---------------------------------------------------------------------------
// Cache file: "FAKEFACE" magic, uint32 LE header length, JSON header, then
// count x height x width x 3 bytes (RGB, 0-255). Bytes rather than float32: 4x less
// disk and I/O; the conversion on load is a table lookup.

/** Bump when the decoding (resize, colour handling), the labelling or the file layout changes. */
const CACHE_FORMAT = 1;
const MAGIC = Buffer.from('FAKEFACE', 'latin1');
const PREFIX_LENGTH = MAGIC.length + 4;
/** A header past this is certainly corruption (9,780 names + labels take ~0.7 MB). */
const MAX_HEADER_LENGTH = 256 * 1024 * 1024;
const READ_CHUNK = 16 * 1024 * 1024;

interface CacheHeader {
  format: number;
  key: string;
  folder: string;
  count: number;
  height: number;
  width: number;
  files: string[];
  labels: (FaceLabels | null)[];
  skipped: { file: string; problem: string }[];
  /** sha1 of the pixel bytes: catches corruption a length check cannot. */
  checksum: string;
}

interface CacheLocation {
  dir: string;
  height: number;
  width: number;
  /** Files of the same folder, size and limit share this prefix; older ones are stale. */
  prefix: string;
  path: string;
  key: string;
}

function cacheLocation(
  cacheDir: string,
  folder: string,
  height: number,
  width: number,
  limit: number | undefined,
  stats: { file: string; size: number; mtimeMs: number }[],
): CacheLocation {
  const key = createHash('sha256')
    .update(JSON.stringify({ format: CACHE_FORMAT, folder, height, width, limit: limit ?? null }))
    .update(JSON.stringify(stats.map((s) => [s.file, s.size, s.mtimeMs])))
    .digest('hex');
  const folderHash = createHash('sha256').update(folder).digest('hex').slice(0, 12);
  const dir = resolve(cacheDir);
  const prefix = `faces-${folderHash}-${height}x${width}-${limit ?? 'all'}-`;
  return { dir, height, width, prefix, path: join(dir, `${prefix}${key.slice(0, 24)}.bin`), key };
}

function checksum(pixels: Uint8Array): string {
  return createHash('sha1').update(pixels).digest('hex');
}

/** The cached dataset, or null when there is none or it is unusable (then it is rebuilt). */
async function readCache(cache: CacheLocation, warn: (message: string) => void): Promise<FaceDataset | null> {
  let handle;
  try {
    handle = await open(cache.path, 'r');
  } catch {
    return null; // no cache yet
  }
  try {
    const fileSize = (await handle.stat()).size;
    const prefix = Buffer.alloc(PREFIX_LENGTH);
    if (fileSize < PREFIX_LENGTH) return corrupt('shorter than its header');
    await readFully(handle, prefix, 0);
    if (!prefix.subarray(0, MAGIC.length).equals(MAGIC)) return corrupt('bad magic');
    const headerLength = prefix.readUInt32LE(MAGIC.length);
    if (headerLength > MAX_HEADER_LENGTH || PREFIX_LENGTH + headerLength > fileSize) return corrupt('truncated header');
    const headerBytes = Buffer.alloc(headerLength);
    await readFully(handle, headerBytes, PREFIX_LENGTH);
    let header: CacheHeader;
    try {
      header = JSON.parse(headerBytes.toString('utf8')) as CacheHeader;
    } catch {
      return corrupt('unreadable header');
    }
    if (!validHeader(header)) return corrupt('malformed header');
    if (header.format !== CACHE_FORMAT || header.key !== cache.key) return null; // another version; rebuild quietly
    if (header.height !== cache.height || header.width !== cache.width) return corrupt('size differs from its key');
    const pixelLength = header.count * header.height * header.width * 3;
    if (fileSize !== PREFIX_LENGTH + headerLength + pixelLength) return corrupt(`size ${fileSize} bytes, expected ${PREFIX_LENGTH + headerLength + pixelLength}`);

    // Read in chunks straight into float32, so the byte copy of the whole set is never
    // held; the next chunk is read while this one is hashed and converted.
    const images = new Float32Array(pixelLength);
    const chunkLength = Math.min(READ_CHUNK, Math.max(pixelLength, 1));
    const buffers = [Buffer.allocUnsafeSlow(chunkLength), Buffer.allocUnsafeSlow(chunkLength)];
    const start = PREFIX_LENGTH + headerLength;
    const readChunk = (index: number): Promise<Buffer> | null => {
      const from = index * chunkLength;
      if (from >= pixelLength) return null;
      const part = buffers[index % 2]!.subarray(0, Math.min(chunkLength, pixelLength - from));
      const read = readFully(handle, part, start + from).then(() => part);
      read.catch(() => {}); // a read still in flight when we bail out must not go unhandled
      return read;
    };
    const hash = createHash('sha1');
    let pending = readChunk(0);
    for (let index = 0; pending; index++) {
      const part = await pending;
      pending = readChunk(index + 1);
      hash.update(part);
      bytesToUnitRange(part, images, index * chunkLength);
    }
    if (hash.digest('hex') !== header.checksum) return corrupt('pixel checksum mismatch');
    return {
      images,
      count: header.count,
      height: header.height,
      width: header.width,
      files: header.files,
      labels: header.labels,
      skipped: header.skipped,
      fromCache: true,
    };
  } catch (error) {
    return corrupt(`read failed: ${(error as Error).message}`);
  } finally {
    await handle.close().catch(() => {});
  }

  function corrupt(why: string): null {
    warn(`ignoring corrupt cache file ${cache.path} (${why}); rebuilding it`);
    return null;
  }
}

function validHeader(h: CacheHeader): boolean {
  const count = h?.count;
  return (
    typeof h === 'object' &&
    h !== null &&
    typeof h.format === 'number' &&
    typeof h.key === 'string' &&
    typeof h.checksum === 'string' &&
    Number.isInteger(count) &&
    count >= 0 &&
    Number.isInteger(h.height) &&
    Number.isInteger(h.width) &&
    Array.isArray(h.files) &&
    h.files.length === count &&
    Array.isArray(h.labels) &&
    h.labels.length === count &&
    Array.isArray(h.skipped)
  );
}

async function readFully(handle: Awaited<ReturnType<typeof open>>, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error('unexpected end of file');
    done += bytesRead;
  }
}

/** Writes the cache atomically and drops stale files of the same folder/size/limit. Never throws. */
async function writeCache(cache: CacheLocation, header: CacheHeader, pixels: Uint8Array, warn: (message: string) => void): Promise<void> {
  try {
    await mkdir(cache.dir, { recursive: true });
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const prefix = Buffer.alloc(PREFIX_LENGTH);
    MAGIC.copy(prefix, 0);
    prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
    await writeFileAtomic(cache.path, [prefix, headerBytes, pixels]);
  } catch (error) {
    warn(`could not write cache file ${cache.path} (${(error as Error).message}); the next load decodes again`);
    return;
  }
  try {
    const stale = (await readdir(cache.dir)).filter(
      (name) => name.startsWith(cache.prefix) && name.endsWith('.bin') && join(cache.dir, name) !== cache.path,
    );
    await Promise.all(stale.map((name) => unlink(join(cache.dir, name)).catch(() => {})));
  } catch {
    // Stale files only cost disk space.
  }
}
