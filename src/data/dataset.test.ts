import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DatasetNotFoundError, EmptyDatasetError, ImageDecodeError, UsageError } from '../errors.js';
import { badImageFiles, requireUtkface, syntheticJpeg, tempFolder } from '../../test/helpers/data.js';
import { copyBatch, defaultCacheDir, type FaceDataset, loadFaceFolder } from './dataset.js';
import { decodeImage } from './images.js';
import { parseUtkfaceName } from './labels.js';

const tmp = tempFolder();
afterAll(() => tmp.cleanup());

let folders = 0;
/** A new empty folder under the test's tmp dir. */
function newFolder(name: string): string {
  const dir = join(tmp.dir, `${++folders}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A folder of `count` synthetic JPEGs named face-00.jpg, face-01.jpg, ... */
async function syntheticFolder(name: string, count: number): Promise<string> {
  const dir = newFolder(name);
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `face-${String(i).padStart(2, '0')}.jpg`), await syntheticJpeg(24, 24, i));
  return dir;
}

function cacheFiles(cacheDir: string): string[] {
  return readdirSync(cacheDir).filter((n) => n.endsWith('.bin'));
}

const noWarn = (message: string): never => {
  throw new Error(`unexpected warning: ${message}`);
};

describe('loadFaceFolder: folders that cannot be loaded', () => {
  it('throws DatasetNotFoundError naming a missing folder', async () => {
    const missing = join(tmp.dir, 'no-such-folder');
    const error = await loadFaceFolder(missing, { height: 8, width: 8, cacheDir: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetNotFoundError);
    expect((error as Error).message).toBe(`data folder ${missing} does not exist`);
  });

  it('throws DatasetNotFoundError for a file given as the folder', async () => {
    const file = join(newFolder('file-as-folder'), 'face.jpg');
    writeFileSync(file, await syntheticJpeg());
    const error = await loadFaceFolder(file, { height: 8, width: 8, cacheDir: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetNotFoundError);
    expect((error as Error).message).toBe(`data folder ${file} is a file, not a folder`);
  });

  it('throws EmptyDatasetError for an empty folder, ignoring hidden files, other extensions and subfolders', async () => {
    const dir = newFolder('empty');
    writeFileSync(join(dir, '.hidden.jpg'), await syntheticJpeg());
    writeFileSync(join(dir, 'readme.txt'), 'faces go here');
    writeFileSync(join(dir, 'face.gif'), 'GIF89a');
    mkdirSync(join(dir, 'folder.jpg'));
    writeFileSync(join(dir, 'folder.jpg', 'inside.jpg'), await syntheticJpeg());
    const error = await loadFaceFolder(dir, { height: 8, width: 8, cacheDir: false, warn: noWarn }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmptyDatasetError);
    expect((error as Error).message).toBe(`no image in ${dir}`);
  });

  it('throws EmptyDatasetError naming the folder and counting the unreadable files when none is readable', async () => {
    const dir = newFolder('only-bad');
    const bad = await badImageFiles();
    for (const b of bad) writeFileSync(join(dir, b.name), b.bytes);
    const error = await loadFaceFolder(dir, { height: 8, width: 8, cacheDir: false, warn: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmptyDatasetError);
    expect((error as Error).message).toBe(`no readable image in ${dir}: all ${bad.length} image files unreadable`);
  });

  it('rejects a limit, size or concurrency that is not a positive integer', async () => {
    const dir = await syntheticFolder('bad-options', 1);
    for (const opts of [{ limit: 0 }, { limit: -3 }, { limit: 1.5 }, { height: 0 }, { concurrency: 0 }]) {
      await expect(loadFaceFolder(dir, { height: 8, width: 8, cacheDir: false, ...opts }), JSON.stringify(opts)).rejects.toThrow(UsageError);
    }
  });
});

describe('loadFaceFolder: decoding', () => {
  it('loads a folder sorted by name, skipping unreadable files with one warning that counts and names them', async () => {
    const dir = await syntheticFolder('mixed', 3);
    const bad = await badImageFiles();
    for (const b of bad) writeFileSync(join(dir, b.name), b.bytes);
    // Three more empty files: seven unreadable in all, five named, "and 2 more".
    for (const name of ['x1.jpeg', 'x2.png', 'x3.webp']) writeFileSync(join(dir, name), '');
    writeFileSync(join(dir, 'notes.txt'), 'not an image, and not named like one: ignored');

    const warn = vi.fn();
    const progress: [number, number][] = [];
    const ds = await loadFaceFolder(dir, { height: 12, width: 10, cacheDir: false, warn, onProgress: (d, t) => progress.push([d, t]) });

    expect(ds.count).toBe(3);
    expect(ds.files).toEqual(['face-00.jpg', 'face-01.jpg', 'face-02.jpg']);
    expect([ds.height, ds.width]).toEqual([12, 10]);
    expect(ds.images.length).toBe(3 * 12 * 10 * 3);
    expect(ds.labels).toEqual([null, null, null]);
    expect(ds.fromCache).toBe(false);
    expect(ds.skipped.map((s) => s.file)).toEqual(['empty.jpg', 'notes.jpg', 'tiny.png', 'truncated.jpg', 'x1.jpeg', 'x2.png', 'x3.webp']);
    for (const b of bad) expect(ds.skipped.find((s) => s.file === b.name)?.problem).toMatch(b.problem);

    expect(warn).toHaveBeenCalledTimes(1);
    const message = String(warn.mock.calls[0]![0]);
    expect(message).toMatch(/^skipped 7 unreadable files of 10 in /);
    expect(message).toContain('empty.jpg (file is empty (0 bytes))');
    expect(message).toContain('tiny.png (image is 1x1 px; at least 8x8 needed)');
    expect(message).toContain('x1.jpeg (file is empty (0 bytes))');
    expect(message).not.toContain('x2.png');
    expect(message).toMatch(/ and 2 more$/);

    expect(progress[0]).toEqual([0, 10]);
    expect(progress.at(-1)).toEqual([10, 10]);
    expect(progress.length).toBe(11);

    // Image n is face-0n decoded on its own.
    const second = await decodeImage(join(dir, 'face-01.jpg'), 12, 10);
    expect(ds.images.subarray(12 * 10 * 3, 2 * 12 * 10 * 3)).toEqual(second);
  });

  it('never opens a FIFO or a symlink to one: skips them, named in the warning, on a cache hit too', async () => {
    const dir = await syntheticFolder('fifo', 2);
    execFileSync('mkfifo', [join(dir, 'pipe.jpg')]);
    symlinkSync(join(dir, 'pipe.jpg'), join(dir, 'face-link.png'));
    const cacheDir = newFolder('fifo-cache');
    for (const expectCache of [false, true]) {
      const warn = vi.fn();
      // Reading either would wait forever for a writer: the test's timeout would end it.
      const ds = await loadFaceFolder(dir, { height: 8, width: 8, cacheDir, warn });
      expect(ds.fromCache).toBe(expectCache);
      expect(ds.files).toEqual(['face-00.jpg', 'face-01.jpg']);
      expect(ds.skipped).toEqual([
        { file: 'face-link.png', problem: 'a FIFO, not a regular file' },
        { file: 'pipe.jpg', problem: 'a FIFO, not a regular file' },
      ]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/^skipped 2 unreadable files of 4 in .*: face-link.png \(a FIFO, not a regular file\), pipe.jpg \(a FIFO, not a regular file\)$/);
    }
    const error = await decodeImage(join(dir, 'pipe.jpg'), 8, 8).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as Error).message).toBe(`${join(dir, 'pipe.jpg')}: a FIFO, not a regular file`);
    const asFolder = await loadFaceFolder(join(dir, 'pipe.jpg'), { height: 8, width: 8, cacheDir: false }).catch((e: unknown) => e);
    expect((asFolder as Error).message).toBe(`data folder ${join(dir, 'pipe.jpg')} is a FIFO, not a folder`);
  }, 20_000);

  it('takes the first `limit` files by name, unreadable ones included', async () => {
    const dir = await syntheticFolder('limit', 4);
    writeFileSync(join(dir, 'face-01b.jpg'), ''); // sorts second... after face-01.jpg
    const warn = vi.fn();
    const ds = await loadFaceFolder(dir, { height: 8, width: 8, limit: 3, cacheDir: false, warn });
    expect(ds.files).toEqual(['face-00.jpg', 'face-01.jpg']);
    expect(ds.skipped).toEqual([{ file: 'face-01b.jpg', problem: 'file is empty (0 bytes)' }]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^skipped 1 unreadable file of 3 in /));
  });

  it('loads 200 real UTKFace photos with their labels', async (ctx) => {
    const dir = requireUtkface(ctx);
    const cacheDir = newFolder('cache-utk');
    const progress: number[] = [];
    const ds = await loadFaceFolder(dir, { height: 32, width: 32, limit: 200, cacheDir, warn: noWarn, onProgress: (d) => progress.push(d) });
    const expected = readdirSync(dir).sort().slice(0, 200);
    expect(ds.count).toBe(200);
    expect(ds.files).toEqual(expected);
    expect(ds.labels).toEqual(expected.map(parseUtkfaceName));
    expect(ds.labels[0]).toEqual({ age: 100, gender: 1, race: 0 }); // 100_1_0_20170110183726390.jpg.chip.jpg
    expect(ds.images.length).toBe(200 * 32 * 32 * 3);
    expect(Math.max(...ds.images.subarray(0, 3072))).toBeLessThanOrEqual(1);
    expect(Math.min(...ds.images.subarray(0, 3072))).toBeGreaterThanOrEqual(-1);
    expect(progress.at(-1)).toBe(200);
    expect(ds.images.subarray(199 * 3072)).toEqual(await decodeImage(join(dir, expected[199]!), 32, 32));
    // The cache lives in cacheDir, nothing beside the images.
    expect(cacheFiles(cacheDir)).toHaveLength(1);
  });

  it('warns once, with the count, for real photos mixed with bad files', async (ctx) => {
    const utk = requireUtkface(ctx);
    const dir = newFolder('real-mixed');
    const real = readdirSync(utk).sort().slice(0, 20);
    for (const name of real) symlinkSync(join(utk, name), join(dir, name)); // linked, not copied
    const bad = await badImageFiles();
    for (const b of bad) writeFileSync(join(dir, b.name), b.bytes);
    const warn = vi.fn();
    const ds = await loadFaceFolder(dir, { height: 16, width: 16, cacheDir: false, warn });
    expect(ds.count).toBe(20);
    expect(ds.labels.every((l) => l !== null)).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(new RegExp(`^skipped ${bad.length} unreadable files of ${20 + bad.length} in `));
  });
});

describe('loadFaceFolder: cache', () => {
  async function loadTwice(dir: string, cacheDir: string): Promise<[FaceDataset, FaceDataset]> {
    const first = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir, warn: () => {} });
    const second = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir, warn: () => {} });
    return [first, second];
  }

  it('serves the second load from the cache, identical to the first', async () => {
    const dir = await syntheticFolder('cache-hit', 3);
    writeFileSync(join(dir, 'empty.jpg'), '');
    const cacheDir = join(newFolder('cache-hit-cache'), 'nested', 'cache'); // created on demand
    const [first, second] = await loadTwice(dir, cacheDir);
    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(true);
    expect(second.images).toEqual(first.images);
    expect({ ...second, images: null, fromCache: null }).toEqual({ ...first, images: null, fromCache: null });
    expect(cacheFiles(cacheDir)).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(['empty.jpg', 'face-00.jpg', 'face-01.jpg', 'face-02.jpg']);

    // A hit still reports the skipped files, once.
    const warn = vi.fn();
    const third = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir, warn });
    expect(third.fromCache).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^skipped 1 unreadable file of 4 in .*empty\.jpg/));
  });

  it('keys the cache on size and limit', async () => {
    const dir = await syntheticFolder('cache-key', 3);
    const cacheDir = newFolder('cache-key-cache');
    await loadFaceFolder(dir, { height: 10, width: 10, cacheDir });
    const other = await loadFaceFolder(dir, { height: 10, width: 12, cacheDir });
    const limited = await loadFaceFolder(dir, { height: 10, width: 10, limit: 2, cacheDir });
    expect([other.fromCache, other.width]).toEqual([false, 12]);
    expect([limited.fromCache, limited.count]).toEqual([false, 2]);
    expect(cacheFiles(cacheDir)).toHaveLength(3);
  });

  it('rebuilds when a file is added or changed, and drops the stale cache file', async () => {
    const dir = await syntheticFolder('cache-invalidate', 2);
    const cacheDir = newFolder('cache-invalidate-cache');
    const [, hit] = await loadTwice(dir, cacheDir);
    expect(hit.fromCache).toBe(true);

    writeFileSync(join(dir, 'face-09.jpg'), await syntheticJpeg(24, 24, 9));
    const added = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir });
    expect([added.fromCache, added.count]).toEqual([false, 3]);
    expect(cacheFiles(cacheDir)).toHaveLength(1);

    // Same name and size, new content and mtime.
    writeFileSync(join(dir, 'face-00.jpg'), await syntheticJpeg(24, 24, 100));
    utimesSync(join(dir, 'face-00.jpg'), new Date(), new Date(Date.now() + 5000));
    const changed = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir });
    expect(changed.fromCache).toBe(false);
    expect(changed.images.subarray(0, 300)).not.toEqual(added.images.subarray(0, 300));
    expect((await loadFaceFolder(dir, { height: 10, width: 10, cacheDir })).fromCache).toBe(true);
  });

  it('ignores and rebuilds a truncated, garbled or bit-flipped cache file', async () => {
    const dir = await syntheticFolder('cache-corrupt', 3);
    const cacheDir = newFolder('cache-corrupt-cache');
    const [first] = await loadTwice(dir, cacheDir);
    const file = join(cacheDir, cacheFiles(cacheDir)[0]!);
    const good = readFileSync(file);

    const damages: [string, () => void][] = [
      ['truncated', () => truncateSync(file, good.length - 100)],
      ['cut inside the header', () => truncateSync(file, 20)],
      ['empty', () => truncateSync(file, 0)],
      ['garbage', () => writeFileSync(file, Buffer.alloc(good.length, 0x5a))],
      ['huge header length', () => writeFileSync(file, Buffer.concat([good.subarray(0, 8), Buffer.from([255, 255, 255, 255]), good.subarray(12)]))],
      ['header without format', () => writeFileSync(file, Buffer.concat([good.subarray(0, 12), Buffer.from('{"oops'), good.subarray(18)]))],
      ['broken JSON', () => writeFileSync(file, Buffer.concat([good.subarray(0, 12), Buffer.from('}}}}}}'), good.subarray(18)]))],
      [
        'one pixel byte flipped',
        () => {
          const copy = Buffer.from(good);
          copy[copy.length - 7]! ^= 0xff;
          writeFileSync(file, copy);
        },
      ],
    ];
    for (const [what, damage] of damages) {
      damage();
      const warn = vi.fn();
      const rebuilt = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir, warn });
      expect(rebuilt.fromCache, what).toBe(false);
      expect(rebuilt.images, what).toEqual(first.images);
      expect(warn, what).toHaveBeenCalledWith(expect.stringMatching(/^ignoring corrupt cache file .*; rebuilding it$/));
      expect(readFileSync(file).equals(good), what).toBe(true); // rewritten whole
      expect((await loadFaceFolder(dir, { height: 10, width: 10, cacheDir, warn: noWarn })).fromCache, what).toBe(true);
    }
  });

  it('writes nothing with cacheDir false', async () => {
    const dir = await syntheticFolder('no-cache', 2);
    const cacheDir = newFolder('no-cache-cache');
    vi.stubEnv('FAKEFACE_CACHE_DIR', cacheDir);
    try {
      const a = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir: false });
      const b = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir: false });
      expect([a.fromCache, b.fromCache]).toEqual([false, false]);
      expect(readdirSync(cacheDir)).toEqual([]);
      // Left out, cacheDir defaults to defaultCacheDir().
      expect((await loadFaceFolder(dir, { height: 10, width: 10 })).fromCache).toBe(false);
      expect((await loadFaceFolder(dir, { height: 10, width: 10 })).fromCache).toBe(true);
      expect(cacheFiles(cacheDir)).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('warns and still loads when the cache cannot be written', async () => {
    const dir = await syntheticFolder('cache-unwritable', 2);
    const notAFolder = join(newFolder('cache-unwritable-cache'), 'file');
    writeFileSync(notAFolder, 'in the way');
    const warn = vi.fn();
    const ds = await loadFaceFolder(dir, { height: 10, width: 10, cacheDir: notAFolder, warn });
    expect(ds.count).toBe(2);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^could not write cache file /));
  });
});

describe('defaultCacheDir', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('prefers FAKEFACE_CACHE_DIR, then XDG_CACHE_HOME/fakeface, then ~/.cache/fakeface', () => {
    vi.stubEnv('FAKEFACE_CACHE_DIR', '/tmp/ff-cache');
    vi.stubEnv('XDG_CACHE_HOME', '/tmp/xdg');
    expect(defaultCacheDir()).toBe('/tmp/ff-cache');
    vi.stubEnv('FAKEFACE_CACHE_DIR', '');
    expect(defaultCacheDir()).toBe('/tmp/xdg/fakeface');
    vi.stubEnv('XDG_CACHE_HOME', '');
    expect(defaultCacheDir()).toBe(join(homedir(), '.cache', 'fakeface'));
  });
});

describe('copyBatch', () => {
  const ds: FaceDataset = {
    images: Float32Array.from({ length: 4 * 2 * 2 * 3 }, (_, i) => i),
    count: 4,
    height: 2,
    width: 2,
    files: ['a', 'b', 'c', 'd'],
    labels: [null, null, null, null],
    skipped: [],
    fromCache: false,
  };
  const image = (n: number) => [...ds.images.subarray(n * 12, (n + 1) * 12)];

  it('gathers the images at the indices into one NHWC buffer', () => {
    const batch = copyBatch(ds, [3, 0, 3]);
    expect(batch.length).toBe(3 * 12);
    expect([...batch]).toEqual([...image(3), ...image(0), ...image(3)]);
  });

  it('fills a given buffer and returns it', () => {
    const out = new Float32Array(24);
    expect(copyBatch(ds, Int32Array.of(2, 1), out)).toBe(out);
    expect([...out]).toEqual([...image(2), ...image(1)]);
  });

  it('rejects indices out of range and a buffer of the wrong size', () => {
    expect(() => copyBatch(ds, [4])).toThrow(UsageError);
    expect(() => copyBatch(ds, [-1])).toThrow(UsageError);
    expect(() => copyBatch(ds, [0], new Float32Array(11))).toThrow(UsageError);
  });
});
