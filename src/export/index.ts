/**
 * `fakeface export`: a compact copy of a run's generator (a model pack, see
 * ../models/pack.ts) or of a trained detector, with weights stored at float32,
 * float16 or 8 bits. The built-in models under models/ were made with it.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readDetectorCard, saveDetectorFolder } from '../detect/card.js';
import { UsageError } from '../errors.js';
import { loadLayersModel } from '../models/io.js';
import { readModelPackCard, saveModelPack, isModelPack } from '../models/pack.js';
import type { WeightDtype } from '../models/quantize.js';
import { loadRunModel } from '../train/checkpoint.js';
import { readRunCommands } from '../train/run-folder.js';

export interface ExportOptions {
  /** A run folder, an exported generator, or a detector folder. */
  source: string;
  out: string;
  dtype: WeightDtype;
  /** Name on the card (default: the out folder's name). */
  name: string;
  /** The command line that made this export, recorded on the card. */
  commandLine: string;
  /** Generators: measured quality (the JSON of `fakeface eval --json`) for the card. */
  quality?: Record<string, unknown>;
}

export interface ExportResult {
  kind: 'generator' | 'detector';
  /** Bytes of the written weights file. */
  bytes: number;
  params: number;
}

export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  const { source, out, dtype, name, commandLine, quality } = options;
  if (!existsSync(source)) throw new UsageError(`not found: ${source}`, 'export a run folder (fakeface train --out) or a detector folder (fakeface detector train --out)');
  if (existsSync(join(source, 'detector.json'))) {
    const card = await readDetectorCard(source);
    const model = await loadLayersModel(source);
    try {
      await saveDetectorFolder(out, model, { ...card, name, exported: { dtype, from: source, commandLine } }, dtype);
      return { kind: 'detector', bytes: statSync(join(out, 'weights.bin')).size, params: model.countParams() };
    } finally {
      model.dispose();
    }
  }
  const { model, config, iteration } = await loadRunModel(source, 'generator');
  try {
    const earlier = isModelPack(source) ? (await readModelPackCard(source)).source : { run: source, commandLines: await readRunCommands(source) };
    const card = await saveModelPack(
      out,
      model,
      { name, createdAt: new Date().toISOString(), config, iteration, source: { run: earlier.run, commandLines: [...earlier.commandLines, commandLine] }, ...(quality ? { quality } : {}) },
      dtype,
    );
    return { kind: 'generator', bytes: card.weights.bytes, params: card.weights.params };
  } finally {
    model.dispose();
  }
}
