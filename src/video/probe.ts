/**
 * What a video holds: duration, display size (after rotation), rotation, frame rate.
 */
import { open, stat } from 'node:fs/promises';
import { VideoDecodeError } from '../errors.js';
import { ffmpegInput, ffmpegMessages, findFfmpeg, findFfprobe, run } from './ffmpeg.js';

export interface VideoInfo {
  /** Seconds; 0 when the container does not say. */
  durationSeconds: number;
  /** Width and height of the frames as shown, i.e. after rotation: what readFrames delivers at full size. */
  width: number;
  height: number;
  /** Clockwise degrees (0, 90, 180, 270) the stored frames are turned for display (a phone's portrait video: 90). */
  rotation: number;
  /** Average frames per second. */
  fps: number;
  /** Frames in the video stream when the container says, else null. */
  frameCount: number | null;
}

const STILL_IMAGE_FORMATS = /^(image2|.*_pipe)$/;

/**
 * Reads a video's header with ffprobe, or, without ffprobe, from `ffmpeg -i`'s report.
 * Throws VideoDecodeError naming the file for a missing file, a file that is not a
 * video (or is a still image), or one without a video stream.
 */
export async function probeVideo(file: string): Promise<VideoInfo> {
  await checkFile(file);
  const ffprobe = await findFfprobe();
  return ffprobe ? probeWithFfprobe(ffprobe, file) : probeWithFfmpeg(await findFfmpeg(), file);
}

