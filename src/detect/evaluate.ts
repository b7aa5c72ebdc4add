/**
 * How well a classifier tells real faces from fake ones, on a folder of each:
 * accuracy at its threshold, ROC AUC, precision/recall, the confusion matrix and
 * the ROC curve. Works for a trained detector and for a GAN run's discriminator
 * (the paper's detector), so the two can be compared on the same images.
 *
 * Two ways to read an image:
 *   - 'crop' (default): the image is a face crop already (UTKFace, GAN samples):
 *     resized whole (fit 'cover') to the classifier's input, as in training.
 *   - 'faces': the full `detect` pipeline: find faces, crop, score; the image's
 *     score is its most suspicious face's. Images without a face are left out
 *     and counted. Slower (~1 s per image for the face finder on wasm).
 */
import { basename } from 'node:path';
import { currentEngine, initEngine } from '../engine/index.js';
import { ImageDecodeError, UsageError } from '../errors.js';
import { decodeImageBytes } from '../data/images.js';
import { bytesToInput } from './augment.js';
import { loadClassifier } from './classifier.js';
import { evenSpread, listImages } from './files.js';
import { detectImage } from './index.js';
import { classificationReport, rocCurve, type ClassificationReport, type RocPoint } from './metrics.js';
import type { DetectorInfo } from './types.js';

export interface EvaluateOptions {
  detector?: string;
  run?: string;
  realDir: string;
  fakeDir: string;
  /** At most this many images per folder, spread evenly over it. @default all */
  limit?: number;
  /** 'crop' (the images are face crops) or 'faces' (find faces first). @default 'crop' */
  mode?: 'crop' | 'faces';
  backend?: 'auto' | 'wasm' | 'cpu' | 'node';
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface Evaluation {
  detector: DetectorInfo;
  mode: 'crop' | 'faces';
  realDir: string;
  fakeDir: string;
  report: ClassificationReport;
  roc: RocPoint[];
  /** Every scored image. */
  scores: { file: string; label: 'real' | 'fake'; pFake: number }[];
  /** Images left out: unreadable, or (mode 'faces') without a face. */
  skipped: { file: string; label: 'real' | 'fake'; problem: string }[];
  ms: number;
}

export async function evaluateClassifier(opts: EvaluateOptions): Promise<Evaluation> {
  const started = performance.now();
  const mode = opts.mode ?? 'crop';
  if (mode !== 'crop' && mode !== 'faces') throw new UsageError(`mode must be crop or faces, not ${String(mode)}`);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1)) throw new UsageError(`limit must be a positive integer, not ${opts.limit}`);
  const realFiles = evenSpread(await listImages(opts.realDir, 'real'), opts.limit);
  const fakeFiles = evenSpread(await listImages(opts.fakeDir, 'fake'), opts.limit);
  if (opts.backend !== undefined || opts.threads !== undefined || currentEngine()?.backend !== 'wasm') {
    await initEngine({ backend: opts.backend ?? 'wasm', threads: opts.threads });
  }
  const classifier = await loadClassifier(opts);
  const size = classifier.info.inputSize;
  const items = [...realFiles.map((file) => ({ file, label: 'real' as const })), ...fakeFiles.map((file) => ({ file, label: 'fake' as const }))];
  const scores: Evaluation['scores'] = [];
  const skipped: Evaluation['skipped'] = [];
  const BATCH = 32;
  for (let start = 0; start < items.length; start += BATCH) {
    const batch = items.slice(start, start + BATCH);
    if (mode === 'crop') {
      const crops: { item: (typeof items)[number]; crop: Float32Array }[] = [];
      for (const item of batch) {
        try {
          const bytes = await decodeImageBytes(item.file, size, size);
          const crop = new Float32Array(bytes.length);
          bytesToInput(bytes, crop);
          crops.push({ item, crop });
        } catch (error) {
          if (!(error instanceof ImageDecodeError)) throw error;
          skipped.push({ file: item.file, label: item.label, problem: error.problem });
        }
      }
      const p = crops.length > 0 ? classifier.score(crops.map((c) => c.crop)) : [];
      crops.forEach((c, i) => scores.push({ file: c.item.file, label: c.item.label, pFake: p[i]! }));
    } else {
      for (const item of batch) {
        try {
          const d = await detectImage(item.file, { detector: opts.detector, run: opts.run });
          if (d.faces.length === 0) skipped.push({ file: item.file, label: item.label, problem: 'no face found' });
          else scores.push({ file: item.file, label: item.label, pFake: Math.max(...d.faces.map((f) => f.pFake)) });
        } catch (error) {
          if (!(error instanceof ImageDecodeError)) throw error;
          skipped.push({ file: item.file, label: item.label, problem: error.problem });
        }
      }
    }
    opts.onProgress?.(Math.min(items.length, start + BATCH), items.length);
  }
  const labels = scores.map((s) => (s.label === 'fake' ? 1 : 0));
  const pFake = scores.map((s) => s.pFake);
  const report = classificationReport(pFake, labels, classifier.info.threshold);
  if (report.count.real === 0 || report.count.fake === 0) {
    const missing = report.count.real === 0 ? `real (${basename(opts.realDir)})` : `fake (${basename(opts.fakeDir)})`;
    throw new UsageError(`no ${missing} image could be scored${skipped.length ? ` (${skipped.length} skipped, e.g. ${basename(skipped[0]!.file)}: ${skipped[0]!.problem})` : ''}`);
  }
  return { detector: classifier.info, mode, realDir: opts.realDir, fakeDir: opts.fakeDir, report, roc: rocCurve(pFake, labels), scores, skipped, ms: Math.round(performance.now() - started) };
}
