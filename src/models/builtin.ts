/**
 * The models that ship in the repository (models/, see models/README.md): a
 * generator and a detector trained with fakeface on UTKFace, used whenever a
 * command or the web app is not told which run or detector to use.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** models/ at the package root: two levels up from src/models/ and from dist/models/. */
export const BUILT_IN_MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

/** The unconditional DCGAN; also the generator whose faces the detector trains against (src/detect/probe-sources.ts). */
export const BUILT_IN_GENERATOR_NAME = 'dcgan64-utkface';
/** The conditional generator (age bucket, gender, race on request): `--preset faces64`. */
export const BUILT_IN_CONDITIONAL_GENERATOR_NAME = 'faces64-utkface';
/** What `generate`, `eval` and the web app use when no run is named (see models/README.md for why this one). */
export const DEFAULT_GENERATOR_NAME: string = BUILT_IN_GENERATOR_NAME;
export const BUILT_IN_DETECTOR_NAME = 'detector-probe';
/** The first built-in detector (a small CNN on our own DCGAN's faces), kept for comparison: `--detector models/detector-utkface`. */
export const LEGACY_DETECTOR_NAME = 'detector-utkface';

export interface BuiltInModel {
  name: string;
  dir: string;
}

function builtIn(name: string, marker: string): BuiltInModel | null {
  const dir = join(process.env.FAKEFACE_MODELS_DIR ?? BUILT_IN_MODELS_DIR, name);
  return existsSync(join(dir, marker)) ? { name, dir } : null;
}

/** The shipped DCGAN generator dcgan64-utkface (an exported model folder), or null when this install has none. */
export const builtInGenerator = (): BuiltInModel | null => builtIn(BUILT_IN_GENERATOR_NAME, 'fakeface-model.json');

/** The shipped conditional generator faces64-utkface, or null. */
export const builtInConditionalGenerator = (): BuiltInModel | null => builtIn(BUILT_IN_CONDITIONAL_GENERATOR_NAME, 'fakeface-model.json');

/** Every shipped generator, the default first. */
export function builtInGenerators(): BuiltInModel[] {
  const all = [builtInGenerator(), builtInConditionalGenerator()].filter((m): m is BuiltInModel => m !== null);
  return all.sort((a, b) => Number(b.name === DEFAULT_GENERATOR_NAME) - Number(a.name === DEFAULT_GENERATOR_NAME));
}

/**
 * The shipped generator to use when none is named: the default one, or the conditional
 * one when labels are asked for (only it can draw them); null when this install has none.
 */
export function defaultGenerator(conditional = false): BuiltInModel | null {
  if (conditional) return builtInConditionalGenerator();
  return builtInGenerators()[0] ?? null;
}

/** The shipped detector folder, or null when this install has none. */
export const builtInDetector = (): BuiltInModel | null => builtIn(BUILT_IN_DETECTOR_NAME, 'probe.json');
