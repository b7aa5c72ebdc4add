/**
 * Video -> RGB frames, streamed from one ffmpeg child process, one frame in memory
 * at a time.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { UsageError, VideoDecodeError } from '../errors.js';
import { ffmpegInput, ffmpegMessages, findFfmpeg } from './ffmpeg.js';
import { probeVideo } from './probe.js';

export interface VideoFrame {
  /** 0, 1, 2... in the order delivered. */
  index: number;
  /** Where in the video this frame was taken, in seconds from its start. */
  timeSeconds: number;
  /** height x width x 3 bytes, RGB, row-major. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

export interface ReadFramesOptions {
  /** Frames per second to deliver (frames are dropped or repeated to get it). @default the video's own rate */
  fps?: number;
  /**
   * Deliver this many frames, evenly spaced over the whole video: frame k is taken at
   * k x duration / frames seconds. A video with fewer frames gives each of them once.
   * Not with `fps`.
   */
  frames?: number;
  /** Frames are scaled down (never up), keeping their shape, so neither side exceeds this. @default 640 */
  maxSide?: number;
}

/** ffmpeg's report on stderr is kept up to this many characters (the first lines say why). */
const STDERR_LIMIT = 64 * 1024;

/**
 * Streams a video's frames as RGB bytes. The frames are upright (ffmpeg applies the
 * rotation a phone writes into the file) and at most maxSide px on their longer side;
 * width and height are those of the delivered frames.
 *
 * One ffmpeg process decodes the video, and waits while the consumer works on a
 * frame, so memory stays at about one frame however long the video. The process is
 * killed when the consumer stops early (break, return, throw) or when reading fails.
 *
 * Throws VideoDecodeError naming the file: missing, not a video, no video stream,
 * no decodable frame, or truncated/corrupt (after delivering the frames it could
 * decode). Throws FfmpegNotFoundError without ffmpeg, UsageError for bad options.
 */
export async function* readFrames(file: string, opts: ReadFramesOptions = {}): AsyncGenerator<VideoFrame> {
  const maxSide = opts.maxSide ?? 640;
  checkOptions(opts, maxSide);
  const info = await probeVideo(file);
  const ffmpeg = await findFfmpeg();

  const shrink = Math.min(1, maxSide / Math.max(info.width, info.height));
  const width = Math.max(1, Math.round(info.width * shrink));
  const height = Math.max(1, Math.round(info.height * shrink));
  const frameBytes = width * height * 3;

  // The fps filter gives a constant rate. With round=up, output frame k is the input
  // frame on screen at k / rate seconds (the last one starting at or before it), so
  // timestamps are exactly k / rate; variable-rate input is resampled the same way.
  let rate = opts.fps ?? info.fps;
  let limit: number | undefined;
  if (opts.frames !== undefined) {
    if (info.frameCount !== null && opts.frames >= info.frameCount) {
      limit = info.frameCount;
    } else {
      if (info.durationSeconds > 0) rate = opts.frames / info.durationSeconds;
      limit = opts.frames;
    }
  }
  const expectedFrames = limit ?? Math.max(1, Math.round(info.durationSeconds * rate));

  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    ffmpegInput(file),
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    `fps=fps=${rate}:round=up,scale=${width}:${height}:flags=area`,
    ...(limit !== undefined ? ['-frames:v', String(limit)] : []),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += text;
  });

  let index = 0;
  let filled = 0;
  let finished = false;
  let status: { code: number | null; signal: NodeJS.Signals | null };
  try {
    let frame = new Uint8Array(frameBytes);
    for await (const chunk of child.stdout as Readable & AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        frame.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          yield { index, timeSeconds: index / rate, pixels: frame, width, height };
          index++;
          frame = new Uint8Array(frameBytes);
          filled = 0;
        }
      }
    }
    finished = true;
  } finally {
    // Runs on normal end, on error, and when the consumer stops iterating early.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child.stdout.destroy();
    status = await exited;
  }
  if (!finished) return;

  if (spawnError) throw new VideoDecodeError(file, `ffmpeg failed to start (${spawnError.message})`);
  const messages = ffmpegMessages(stderr).filter((m) => m !== 'Conversion failed!');
  const ffmpegSays = messages.find((m) => m.includes('partial file')) ?? messages[0];
  const because = ffmpegSays ? ` (ffmpeg: ${ffmpegSays})` : '';
  if (index === 0) throw new VideoDecodeError(file, `no decodable video frames${because}`);
  const cutShort = filled > 0 || (messages.length > 0 && index < expectedFrames * 0.9 - 1);
  if (status.code !== 0 || cutShort) {
    const at = `${formatTime(index / rate)} of ${formatTime(info.durationSeconds)}`;
    throw new VideoDecodeError(
      file,
      `truncated or corrupt video: decoding stopped after ${index} of ${expectedFrames} frames, at ${at}${because}`,
    );
  }
}

function checkOptions(opts: ReadFramesOptions, maxSide: number): void {
  if (opts.fps !== undefined && opts.frames !== undefined) throw new UsageError('give fps or frames, not both');
  if (opts.fps !== undefined && !(Number.isFinite(opts.fps) && opts.fps > 0)) {
    throw new UsageError(`fps must be a positive number, got ${opts.fps}`);
  }
  if (opts.frames !== undefined && !(Number.isInteger(opts.frames) && opts.frames >= 1)) {
    throw new UsageError(`frames must be a positive integer, got ${opts.frames}`);
  }
  if (!(Number.isInteger(maxSide) && maxSide >= 2)) throw new UsageError(`maxSide must be an integer >= 2, got ${maxSide}`);
}

/** 83.4 -> "01:23.4" */
function formatTime(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${String(minutes).padStart(2, '0')}:${(seconds - minutes * 60).toFixed(1).padStart(4, '0')}`;
}
