import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_DIR } from '../../test/helpers/data.js';
import { FfmpegNotFoundError, UsageError, VideoDecodeError } from '../errors.js';
import { findFfmpeg, probeVideo, readFrames, type VideoFrame } from './index.js';
import { onPath } from './ffmpeg.js';
import { probeWithFfmpeg } from './probe.js';

// Fixtures are made here, at test time, in a temporary folder: never committed.
const FFMPEG = onPath('ffmpeg');
if (!FFMPEG) console.warn('ffmpeg not on PATH: skipping video tests (install it: sudo apt-get install ffmpeg)');

let dir = '';
const fixture = (name: string) => join(dir, name);
const sources: Uint8Array[] = []; // the 10 images faces.mp4 shows, decoded, 200x200 RGB

function ffmpeg(...args: string[]): void {
  execFileSync(FFMPEG!, ['-nostdin', '-v', 'error', '-y', ...args]);
}

/** Sets an MP4's track matrix to "turn 90 degrees clockwise for display", as phones write portrait video. */
function markRotated90(src: string, dst: string): void {
  const bytes = readFileSync(src);
  const tkhd = bytes.indexOf(Buffer.from('tkhd')) - 4; // the box starts with its 4-byte size
  const version = bytes[tkhd + 8];
  const matrix = tkhd + (version === 1 ? 60 : 48);
  [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000].forEach((v, i) => bytes.writeInt32BE(v, matrix + 4 * i));
  writeFileSync(dst, bytes);
}

async function collect(frames: AsyncIterable<VideoFrame>): Promise<VideoFrame[]> {
  const out: VideoFrame[] = [];
  for await (const frame of frames) out.push(frame);
  return out;
}

async function failure(promise: Promise<unknown>): Promise<VideoDecodeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VideoDecodeError);
  return error as VideoDecodeError;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/**
 * A 200x200 RGB picture of smooth colour waves, different for each i: a stand-in for a
 * face photo when UTKFace is absent. Smooth like a photo, so H.264 with 4:2:0 chroma keeps
 * it within the tolerance a real face meets (per-pixel colour patterns lose their chroma).
 */
function smoothPicture(i: number): Buffer {
  const raw = Buffer.alloc(200 * 200 * 3);
  const wave = (phase: number) => Math.round(128 + 100 * Math.sin(phase));
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 200; x++) {
      const p = (y * 200 + x) * 3;
      raw[p] = wave((x / 200) * 2 * Math.PI + i * 0.6);
      raw[p + 1] = wave((y / 200) * 2 * Math.PI + i * 1.1);
      raw[p + 2] = wave(((x + y) / 400) * 2 * Math.PI * (1 + (i % 3)) + i);
    }
  }
  return raw;
}

