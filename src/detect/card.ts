/**
 * A trained detector on disk:
 *
 *   detectors/d1/
 *     model.json + weights.bin   the CNN (TensorFlow.js layers format; p(fake) before calibration)
 *     detector.json              the card below: what it was trained on, how well it did on
 *                                held-out faces, its calibration and threshold, the command line
 *
 * The folder is written under a temporary name and renamed into place, so a
 * half-written detector never exists.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CheckpointMismatchError, UsageError } from '../errors.js';
import { saveLayersModel } from '../models/io.js';
import type { WeightDtype } from '../models/quantize.js';
import type { AugmentConfig } from './augment.js';
import type { ClassificationReport, PlattScaling } from './metrics.js';

export const DETECTOR_CARD_FORMAT = 'fakeface-detector/1';

export type FakeSource =
  | { kind: 'run'; dir: string; iteration: number; resolution: number; architecture: string; count: number }
  | { kind: 'folder'; dir: string; count: number };

export interface SplitCounts {
  real: number;
  fake: number;
}

export interface DetectorCard {
  format: typeof DETECTOR_CARD_FORMAT;
  name: string;
  createdAt: string;
  /** How it was made, e.g. "fakeface detector train --real ... --fake-run runs/dcgan64 --out detectors/d1". */
  commandLine: string | null;
  /** Side of the square face crop it reads (HWC RGB in [-1, 1]). */
  inputSize: number;
  /** Face box -> crop margin (share of the box's longer side on each side) that frames a detected face like the training images. */
  cropMargin: number;
  network: { kind: 'cnn'; baseFilters: number; dropout: number; params: number };
  training: {
    real: { dir: string; count: number };
    fakes: FakeSource[];
    split: { train: SplitCounts; validation: SplitCounts; test: SplitCounts };
    epochs: number;
    bestEpoch: number;
    batchSize: number;
    learningRate: number;
    seed: number;
    augmentation: AugmentConfig | null;
    engine: string;
    seconds: number;
    history: { epoch: number; loss: number; validationLoss: number; validationAuc: number | null }[];
  };
  /**
   * Calibration, fitted on the validation split: p(fake) = sigmoid(a * logit(raw) + b)
   * (Platt scaling), then `threshold` on that calibrated p(fake), chosen to maximise
   * balanced accuracy on the validation split.
   */
  calibration: { platt: PlattScaling; threshold: number; rule: string };
  /** Scores on the test split: never trained on, never used to pick the threshold. */
  heldOut: ClassificationReport;
  /** The same test split after fixed degradations, AUC and accuracy at the threshold. */
  robustness: Record<string, { auc: number | null; accuracy: number }>;
  /** Set by `fakeface export`: how the weights are stored, and the folder they came from. */
  exported?: { dtype: WeightDtype; from: string; commandLine: string };
}

/** Writes model + card as `dir`, atomically (temporary folder, then rename). */
export async function saveDetectorFolder(dir: string, model: tfl.LayersModel, card: DetectorCard, dtype: WeightDtype = 'float32'): Promise<void> {
  const tmp = join(dirname(dir), `.tmp-${basename(dir)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  try {
    await saveLayersModel(model, tmp, dtype);
    await writeFile(join(tmp, 'detector.json'), JSON.stringify(card, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/** Reads and checks `detector.json`. Throws UsageError for a missing folder, CheckpointMismatchError for a bad card. */
export async function readDetectorCard(dir: string): Promise<DetectorCard> {
  if (!existsSync(dir)) throw new UsageError(`detector folder not found: ${dir}`, 'train one with `fakeface detector train --real DIR --fake-run RUN --out DIR`');
  const file = join(dir, 'detector.json');
  let card: DetectorCard;
  try {
    card = JSON.parse(await readFile(file, 'utf8')) as DetectorCard;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CheckpointMismatchError(
      code === 'ENOENT' ? `${dir} is not a detector folder (no detector.json)` : `${file}: unreadable card (${(error as Error).message.split('\n')[0]})`,
      code === 'ENOENT' ? 'a detector folder is what `fakeface detector train --out DIR` writes' : undefined,
    );
  }
  if (card.format !== DETECTOR_CARD_FORMAT) throw new CheckpointMismatchError(`${file}: format "${String(card.format)}", expected "${DETECTOR_CARD_FORMAT}"`);
  const numbers = [card.inputSize, card.cropMargin, card.calibration?.threshold, card.calibration?.platt?.a, card.calibration?.platt?.b];
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new CheckpointMismatchError(`${file}: missing inputSize, cropMargin or calibration`);
  return card;
}
