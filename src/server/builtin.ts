/**
 * The shipped models (src/models/builtin.ts) as the API shows them: the built-in
 * generator is a choice of the Generate page beside the runs, with the id
 * `builtin:<name>`, and the built-in detector's answers name it `builtin:<name>`
 * rather than a folder of this machine.
 */
import { resolve } from 'node:path';
import { builtInDetector, builtInGenerators, defaultGenerator, type BuiltInModel } from '../models/builtin.js';
import { readModelPackCard } from '../models/pack.js';
import type { BuiltInDetectorInfo, BuiltInGeneratorInfo, DetectorInfo } from './api-types.js';

const PREFIX = 'builtin:';

/** `builtin:dcgan64-utkface`: the id of a shipped model in URLs, bodies and answers. */
export const builtInId = (name: string) => `${PREFIX}${name}`;

/**
 * The built-in generator's folder when `id` names it, else null. Its id wins over
 * a run `<experiment>:<run>` of an experiment named "builtin".
 */
export function builtInGeneratorDir(id: string): string | null {
  return builtInGenerators().find((model) => id === builtInId(model.name))?.dir ?? null;
}

/** The default built-in generator with what its card says, or null when this install has none (or its card is unreadable: `log` says why). */
export async function builtInGeneratorInfo(log: (message: string, error?: unknown) => void): Promise<BuiltInGeneratorInfo | null> {
  return generatorInfo(defaultGenerator(), log);
}

/** Every shipped generator with its card, the default first (unreadable ones left out, `log` says why). */
export async function builtInGeneratorsInfo(log: (message: string, error?: unknown) => void): Promise<BuiltInGeneratorInfo[]> {
  const infos = await Promise.all(builtInGenerators().map((model) => generatorInfo(model, log)));
  return infos.filter((info): info is BuiltInGeneratorInfo => info !== null);
}

async function generatorInfo(model: BuiltInModel | null, log: (message: string, error?: unknown) => void): Promise<BuiltInGeneratorInfo | null> {
  if (!model) return null;
  try {
    const card = await readModelPackCard(model.dir);
    return {
      id: builtInId(model.name),
      name: model.name,
      label: `built-in: ${model.name}`,
      resolution: card.config.resolution,
      iteration: card.iteration,
      architecture: card.config.architecture,
      conditional: card.config.conditional === true,
    };
  } catch (error) {
    log(`the built-in generator in ${model.dir} is unusable`, error);
    return null;
  }
}

export function builtInDetectorInfo(): BuiltInDetectorInfo | null {
  const model = builtInDetector();
  return model && { id: builtInId(model.name), name: model.name, label: `built-in: ${model.name}` };
}

/** The built-in detector's info with `source` = `builtin:<name>` (a copy); any other detector's as it is. */
export function labelBuiltInDetector(info: DetectorInfo): DetectorInfo {
  const model = builtInDetector();
  return model && info.kind === 'detector' && resolve(info.source) === resolve(model.dir) ? { ...info, source: builtInId(model.name) } : info;
}