/** ffmpeg processes whose command line names this path (Linux /proc). */
function ffmpegProcessesFor(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.includes('ffmpeg') && cmd.includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!FFMPEG)('video', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fakeface-video-'));
    // faces.mp4: 10 face photos (synthetic patterns when UTKFace is absent), 5 fps -> 2 s, 200x200.
    const names = UTKFACE_DIR ? readdirSync(UTKFACE_DIR).filter((f) => f.endsWith('.jpg')).sort() : [];
    for (let i = 0; i < 10; i++) {
      const target = fixture(`img${String(i).padStart(3, '0')}.png`);
      if (UTKFACE_DIR) {
        await sharp(join(UTKFACE_DIR, names[Math.floor(((i + 0.5) * names.length) / 10)]!)).resize(200, 200).png().toFile(target);
      } else {
        await sharp(smoothPicture(i), { raw: { width: 200, height: 200, channels: 3 } }).png().toFile(target);
      }
      sources.push(new Uint8Array(await sharp(target).removeAlpha().raw().toBuffer()));
    }
    ffmpeg('-framerate', '5', '-i', fixture('img%03d.png'), '-c:v', 'libx264', '-crf', '12', '-pix_fmt', 'yuv420p', fixture('faces.mp4'));
    // The same with its index (moov) first, as streaming encoders write it.
    ffmpeg('-i', fixture('faces.mp4'), '-c', 'copy', '-movflags', '+faststart', fixture('faces-faststart.mp4'));

    // portrait.mp4: stored 320x180 landscape (top half red, bottom half blue), marked "turn 90 clockwise".
    const landscape = Buffer.alloc(320 * 180 * 3);
    for (let p = 0; p < 320 * 180; p++) landscape.set(p < 320 * 90 ? [230, 20, 20] : [20, 20, 230], p * 3);
    await sharp(landscape, { raw: { width: 320, height: 180, channels: 3 } }).png().toFile(fixture('landscape.png'));
    ffmpeg('-loop', '1', '-framerate', '5', '-t', '1', '-i', fixture('landscape.png'), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', fixture('landscape.mp4'));
    markRotated90(fixture('landscape.mp4'), fixture('portrait.mp4'));

    // Broken files.
    const whole = readFileSync(fixture('faces.mp4'));
    writeFileSync(fixture('truncated.mp4'), whole.subarray(0, whole.length >> 1));
    const streamed = readFileSync(fixture('faces-faststart.mp4'));
    writeFileSync(fixture('truncated-faststart.mp4'), streamed.subarray(0, streamed.length >> 1));
    const zeroed = Buffer.from(streamed);
    zeroed.fill(0, zeroed.indexOf(Buffer.from('mdat')) + 4); // header intact, every frame's data gone
    writeFileSync(fixture('no-frames.mp4'), zeroed);
    writeFileSync(fixture('notes.mp4'), 'these are meeting notes, not a video\n');
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('findFfmpeg', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env['PATH'] = saved['PATH'];
      if (saved['FAKEFACE_FFMPEG'] === undefined) delete process.env['FAKEFACE_FFMPEG'];
      else process.env['FAKEFACE_FFMPEG'] = saved['FAKEFACE_FFMPEG'];
    });

    it('finds ffmpeg on PATH', async () => {
      delete process.env['FAKEFACE_FFMPEG'];
      expect(await findFfmpeg()).toBe(FFMPEG);
    });

    it('uses $FAKEFACE_FFMPEG, and says so when it is wrong', async () => {
      process.env['FAKEFACE_FFMPEG'] = FFMPEG!;
      expect(await findFfmpeg()).toBe(FFMPEG);
      process.env['FAKEFACE_FFMPEG'] = join(dir, 'no-such-ffmpeg');
      await expect(findFfmpeg()).rejects.toThrow(/FAKEFACE_FFMPEG=.*no-such-ffmpeg is not an executable file/);
      process.env['FAKEFACE_FFMPEG'] = '/bin/true';
      await expect(findFfmpeg()).rejects.toThrow(/does not report an ffmpeg version/);
    });

    it('fails with an install hint when there is none', async () => {
      delete process.env['FAKEFACE_FFMPEG'];
      process.env['PATH'] = dir; // a folder without ffmpeg
      const error = await findFfmpeg().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FfmpegNotFoundError);
      expect((error as FfmpegNotFoundError).hint).toMatch(/apt-get install ffmpeg/);
    });
  });

  describe('probeVideo', () => {
    it('reads duration, size, rate and frame count', async () => {
      expect(await probeVideo(fixture('faces.mp4'))).toEqual({
        durationSeconds: 2,
        width: 200,
        height: 200,
        rotation: 0,
        fps: 5,
        frameCount: 10,
      });
    });

    it('reports a portrait phone video as turned 90 degrees, with its shown size', async () => {
      expect(await probeVideo(fixture('portrait.mp4'))).toMatchObject({ width: 180, height: 320, rotation: 90, fps: 5 });
    });

    it('gives the same answers from `ffmpeg -i` when ffprobe is absent (frame count unknown)', async () => {
      for (const name of ['faces.mp4', 'portrait.mp4']) {
        const viaFfprobe = await probeVideo(fixture(name));
        expect(await probeWithFfmpeg(FFMPEG!, fixture(name))).toEqual({ ...viaFfprobe, frameCount: null });
      }
    });

    it('names the file and the problem', async () => {
      expect((await failure(probeVideo(fixture('missing.mp4')))).message).toBe(`${fixture('missing.mp4')}: file not found`);
      expect((await failure(probeVideo(fixture('notes.mp4')))).problem).toMatch(/^not a video file \(ffmpeg: Invalid data/);
      expect((await failure(probeVideo(fixture('truncated.mp4')))).problem).toMatch(/^truncated or corrupt video \(its index, the moov atom, is missing\)/);
      expect((await failure(probeVideo(fixture('img000.png')))).problem).toMatch(/still image .*not a video/);
      expect((await failure(probeVideo(dir))).problem).toBe('not a file');
    });
  });

  describe('readFrames', () => {
    it('delivers every frame, in order, with its time and size', async () => {
      const frames = await collect(readFrames(fixture('faces.mp4')));
      expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(frames.map((f) => f.timeSeconds)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6, 1.8].map((t) => expect.closeTo(t, 6)));
      for (const [k, frame] of frames.entries()) {
        expect([frame.width, frame.height, frame.pixels.length]).toEqual([200, 200, 200 * 200 * 3]);
        // Each frame is its own source picture (closer to it than to any other).
        const diffs = sources.map((s) => meanAbsDiff(frame.pixels, s));
        expect(diffs.indexOf(Math.min(...diffs))).toBe(k);
        expect(diffs[k]).toBeLessThan(6);
      }
    });

    it('samples `frames: N` evenly over the duration', async () => {
      const frames = await collect(readFrames(fixture('faces.mp4'), { frames: 4 }));
      expect(frames.map((f) => f.timeSeconds)).toEqual([0, 0.5, 1, 1.5]);
      // 0.5 s into a 5 fps video is its 3rd picture (index 2), 1.5 s its 8th (index 7).
      const shown = frames.map((f) => {
        const diffs = sources.map((s) => meanAbsDiff(f.pixels, s));
        return diffs.indexOf(Math.min(...diffs));
      });
      expect(shown).toEqual([0, 2, 5, 7]);
      // More frames than the video has: each once.
      expect(await collect(readFrames(fixture('faces.mp4'), { frames: 50 }))).toHaveLength(10);
    });

    it('resamples to `fps` and scales to maxSide', async () => {
      const frames = await collect(readFrames(fixture('faces.mp4'), { fps: 2.5, maxSide: 64 }));
      expect(frames.map((f) => f.timeSeconds)).toEqual([0, 0.4, 0.8, 1.2, 1.6]);
      const small = await Promise.all(sources.map((_, i) => sharp(fixture(`img00${i}.png`)).resize(64, 64).removeAlpha().raw().toBuffer()));
      const shown = frames.map((f) => {
        const diffs = small.map((s) => meanAbsDiff(f.pixels, s));
        return diffs.indexOf(Math.min(...diffs));
      });
      expect(shown).toEqual([0, 2, 4, 6, 8]);
      expect(frames.every((f) => f.width === 64 && f.height === 64 && f.pixels.length === 64 * 64 * 3)).toBe(true);
    });

    it('turns a portrait phone video upright, and reports the delivered size', async () => {
      const frames = await collect(readFrames(fixture('portrait.mp4'), { maxSide: 160 }));
      expect(frames).toHaveLength(5);
      const { width, height, pixels } = frames[0]!;
      expect([width, height]).toEqual([90, 160]);
      // The stored frame's top (red) is on the right once turned 90 degrees clockwise.
      const at = (x: number, y: number) => [...pixels.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
      const [r1, , b1] = at(width - 10, height / 2) as [number, number, number];
      const [r2, , b2] = at(10, height / 2) as [number, number, number];
      expect(r1).toBeGreaterThan(180);
      expect(b1).toBeLessThan(80);
      expect(b2).toBeGreaterThan(180);
      expect(r2).toBeLessThan(80);
    });

    it('kills ffmpeg when the consumer stops early', async () => {
      const file = fixture('faces.mp4');
      let seen = 0;
      for await (const frame of readFrames(file)) {
        seen += frame.index + 1;
        expect(ffmpegProcessesFor(file).length).toBe(1); // ffmpeg waits for us mid-video
        break;
      }
      expect(seen).toBe(1);
      expect(ffmpegProcessesFor(file)).toEqual([]);
    });

    it('keeps memory to about one frame on a long video', async () => {
      const file = fixture('long.mp4');
      ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=1280x720:rate=30', '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file);
      const before = process.memoryUsage().arrayBuffers;
      let peak = 0;
      let count = 0;
      for await (const frame of readFrames(file)) {
        expect([frame.width, frame.height]).toEqual([640, 360]);
        count++;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      }
      expect(count).toBe(300); // 300 frames x 691 kB = 207 MB streamed
      console.log(`long video: ${count} frames, peak extra arrayBuffers ${(peak / 1e6).toFixed(1)} MB`);
      expect(peak).toBeLessThan(100e6); // garbage frames wait for the GC; without backpressure this would pass 200 MB
    }, 600_000);

    it('names the file and the problem, and leaves no ffmpeg running', async () => {
      const missing = await failure(collect(readFrames(fixture('missing.mp4'))));
      expect(missing.message).toBe(`${fixture('missing.mp4')}: file not found`);
      expect((await failure(collect(readFrames(fixture('notes.mp4'))))).problem).toMatch(/^not a video file/);
      expect((await failure(collect(readFrames(fixture('truncated.mp4'))))).problem).toMatch(/moov atom, is missing/);

      // Cut after its index: the first frames decode, then the error says where it stopped.
      const delivered: number[] = [];
      const cut = await failure(
        (async () => {
          for await (const frame of readFrames(fixture('truncated-faststart.mp4'))) delivered.push(frame.index);
        })(),
      );
      expect(delivered.length).toBeLessThan(10);
      expect(cut.problem).toMatch(new RegExp(`^truncated or corrupt video: decoding stopped after ${delivered.length} of 10 frames`));

      const none = await failure(collect(readFrames(fixture('no-frames.mp4'))));
      expect(none.problem).toMatch(/^no decodable video frames/);
      expect(none.file).toBe(fixture('no-frames.mp4'));

      for (const name of ['truncated-faststart.mp4', 'no-frames.mp4']) expect(ffmpegProcessesFor(fixture(name))).toEqual([]);
    });

    it('rejects bad options', async () => {
      await expect(collect(readFrames(fixture('faces.mp4'), { fps: 2, frames: 3 }))).rejects.toThrow(UsageError);
      await expect(collect(readFrames(fixture('faces.mp4'), { fps: 0 }))).rejects.toThrow(/fps must be a positive number/);
      await expect(collect(readFrames(fixture('faces.mp4'), { frames: 1.5 }))).rejects.toThrow(/frames must be a positive integer/);
      await expect(collect(readFrames(fixture('faces.mp4'), { maxSide: 1 }))).rejects.toThrow(/maxSide/);
    });
  });
});
