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

export const BUILT_IN_GENERATOR_NAME = 'dcgan64-utkface';
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

/** The shipped generator (an exported model folder), or null when this install has none. */
export const builtInGenerator = (): BuiltInModel | null => builtIn(BUILT_IN_GENERATOR_NAME, 'fakeface-model.json');

/** The shipped detector folder, or null when this install has none. */
export const builtInDetector = (): BuiltInModel | null => builtIn(BUILT_IN_DETECTOR_NAME, 'probe.json');
