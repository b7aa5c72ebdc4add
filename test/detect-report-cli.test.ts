/** `fakeface detect --report DIR` through the real CLI: one self-contained HTML report and one PNG per input, on real faces. */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { expectOneLineError, runCli } from './helpers/cli.js';
import { tempFolder, UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';
import { BUILT_IN, BUILT_IN_MISSING, facePhotos, FFMPEG, makeFaceVideo } from './helpers/server.js';

const missing = !UTKFACE_DIR ? UTKFACE_MISSING : !BUILT_IN ? BUILT_IN_MISSING : null;
if (missing) console.warn(missing);

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every URL the page would load: src/href attribute values and CSS url()s. */
const loadedUrls = (html: string) => [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g), ...html.matchAll(/url\(([^)]*)\)/g)].map((m) => m[1]!);

describe.skipIf(missing !== null)('fakeface detect --report', () => {
  const { dir: work, cleanup } = tempFolder('fakeface-detect-report-');
  afterAll(cleanup);

  it('writes one self-contained HTML report and an annotated PNG per file, under safe names', async () => {
    // A hostile name: markup, quotes and a leading dot; the report must show it, escaped, and name its files safely.
    const hostile = join(work, '.<img src=x onerror=alert(1)> "q" & co.jpg');
    copyFileSync(facePhotos(UTKFACE_DIR!, 1, 3)[0]!, hostile);
    const files = [hostile];
    if (FFMPEG) files.push(makeFaceVideo(UTKFACE_DIR!, join(work, 'clip.mp4'), 2));
    const out = join(work, 'reports');
    const result = await runCli(['detect', ...files, '--frames', '2', '--report', out, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const detections = JSON.parse(result.stdout).results as Array<{ kind: string; width: number; height: number; verdict: string; keyFrames?: number[] }>;

    const written = readdirSync(out).sort();
    const stem = '_img_src_x_onerror_alert_1_q_co';
    expect(written).toEqual([...(FFMPEG ? ['clip.report.html', 'clip.report.png'] : []), `${stem}.report.html`, `${stem}.report.png`].sort());
    expect(result.stderr).toContain(`wrote ${join(out, `${stem}.report.html`)}`);

    const html = readFileSync(join(out, `${stem}.report.html`), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(`<code data-sha256>${sha256(hostile)}</code>`);
    expect(html).toContain(`${readFileSync(hostile).length.toLocaleString('en-US')} bytes`);
    // The name shown escaped, never as markup.
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('.&#60;img src=x onerror=alert(1)&#62; &#34;q&#34; &#38; co.jpg');
    // Self-contained: its own policy forbids loading anything, and every image is inline.
    expect(html).toContain(`content="default-src 'none'; img-src data:;`);
    const urls = loadedUrls(html);
    expect(urls.length).toBeGreaterThanOrEqual(2); // the annotated picture and the original
    for (const url of urls) expect(url).toMatch(/^data:image\/(png|jpeg);base64,/);
    // The verdict in the page's words, the detector's measured limits, and the version.
    const words = { fake: 'Likely fake', real: 'No sign of a fake', uncertain: "Can&#39;t tell" } as Record<string, string>;
    expect(html).toContain(`<p class="verdict-label">${words[detections[0]!.verdict]}</p>`);
    expect(html).toContain('What this detector cannot tell');
    expect(html).toMatch(/Measured on photos and fakes it never saw<\/dt><dd>[^<]*right on \d+%/);
    expect(html).toContain(`<dt>fakeface version</dt><dd>${JSON.parse(readFileSync('package.json', 'utf8')).version}</dd>`);

    const png = await sharp(join(out, `${stem}.report.png`)).metadata();
    expect(png).toMatchObject({ format: 'png', width: detections[0]!.width, height: detections[0]!.height });

    if (FFMPEG) {
      const video = readFileSync(join(out, 'clip.report.html'), 'utf8');
      expect(video).toContain(`<code data-sha256>${sha256(files[1]!)}</code>`);
      expect(video).toContain('<h2 id="timeline">Timeline</h2><div class="timeline" role="img"');
      for (const url of loadedUrls(video)) expect(url).toMatch(/^data:image\/(png|jpeg);base64,/);
      expect(await sharp(join(out, 'clip.report.png')).metadata()).toMatchObject({ format: 'png', width: 200, height: 200 });
    }
  }, 300_000);

  it('refuses a report folder that is a file, in one line', async () => {
    const blocker = join(work, 'not-a-folder');
    mkdirSync(work, { recursive: true });
    copyFileSync(facePhotos(UTKFACE_DIR!, 1, 3)[0]!, blocker);
    const result = await runCli(['detect', blocker, '--report', join(blocker, 'sub')]);
    expectOneLineError(result, /^fakeface: --report .*not-a-folder\/sub: cannot make the folder \(a file is in the way\)$/);
  }, 120_000);
});
