/**
 * Finding the ffmpeg (and ffprobe) binaries, and running them to completion.
 * @internal
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { FfmpegNotFoundError } from '../errors.js';

const INSTALL_HINT =
  'install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg), ' +
  'or set FAKEFACE_FFMPEG=/path/to/ffmpeg';

/** npm packages that ship an ffmpeg binary, tried when none is on PATH (none is a dependency). */
const NPM_FFMPEG_PACKAGES = ['ffmpeg-static', '@ffmpeg-installer/ffmpeg'];

const binaryNames = (name: string) => (process.platform === 'win32' ? [`${name}.exe`, name] : [name]);

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, or null. */
export function onPath(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const candidate of binaryNames(name)) {
      const file = join(dir, candidate);
      if (isExecutable(file)) return file;
    }
  }
  return null;
}

/** The binary path an installed npm package exports (ffmpeg-static: a string; @ffmpeg-installer: { path }). */
function fromNpmPackage(): string | null {
  const require = createRequire(import.meta.url);
  for (const name of NPM_FFMPEG_PACKAGES) {
    try {
      const exported = require(name) as unknown;
      const file = typeof exported === 'string' ? exported : (exported as { path?: unknown } | null)?.path;
      if (typeof file === 'string' && isExecutable(file)) return file;
    } catch {
      // not installed
    }
  }
  return null;
}

let found: Promise<string> | undefined;
let foundFor: string | undefined;

/**
 * The ffmpeg binary: $FAKEFACE_FFMPEG when set (and then it must work), else
 * `ffmpeg` on PATH, else the binary of an installed npm package (ffmpeg-static or
 * @ffmpeg-installer/ffmpeg). Checks that it runs (`ffmpeg -version`).
 * Throws FfmpegNotFoundError, with an install hint, when there is none.
 */
export function findFfmpeg(): Promise<string> {
  const override = process.env['FAKEFACE_FFMPEG'] || undefined;
  const key = `${override ?? ''}\0${process.env['PATH'] ?? ''}`;
  if (found && foundFor === key) return found;
  foundFor = key;
  found = (async () => {
    let file: string | null;
    let source: string;
    if (override) {
      file = override;
      source = `FAKEFACE_FFMPEG=${override}`;
      if (!isExecutable(file)) throw new FfmpegNotFoundError(`ffmpeg not found: ${source} is not an executable file`, INSTALL_HINT);
    } else {
      file = onPath('ffmpeg') ?? fromNpmPackage();
      source = file ?? '';
      if (!file) throw new FfmpegNotFoundError('ffmpeg not found: not on PATH and no ffmpeg npm package installed', INSTALL_HINT);
    }
    let why: string | undefined;
    try {
      const { code, stdout } = await run(file, ['-hide_banner', '-version'], 15_000);
      if (code !== 0 || !stdout.startsWith('ffmpeg version')) why = `\`${file} -version\` does not report an ffmpeg version`;
    } catch (error) {
      why = (error as Error).message.split('\n')[0];
    }
    if (why) throw new FfmpegNotFoundError(`ffmpeg at ${source} does not work (${why})`, INSTALL_HINT);
    return file;
  })();
  found.catch(() => {
    found = undefined;
  });
  return found;
}

/** ffprobe beside the ffmpeg in use, else on PATH, else null (probeVideo then parses `ffmpeg -i`). */
export async function findFfprobe(): Promise<string | null> {
  const ffmpeg = await findFfmpeg();
  for (const candidate of binaryNames('ffprobe')) {
    const sibling = join(dirname(ffmpeg), candidate);
    if (isExecutable(sibling)) return sibling;
  }
  return onPath('ffprobe');
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a binary to completion; rejects only when it cannot start or times out. */
export function run(file: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
      const err = error as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      if (err && (typeof err.code === 'string' || err.killed)) {
        reject(err.killed ? new Error(`${file} timed out after ${timeoutMs} ms`) : err);
        return;
      }
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * A local path as an ffmpeg/ffprobe input: absolute, behind the `file:` protocol, so a
 * name like `concat:a|b`, `pipe:0` or `-x.mp4` is read as the file it names.
 */
export function ffmpegInput(file: string): string {
  return `file:${resolve(file)}`;
}

/** ffmpeg's messages without the `[h264 @ 0x55...]` prefixes, one per line, repeats dropped. */
export function ffmpegMessages(stderr: string): string[] {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '').replace(/^file:\S*?: /, '').trim())
    .filter((line) => line.length > 0);
  return [...new Set(lines)];
}
