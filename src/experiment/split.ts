/**
 * The experiment's data: one seeded random split of the face folder into a
 * held-out set (never trained on; the evaluation's real faces) and a training
 * set (a random `limit` of the rest, or all of it). Each is materialised as a
 * folder of symbolic links to the original files, so the trainer reads the
 * training set as an ordinary folder and the images are never copied.
 *
 * A random split, not the first N names: UTKFace names start with the age, so
 * the first 2,000 by name are mostly babies and teenagers.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EmptyDatasetError } from '../errors.js';
import { listFaceFiles, shuffledNames } from '../eval/quality.js';

export interface DataSplit {
  /** Absolute path of the original folder. */
  sourceDir: string;
  /** Image files in the original folder. */
  total: number;
  trainDir: string;
  heldOutDir: string;
  trainFiles: string[];
  heldOutFiles: string[];
}

export interface SplitOptions {
  /** Images held out for evaluation. */
  heldOut: number;
  /** Training images: a random subset of the rest; 0 = all the rest. */
  limit: number;
  seed: number;
}

/** The file names of each part, without touching the disk beyond listing the folder. */
export async function planSplit(dataDir: string, options: SplitOptions): Promise<{ total: number; trainFiles: string[]; heldOutFiles: string[] }> {
  const files = await listFaceFiles(dataDir);
  const { heldOut, limit, seed } = options;
  const minimumTraining = 1;
  if (files.length < heldOut + minimumTraining) {
    throw new EmptyDatasetError(
      `${dataDir} holds ${files.length} images; the experiment holds out ${heldOut} for evaluation and needs more to train on`,
      'lower --eval-count (the held-out set is twice its value)',
    );
  }
  const order = shuffledNames(files, seed);
  const heldOutFiles = order.slice(0, heldOut).sort();
  const rest = order.slice(heldOut);
  const trainFiles = (limit > 0 ? rest.slice(0, limit) : rest).sort();
  return { total: files.length, trainFiles, heldOutFiles };
}

/** Makes `dir` hold exactly one link per name, to the file of that name in `sourceDir`. */
async function linkFolder(dir: string, sourceDir: string, names: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const wanted = new Set(names);
  for (const entry of await readdir(dir)) {
    if (!wanted.has(entry)) await rm(join(dir, entry), { force: true });
  }
  for (const name of names) {
    const link = join(dir, name);
    const target = join(sourceDir, name);
    if (existsSync(link) || (await lstat(link).catch(() => null))) {
      if ((await readlink(link).catch(() => null)) === target) continue;
      await rm(link, { force: true });
    }
    await symlink(target, link);
  }
}

/** Plans the split and writes OUT/data/train and OUT/data/held-out as folders of links. */
export async function prepareSplit(dataDir: string, outDir: string, options: SplitOptions): Promise<DataSplit> {
  const sourceDir = resolve(dataDir);
  const plan = await planSplit(sourceDir, options);
  const trainDir = join(outDir, 'data', 'train');
  const heldOutDir = join(outDir, 'data', 'held-out');
  await linkFolder(trainDir, sourceDir, plan.trainFiles);
  await linkFolder(heldOutDir, sourceDir, plan.heldOutFiles);
  return { sourceDir, total: plan.total, trainDir, heldOutDir, trainFiles: plan.trainFiles, heldOutFiles: plan.heldOutFiles };
}
