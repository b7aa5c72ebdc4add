/**
 * Fixtures for the web app's tests (test/server*.test.ts, test/e2e*.test.ts): a
 * tiny GAN run trained on real faces, mp4s that ffmpeg builds from real faces,
 * multipart uploads and a server-sent-events reader. Everything is made at test
 * time in temporary folders, never in the repository.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_MODELS_DIR, builtInDetector, builtInGenerator } from '../../src/models/builtin.js';
import { train } from '../../src/train/train.js';
import { onPath } from '../../src/video/ffmpeg.js';

export const FFMPEG = onPath('ffmpeg');
export const FFMPEG_MISSING = 'ffmpeg not on PATH: skipping video tests (sudo apt-get install ffmpeg)';

/** Face photos from the UTKFace folder, in name order. */
export function facePhotos(utkface: string, count: number, skip = 0): string[] {
  return readdirSync(utkface)
    .filter((n) => n.endsWith('.jpg'))
    .sort()
    .slice(skip, skip + count)
    .map((n) => join(utkface, n));
}

/**
 * Trains the tiny preset for 20 iterations on 100 faces into `runsDir/<id>`, on
 * the wasm backend (the server's), with samples and checkpoints at 10 and 20.
 * About 10 s on two cores.
 */
export async function trainTinyRun(utkface: string, runsDir: string, id = 'tiny', cacheDir?: string): Promise<string> {
  const outDir = join(runsDir, id);
  await train({
    dataDir: utkface,
    outDir,
    preset: 'tiny',
    overrides: { iterations: 20, limit: 100, batchSize: 16, sampleEvery: 10, checkpointEvery: 10, sampleCount: 4 },
    cacheDir: cacheDir ?? join(runsDir, '.cache'),
    engine: { backend: 'wasm' },
  });
  return outDir;
}

/**
 * An H.264 mp4 of `seconds` seconds showing one face photo per second (200x200,
 * 25 fps), made with ffmpeg from the first faces of the UTKFace folder.
 */
export function makeFaceVideo(utkface: string, file: string, seconds: number): string {
  const dir = `${file}.frames`;
  mkdirSync(dir, { recursive: true });
  facePhotos(utkface, seconds).forEach((photo, i) => copyFileSync(photo, join(dir, `img${String(i).padStart(3, '0')}.jpg`)));
  execFileSync(FFMPEG!, [
    '-y', '-loglevel', 'error', '-framerate', '1', '-i', join(dir, 'img%03d.jpg'),
    '-vf', 'scale=200:200,fps=25,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-t', String(seconds), file,
  ]);
  return file;
}

/** POSTs one file as multipart/form-data (field "file"). */
export async function postFile(url: string, bytes: Buffer | Uint8Array, name: string, type = 'application/octet-stream', headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type }), name);
  return fetch(url, { method: 'POST', body: form, headers });
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Reads server-sent events from `url` until `until` returns true for the
 * events so far (or the stream ends, or `timeoutMs` passes), then closes it.
 */
export async function readEvents(url: string, until: (events: SseEvent[]) => boolean, timeoutMs = 30_000, onOpen?: () => Promise<void> | void): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const response = await fetch(url, { signal: controller.signal, headers: { Accept: 'text/event-stream' } });
    if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let opened = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
      if (!opened && events.length > 0) {
        opened = true;
        await onOpen?.();
      }
      if (until(events)) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

/** Whether the detection module loads (the server answers 503 on /api/detect when it does not). */
export async function detectionModule(): Promise<{ available: boolean; reason: string }> {
  const { loadDetection } = await import('../../src/server/detection.js');
  const { module, reason } = await loadDetection();
  return { available: module !== null, reason: reason ?? '' };
}

/**
 * The built-in models this install ships (models/, or $FAKEFACE_MODELS_DIR), as
 * the test process starts; null when either is missing, and tests of the
 * built-in path skip with BUILT_IN_MISSING.
 */
export const BUILT_IN = (() => {
  const generator = builtInGenerator();
  const detector = builtInDetector();
  return generator && detector ? { generator, detector } : null;
})();

export const BUILT_IN_MISSING =
  `no built-in models in ${process.env['FAKEFACE_MODELS_DIR'] ?? BUILT_IN_MODELS_DIR} (models/dcgan64-utkface and models/detector-utkface): ` +
  'skipping the tests of the built-in models (set FAKEFACE_MODELS_DIR to a folder that has them)';

/**
 * Makes this process an install without built-in models: points
 * FAKEFACE_MODELS_DIR at a fresh empty folder until the returned function
 * restores it. The server reads it on every request, so a server started in
 * this process follows.
 */
export function withoutBuiltInModels(): () => void {
  const before = process.env['FAKEFACE_MODELS_DIR'];
  const empty = mkdtempSync(join(tmpdir(), 'fakeface-no-models-'));
  process.env['FAKEFACE_MODELS_DIR'] = empty;
  return () => {
    rmSync(empty, { recursive: true, force: true });
    if (before === undefined) delete process.env['FAKEFACE_MODELS_DIR'];
    else process.env['FAKEFACE_MODELS_DIR'] = before;
  };
}
