/**
 * The web app end to end in a real headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core; no browser download): check a real face photo and
 * an mp4, generate faces, follow a run; with no run, the built-in models. Screenshots of every page go to
 * test-output/e2e/ (git-ignored), with the measured upload-to-verdict times.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInDetector } from '../src/models/builtin.js';
import { readModelPackCard } from '../src/models/pack.js';
import { createServer, type FakefaceServer } from '../src/server/index.js';
import { REPO_ROOT, UTKFACE_DIR, UTKFACE_MISSING, tempFolder } from './helpers/data.js';
import { BUILT_IN, BUILT_IN_MISSING, detectionModule, facePhotos, FFMPEG, makeFaceVideo, trainTinyRun, withoutBuiltInModels } from './helpers/server.js';

const CHROMIUM = process.env['FAKEFACE_CHROMIUM'] ?? '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-output', 'e2e');
const missing = !existsSync(CHROMIUM)
  ? `Chromium not found at ${CHROMIUM}: skipping the browser tests (sudo apt-get install chromium, or set FAKEFACE_CHROMIUM)`
  : !UTKFACE_DIR
    ? UTKFACE_MISSING
    : !FFMPEG
      ? 'ffmpeg not on PATH: skipping the browser tests (sudo apt-get install ffmpeg)'
      : null;
if (missing) console.warn(missing);
else if (!BUILT_IN) console.warn(BUILT_IN_MISSING);

/** Flags the machine notes ask for: no sandbox as root, and no background traffic to Google's hosts. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe.skipIf(missing !== null)('the web app in Chromium', () => {
  const work = tempFolder('fakeface-e2e-');
  const runsDir = join(work.dir, 'runs');
  const timings: Record<string, number> = {};
  let server: FakefaceServer;
  let empty: FakefaceServer;
  let url: string;
  let browser: Browser;
  let page: Page;
  let detection: { available: boolean; reason: string };
  let video: string;
  let photo: string;
  const needsDetection = (ctx: { skip: (note?: string) => never }) => {
    if (detection.available) return;
    const note = `detection module not available (${detection.reason}): skipping`;
    console.warn(note);
    ctx.skip(note);
  };
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // The page as `npm run build` makes it, built fresh so the test never sees a stale web/dist.
    const webDir = join(work.dir, 'web');
    const vite = join(createRequire(import.meta.url).resolve('vite/package.json'), '..', 'bin', 'vite.js');
    const build = spawnSync(process.execPath, [vite, 'build', 'web', '--outDir', webDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`vite build failed: ${build.stderr}`);

    await trainTinyRun(UTKFACE_DIR!, runsDir, 'tiny', join(work.dir, 'cache'));
    video = makeFaceVideo(UTKFACE_DIR!, join(work.dir, 'faces-10s.mp4'), 10);
    photo = facePhotos(UTKFACE_DIR!, 1, 3)[0]!;
    detection = await detectionModule();
    server = await createServer({ port: 0, runsDir, experimentsDir: join(work.dir, 'experiments'), webDir, tmpDir: work.dir, watchIntervalMs: 200, log: () => undefined });
    url = await server.listen();
    empty = await createServer({ port: 0, runsDir: join(work.dir, 'no-runs'), experimentsDir: join(work.dir, 'experiments'), webDir, tmpDir: work.dir, log: () => undefined });
    await empty.listen();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  }, 900_000);

  afterAll(async () => {
    if (Object.keys(timings).length) {
      writeFileSync(join(SHOTS, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
      console.log(`upload-to-verdict times (ms): ${JSON.stringify(timings)}`);
    }
    await browser?.close();
    await server?.close();
    await empty?.close();
    work.cleanup();
  });

  it('checks a real face photo: boxes, p(fake) per face, verdict, confidence and detector', async (ctx) => {
    needsDetection(ctx);
    await page.goto(`${url}/#/check`);
    expect(await page.locator('h1').textContent()).toBe('Check a photo or a video');
    const started = Date.now();
    await page.locator('[data-testid=file-input]').setInputFiles(photo);
    const verdict = page.locator('[data-testid=verdict]');
    await verdict.waitFor({ timeout: 60_000 });
    timings['image (200x200 JPEG)'] = Date.now() - started;
    expect(['Likely real', 'Likely fake', 'Uncertain']).toContain(await verdict.textContent());
    expect(await page.locator('.confidence').textContent()).toMatch(/Confidence \d+%/);
    // No detector chosen: the built-in one when this install has it, else the newest run's discriminator.
    const decidedBy = await page.locator('[data-testid=detector]').textContent();
    const builtIn = builtInDetector();
    if (builtIn) expect(decidedBy).toMatch(new RegExp(`^Decided by detector ${builtIn.name}.* — the built-in detector that ships with fakeface;`));
    else expect(decidedBy).toMatch(/^Decided by discriminator of tiny/);
    expect(await page.locator('[data-testid=faces] tbody tr').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('.overlay rect').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('.overlay text').first().textContent()).toMatch(/^1 · \d+% fake$/);
    await shot('check-image');
  });

  it('keeps the drop zone a keyboard-reachable button, and takes a dropped file', async (ctx) => {
    needsDetection(ctx);
    await page.goto(`${url}/#/check`);
    const zone = page.locator('[data-testid=dropzone]');
    expect(await zone.evaluate((el) => el.tagName)).toBe('BUTTON');
    // From the top: Tab reaches the skip link, Enter jumps to the content (the route stays), Tab reaches the drop zone.
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip-link');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => [document.activeElement?.id, location.hash])).toEqual(['main', '#/check']);
    await page.keyboard.press('Tab');
    expect(await zone.evaluate((el) => el === document.activeElement)).toBe(true);
    // Generous: under a loaded CI machine the chooser has come after more than 5 s.
    const chooser = page.waitForEvent('filechooser', { timeout: 30_000 });
    await page.keyboard.press('Enter');
    await chooser;
    // Drag and drop.
    const bytes = [...readFileSync(photo)];
    const transfer = await page.evaluateHandle((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'dropped.jpg', { type: 'image/jpeg' }));
      return dt;
    }, bytes);
    const started = Date.now();
    await zone.dispatchEvent('drop', { dataTransfer: transfer });
    await page.locator('[data-testid=verdict]').waitFor({ timeout: 60_000 });
    timings['image again (models loaded)'] = Date.now() - started;
    expect(await page.locator('figcaption').first().textContent()).toMatch(/^dropped\.jpg · 200×200$/);
  });

  it('shows a clear message for a file that is not an image or a video', async () => {
    await page.goto(`${url}/#/check`);
    await page.locator('[data-testid=file-input]').setInputFiles({ name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a photo at all\n') });
    const error = page.locator('[data-testid=error]');
    await error.waitFor({ timeout: 20_000 });
    expect(await error.textContent()).toMatch(/unsupported file type: this looks like text; send an image \(JPEG, PNG, WebP\) or a video \(MP4, MOV, WebM\)/);
  });

  it('checks a 10-second mp4: upload and analysis progress, verdict, timeline and suspicious frames', async (ctx) => {
    needsDetection(ctx);
    await page.goto(`${url}/#/check`);
    const started = Date.now();
    await page.locator('[data-testid=file-input]').setInputFiles(video);
    await page.locator('[data-testid=progress-analysing]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=verdict]').waitFor({ timeout: 240_000 });
    timings['video (10 s mp4, 200x200)'] = Date.now() - started;
    expect(['Likely real', 'Likely fake', 'Uncertain', 'No face found']).toContain(await page.locator('[data-testid=verdict]').textContent());
    const timeline = page.locator('[data-testid=timeline] canvas');
    expect(await timeline.count()).toBeGreaterThanOrEqual(1);
    expect(await timeline.first().evaluate((c: HTMLCanvasElement) => c.width)).toBeGreaterThan(200);
    const thumbs = page.locator('.thumb img');
    expect(await thumbs.count()).toBeGreaterThanOrEqual(1);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.thumb img')].every((img) => img.complete && img.naturalWidth > 0));
    expect(await page.locator('.facts').textContent()).toMatch(/Duration0:10\.0Frames analysed(19|20|21)Frames with a face/);
    await shot('check-video');
  }, 900_000);

  it('generates a grid and an interpolation strip, each downloadable', async () => {
    await page.goto(`${url}/#/generate`);
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const grid = page.locator('[data-testid=grid-output] img');
    await grid.waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=grid-output] img')?.naturalWidth ?? 0) > 0);
    expect(await grid.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([138, 138]); // 4x4 faces of 32 px
    expect(await page.locator('[data-testid=grid-output] a[download]').getAttribute('download')).toBe('fakeface-tiny-seed-1-16.png');
    await page.getByRole('button', { name: 'Interpolate' }).click();
    const strip = page.locator('[data-testid=strip-output] img');
    await strip.waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=strip-output] img')?.naturalWidth ?? 0) > 0);
    expect(await strip.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([8 * 34 + 2, 36]);
    await shot('generate');
  });

  it('lists the runs and follows one live: charts and the latest sample grid', async () => {
    await page.goto(`${url}/#/runs`);
    await page.locator('[data-testid=runs-table]').waitFor();
    expect(await page.locator('[data-testid=runs-table] tbody tr').count()).toBe(1);
    expect(await page.locator('[data-testid=run-status]').textContent()).toBe('finished');
    await shot('runs');
    await page.getByRole('link', { name: 'tiny' }).click();
    await page.locator('[data-testid=loss-chart] canvas').waitFor();
    await page.locator('[data-testid=accuracy-chart] canvas').waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=latest-sample]')?.naturalWidth ?? 0) > 0);
    expect(await page.locator('h1').textContent()).toBe('Run tiny');
    expect(await page.locator('.lead').textContent()).toMatch(/^Iteration 20 of 20/);
    await shot('run');
  });

  it('reads well on a phone: no sideways scrolling', async (ctx) => {
    needsDetection(ctx);
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await phone.goto(`${url}/#/check`);
      await phone.locator('[data-testid=file-input]').setInputFiles(photo);
      await phone.locator('[data-testid=verdict]').waitFor({ timeout: 60_000 });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await phone.screenshot({ path: join(SHOTS, 'phone-check.png'), fullPage: true });
      await phone.goto(`${url}/#/runs/tiny`);
      await phone.locator('[data-testid=loss-chart] canvas').waitFor();
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await phone.screenshot({ path: join(SHOTS, 'phone-run.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('with no run and no built-in models: says how to train a run', async () => {
    const restoreModels = withoutBuiltInModels();
    try {
      await page.goto(`${empty.url}/#/runs`);
      const notice = page.locator('[data-testid=no-runs]');
      await notice.waitFor();
      expect(await notice.locator('code').textContent()).toBe('fakeface train --data DIR --preset tiny --out runs/tiny');
      expect(await notice.locator('[data-testid=builtin-models]').count()).toBe(0);
      await shot('runs-empty-no-models');
      await page.goto(`${empty.url}/#/generate`);
      await page.locator('[data-testid=no-runs]').waitFor();
      expect(await page.locator('form').count()).toBe(0);
    } finally {
      restoreModels();
    }
  });

  it.skipIf(!BUILT_IN)('with no run: the Runs page says the built-in models are in use, and Generate makes a grid with the built-in generator', async () => {
    const { generator, detector } = BUILT_IN!;
    const card = await readModelPackCard(generator.dir);
    const side = card.config.resolution;
    await page.goto(`${empty.url}/#/runs`);
    const notice = page.locator('[data-testid=no-runs]');
    await notice.waitFor();
    expect(await notice.locator('code').textContent()).toBe('fakeface train --data DIR --preset tiny --out runs/tiny');
    expect(await notice.locator('[data-testid=builtin-models]').textContent()).toBe(
      `Meanwhile the built-in models that ship with fakeface are in use: the generator ${generator.name} (${side} px, iteration ${card.iteration}) on the Generate page, and the detector ${detector.name} on the Check page.`,
    );
    await shot('runs-empty');

    await page.goto(`${empty.url}/#/generate`);
    const select = page.locator('select[name=run]').first();
    await select.waitFor();
    expect(await select.inputValue()).toBe(`builtin:${generator.name}`);
    expect(await select.locator('option:checked').textContent()).toBe(`built-in: ${generator.name} (${side} px, iteration ${card.iteration})`);
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const grid = page.locator('[data-testid=grid-output] img');
    await grid.waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=grid-output] img')?.naturalWidth ?? 0) > 0);
    const cell = side + 2;
    expect(await grid.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([4 * cell + 2, 4 * cell + 2]); // 4x4 faces, 2 px padding
    expect(await page.locator('[data-testid=grid-output] figcaption').textContent()).toBe(`The built-in generator ${generator.name}, checkpoint at iteration ${card.iteration}, seed 1.`);
    expect(await page.locator('[data-testid=grid-output] a[download]').getAttribute('download')).toBe(`fakeface-builtin-${generator.name}-seed-1-16.png`);
    await shot('generate-builtin');
  });

  it.skipIf(!BUILT_IN)('with no run: Check gives a verdict on a real face photo with the built-in detector', async (ctx) => {
    needsDetection(ctx);
    const { detector } = BUILT_IN!;
    await page.goto(`${empty.url}/#/check`);
    await page.waitForFunction((label) => document.querySelector<HTMLSelectElement>('select[name=detector]')?.options[0]?.textContent === label, `Default (built-in: ${detector.name})`);
    await page.locator('[data-testid=file-input]').setInputFiles(photo);
    const verdict = page.locator('[data-testid=verdict]');
    await verdict.waitFor({ timeout: 60_000 });
    expect(['Likely real', 'Likely fake', 'Uncertain']).toContain(await verdict.textContent());
    expect(await page.locator('[data-testid=faces] tbody tr').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('[data-testid=detector]').textContent()).toMatch(new RegExp(`^Decided by detector ${detector.name}.* — the built-in detector that ships with fakeface; a face counts as fake at p\\(fake\\) ≥ \\d\\.\\d\\d\\.$`));
    await shot('check-builtin');
  });
});
