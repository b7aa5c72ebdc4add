/** The built-in models as the CLI's defaults: each announced once, or a one-line error where this install has none. */
import { UsageError } from '../errors.js';
import { builtInDetector, defaultGenerator } from '../models/builtin.js';
import { info } from './output.js';

/** The shipped generator's folder, for commands given no --run: the conditional one when labels are asked for. */
export function builtInGeneratorOrExplain(conditional = false): string {
  const builtIn = defaultGenerator(conditional);
  if (!builtIn && conditional) throw new UsageError('no --run given and no conditional built-in generator in this install', 'train one: fakeface train --data DIR --preset faces64 --out runs/faces64');
  if (!builtIn) throw new UsageError('no --run given and no built-in generator in this install', 'train one: fakeface train --data DIR --preset dcgan64 --out runs/dcgan64');
  info(`fakeface: using the built-in generator ${builtIn.name} (choose another with --run)`);
  return builtIn.dir;
}

/** The shipped detector's folder, for commands given neither --detector nor --run. */
export function builtInDetectorOrExplain(): string {
  const builtIn = builtInDetector();
  if (!builtIn) throw new UsageError('choose a classifier: --detector DIR or --run RUN', 'train a detector with `fakeface detector train --real DIR --fake-run RUN --out DIR`');
  info(`fakeface: using the built-in detector ${builtIn.name} (choose another with --detector or --run)`);
  return builtIn.dir;
}
