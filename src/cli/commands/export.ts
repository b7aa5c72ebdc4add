import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { initEngine } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { exportModel } from '../../export/index.js';
import { WEIGHT_DTYPES, type WeightDtype } from '../../models/quantize.js';
import { action, info } from '../output.js';

/** An `eval --json` result: an object with a numeric fid. */
async function readQuality(file: string): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--quality ${file}: not readable JSON (${(error as Error).message.split('\n')[0]})`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { fid?: unknown }).fid !== 'number') {
    throw new UsageError(`--quality ${file}: not the output of \`fakeface eval --json\` (no fid)`);
  }
  return parsed as Record<string, unknown>;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("write a compact copy of a run's generator or of a detector (float16 or 8-bit weights), loadable wherever a run or detector is")
    .argument('<source>', 'a run folder (its newest generator), or a detector folder')
    .requiredOption('--out <dir>', 'folder to write (replaced if it exists)')
    .option('--dtype <type>', `weight storage: ${WEIGHT_DTYPES.join(', ')}`, 'float16')
    .option('--name <name>', 'name on the model card (default: the --out folder name)')
    .option('--quality <file>', 'generators: the JSON of `fakeface eval --json` to put on the card')
    .addHelpText(
      'after',
      '\nExamples:\n  fakeface export runs/dcgan64 --out models/my-generator\n  fakeface generate --run models/my-generator -n 16\n  fakeface export detectors/d1 --out models/my-detector --dtype uint8\n',
    )
    .action(
      action(async (source: string, opts: { out: string; dtype: string; name?: string; quality?: string }) => {
        if (!WEIGHT_DTYPES.includes(opts.dtype as WeightDtype)) throw new UsageError(`--dtype must be one of ${WEIGHT_DTYPES.join(', ')}, not "${opts.dtype}"`);
        const quality = opts.quality === undefined ? undefined : await readQuality(opts.quality);
        if (resolve(source) === resolve(opts.out)) throw new UsageError('--out must differ from the source folder');
        await initEngine({ backend: 'cpu' });
        const result = await exportModel({
          source,
          out: opts.out,
          dtype: opts.dtype as WeightDtype,
          name: opts.name ?? basename(resolve(opts.out)),
          commandLine: ['fakeface', ...process.argv.slice(2)].join(' '),
          quality,
        });
        info(`fakeface: wrote ${result.kind} ${opts.out} (${result.params.toLocaleString('en')} parameters, ${(result.bytes / 1e6).toFixed(2)} MB of ${opts.dtype} weights)`);
      }),
    );
}