/** Throws VideoDecodeError unless file is a readable, non-empty regular file. @internal */
export async function checkFile(file: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new VideoDecodeError(file, 'not a file');
    size = info.size;
  } catch (error) {
    if (error instanceof VideoDecodeError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new VideoDecodeError(file, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`);
  }
  if (size === 0) throw new VideoDecodeError(file, 'file is empty (0 bytes)');
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number | string }[];
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string };
}

/** @internal */
export async function probeWithFfprobe(ffprobe: string, file: string): Promise<VideoInfo> {
  const result = await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '--', ffmpegInput(file)]);
  if (result.code !== 0) throw notAVideo(file, result.stderr, await startsLikeMp4(file));
  let parsed: ProbeOutput;
  try {
    parsed = JSON.parse(result.stdout) as ProbeOutput;
  } catch {
    throw new VideoDecodeError(file, 'ffprobe gave unreadable output');
  }
  checkNotStill(file, parsed.format?.format_name ?? '');
  const stream = parsed.streams?.find((s) => s.codec_type === 'video');
  if (!stream || !stream.width || !stream.height) throw new VideoDecodeError(file, 'no video stream');

  const sideRotation = stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  // The display matrix gives counter-clockwise degrees (-90 for a portrait phone video);
  // the older `rotate` tag gives clockwise ones (90).
  const rotation =
    sideRotation !== undefined ? normaliseRotation(-Number(sideRotation)) : normaliseRotation(Number(stream.tags?.['rotate'] ?? 0));
  const fps = parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate);
  const duration = positive(Number(stream.duration)) || positive(Number(parsed.format?.duration)) || 0;
  const frames = Number(stream.nb_frames);
  return finish(file, {
    durationSeconds: duration,
    ...displaySize(stream.width, stream.height, rotation, parseRate(stream.sample_aspect_ratio?.replace(':', '/'))),
    rotation,
    fps,
    frameCount: Number.isInteger(frames) && frames > 0 ? frames : null,
  });
}

/** Without ffprobe: parses the report `ffmpeg -i FILE` prints on stderr. @internal */
export async function probeWithFfmpeg(ffmpeg: string, file: string): Promise<VideoInfo> {
  const { stderr } = await run(ffmpeg, ['-hide_banner', '-nostdin', '-i', ffmpegInput(file)]);
  return await parseFfmpegReport(file, stderr);
}

/** @internal exported for tests */
export async function parseFfmpegReport(file: string, report: string): Promise<VideoInfo> {
  const input = /^Input #0, ([^,\s]+)/m.exec(report);
  if (!input) throw notAVideo(file, report, await startsLikeMp4(file));
  checkNotStill(file, input[1]!);
  const videoLine = /^\s*Stream #0:\d+.*?: Video: (.*)$/m.exec(report);
  if (!videoLine) throw new VideoDecodeError(file, 'no video stream');
  const size = /(?:^|[ ,])(\d{1,5})x(\d{1,5})(?=[ ,\]]|$)/.exec(videoLine[1]!);
  if (!size) throw new VideoDecodeError(file, 'no video stream');
  const sar = /\[SAR (\d+):(\d+) /.exec(videoLine[1]!);
  const duration = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(report);
  const fps = /([\d.]+)(k?) fps/.exec(videoLine[1]!) ?? /([\d.]+)(k?) tbr/.exec(videoLine[1]!);
  // Only the video stream's own block (up to the next stream) says how it is rotated.
  const block = report.slice(videoLine.index).split(/\n\s*Stream #/)[0]!;
  const matrix = /displaymatrix: rotation of (-?[\d.]+) degrees/.exec(block);
  const tag = /^\s*rotate\s*:\s*(-?\d+)/m.exec(block);
  const rotation = matrix ? normaliseRotation(-Number(matrix[1])) : normaliseRotation(Number(tag?.[1] ?? 0));
  return finish(file, {
    durationSeconds: duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : 0,
    ...displaySize(Number(size[1]), Number(size[2]), rotation, sar ? Number(sar[1]) / Number(sar[2]) : 1),
    rotation,
    fps: fps ? Number(fps[1]) * (fps[2] ? 1000 : 1) : 0,
    frameCount: null,
  });
}

function finish(file: string, info: VideoInfo): VideoInfo {
  if (!(info.fps > 0) && info.frameCount && info.durationSeconds > 0) info.fps = info.frameCount / info.durationSeconds;
  if (!(info.fps > 0)) throw new VideoDecodeError(file, 'video stream has no frame rate');
  return info;
}

function notAVideo(file: string, stderr: string, mp4Header: boolean): VideoDecodeError {
  const messages = ffmpegMessages(stderr).filter((m) => !m.startsWith('Input #') && !m.startsWith('At least one output'));
  const ffmpegSays = messages.at(-1) ?? 'ffmpeg could not open it';
  // An MP4/MOV whose index (the moov box) is missing was cut short: the common case
  // for an interrupted download or recording, since encoders write the index last.
  if (mp4Header && messages.some((m) => m.includes('moov atom not found'))) {
    return new VideoDecodeError(file, 'truncated or corrupt video (its index, the moov atom, is missing)');
  }
  return new VideoDecodeError(file, `not a video file (ffmpeg: ${ffmpegSays})`);
}

/** Whether the file opens with an ISO media `ftyp` box, as MP4, MOV and 3GP files do. */
async function startsLikeMp4(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(8);
      await handle.read(head, 0, 8, 0);
      return head.toString('latin1', 4, 8) === 'ftyp';
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

function checkNotStill(file: string, formatName: string): void {
  if (STILL_IMAGE_FORMATS.test(formatName)) {
    throw new VideoDecodeError(file, `a still image (${formatName}), not a video`, 'use findFaces or detect on images');
  }
}

/**
 * The frame as shown: non-square pixels (sample aspect ratio != 1) stretched to square
 * ones along the width, then quarter turns applied.
 */
function displaySize(width: number, height: number, rotation: number, sampleAspect: number) {
  const shownWidth = sampleAspect > 0 && Math.abs(sampleAspect - 1) > 1e-6 ? Math.max(1, Math.round(width * sampleAspect)) : width;
  return rotation === 90 || rotation === 270 ? { width: height, height: shownWidth } : { width: shownWidth, height };
}

/** Degrees to the nearest quarter turn in [0, 360). */
function normaliseRotation(degrees: number): number {
  if (!Number.isFinite(degrees)) return 0;
  return (((Math.round(degrees / 90) * 90) % 360) + 360) % 360;
}

/** "30000/1001" -> 29.97; "0/0" -> 0. */
function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [num, den] = rate.split('/').map(Number);
  const value = den === undefined ? num! : num! / den;
  return positive(value) || 0;
}

function positive(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}
