/**
 * The shipped models (src/models/builtin.ts) as the API shows them: the built-in
 * generator is a choice of the Generate page beside the runs, with the id
 * `builtin:<name>`, and the built-in detector's answers name it `builtin:<name>`
 * rather than a folder of this machine.
 */
import { resolve } from 'node:path';
import { builtInDetector, builtInGenerator } from '../models/builtin.js';
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
  const model = builtInGenerator();
  return model && id === builtInId(model.name) ? model.dir : null;
}

/** The built-in generator with what its card says, or null when this install has none (or its card is unreadable: `log` says why). */
export async function builtInGeneratorInfo(log: (message: string, error?: unknown) => void): Promise<BuiltInGeneratorInfo | null> {
  const model = builtInGenerator();
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
