/**
 * The models that ship in models/: present on a fresh clone, compact, loadable,
 * used by default, and as good on held-out faces as their cards say.
 */
import { copyFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDetectorCard } from '../src/detect/card.js';
import { evaluateClassifier } from '../src/detect/evaluate.js';
import { evenSpread, listImages } from '../src/detect/files.js';
import { BUILT_IN_MODELS_DIR, LEGACY_DETECTOR_NAME, builtInDetector, builtInGenerator } from '../src/models/builtin.js';
import { readProbeFolder } from '../src/detect/probe-classifier.js';
import { readModelPackCard } from '../src/models/pack.js';
import { runCli } from './helpers/cli.js';
import { requireUtkface, tempFolder } from './helpers/data.js';

let work: { dir: string; cleanup: () => void };
beforeAll(() => {
  work = tempFolder('fakeface-builtin-');
});
afterAll(() => work.cleanup());

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await folderBytes(path) : (await stat(path)).size;
  }
  return total;
}

describe('shipped models', () => {
  it('are in the repository: a generator and a detector with cards, quantized, 25 MB at most in all', async () => {
    const generator = builtInGenerator();
    const detector = builtInDetector();
    expect(generator, `no generator under ${BUILT_IN_MODELS_DIR}`).not.toBeNull();
    expect(detector, `no detector under ${BUILT_IN_MODELS_DIR}`).not.toBeNull();
    const card = await readModelPackCard(generator!.dir);
    expect(card.config.architecture).toBe('dcgan');
    expect(card.weights.dtype).not.toBe('float32');
    expect(card.source.commandLines.join('\n')).toMatch(/fakeface train .*--preset dcgan64/);
    expect(card.quality).toBeDefined();
    const probe = await readProbeFolder(detector!.dir);
    expect(probe.card.measured.test['own-generator vs utkface']!['pipeline/clean']!.auc).toBeGreaterThan(0.9);
    expect(Object.keys(probe.card.measured.test).length).toBeGreaterThanOrEqual(3);
    // The first detector stays, for comparison.
    const legacyCard = await readDetectorCard(join(BUILT_IN_MODELS_DIR, LEGACY_DETECTOR_NAME));
    expect(legacyCard.exported?.dtype).toBeDefined();
    expect(await folderBytes(BUILT_IN_MODELS_DIR)).toBeLessThanOrEqual(25e6);
    const readme = await readFile(join(BUILT_IN_MODELS_DIR, 'README.md'), 'utf8');
    expect(readme).toMatch(/non-commercial/i);
  });

  it('`fakeface generate` with no --run makes a grid with the built-in generator and says so', async () => {
    const out = join(work.dir, 'faces.png');
    const result = await runCli(['generate', '-n', '16', '--out', out, '--seed', '3']);
    expect(result.stderr).toMatch(/using the built-in generator dcgan64-utkface/);
    expect(result.code).toBe(0);
    const meta = await sharp(out).metadata();
    const side = (await readModelPackCard(builtInGenerator()!.dir)).config.resolution;
    // 4 x 4 faces with padding between and around them.
    expect(meta.width).toBeGreaterThanOrEqual(4 * side);
    expect(meta.width).toBeLessThan(4 * side + 40);
    const { data } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const mean = data.reduce((a, b) => a + b, 0) / data.length;
    expect(mean).toBeGreaterThan(20); // not a black (or white) failure
    expect(mean).toBeLessThan(235);
  }, 300_000);

  it('the legacy detector tells held-out real UTKFace photos from fresh built-in fakes as well as its card says', async (ctx) => {
    const utkface = requireUtkface(ctx);
    const detectorDir = join(BUILT_IN_MODELS_DIR, LEGACY_DETECTOR_NAME);
    const card = await readDetectorCard(detectorDir);
    // Reals the detector never saw: it trained on `count` photos spread evenly over the folder.
    const all = await listImages(utkface, 'real');
    const seen = new Set(evenSpread(all, card.training.real.count));
    const heldOut = evenSpread(
      all.filter((f) => !seen.has(f)),
      150,
    );
    const realDir = join(work.dir, 'real');
    await mkdir(realDir);
    for (const file of heldOut) await copyFile(file, join(realDir, file.split('/').pop()!));
    // Fakes from noise the detector never saw (its fakes came from seeds 42 + 1000k).
    const fakeDir = join(work.dir, 'fake');
    const generated = await runCli(['generate', '-n', '150', '--separate', '--out', fakeDir, '--seed', '987654']);
    expect(generated.code, generated.stderr).toBe(0);
    const evaluation = await evaluateClassifier({ detector: detectorDir, realDir, fakeDir });
    expect(evaluation.report.count).toEqual({ real: 150, fake: 150 });
    const stated = card.heldOut;
    console.log(`built-in detector on 150 + 150 held-out faces: accuracy ${evaluation.report.accuracy.toFixed(3)} (card ${stated.accuracy.toFixed(3)}), AUC ${evaluation.report.auc?.toFixed(3)} (card ${stated.auc?.toFixed(3)})`);
    expect(evaluation.report.accuracy).toBeGreaterThanOrEqual(stated.accuracy - 0.07);
    expect(evaluation.report.auc!).toBeGreaterThanOrEqual(stated.auc! - 0.05);
  }, 600_000);

  it('`fakeface detect` with no --detector uses the built-in detector on a real photo', async (ctx) => {
    const utkface = requireUtkface(ctx);
    const photo = join(utkface, (await readdir(utkface)).sort()[1]!);
    const result = await runCli(['detect', photo, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/using the built-in detector detector-probe/);
    const parsed = JSON.parse(result.stdout) as { detector: { kind: string; source: string }; results: { verdict: string; faces: unknown[] }[] };
    expect(parsed.detector.kind).toBe('detector');
    expect(parsed.detector.source).toBe('builtin:detector-probe');
    expect(parsed.results[0]!.faces.length).toBe(1);
    expect(['real', 'fake', 'uncertain']).toContain(parsed.results[0]!.verdict);
  }, 300_000);
});
