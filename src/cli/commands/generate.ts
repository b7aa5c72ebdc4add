import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AGE_BUCKETS, ageBucketName, GENDERS, isConditioned, parseConditionRequest, RACES } from '../../data/conditions.js';
import { encodePng, writeFileAtomic } from '../../data/index.js';
import { initEngine } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { generateFromRun } from '../../generate/index.js';
import { renderGridPng } from '../../train/samples.js';
import { BUILT_IN_CONDITIONAL_GENERATOR_NAME, DEFAULT_GENERATOR_NAME } from '../../models/builtin.js';
import { builtInGeneratorOrExplain } from '../builtin-choice.js';
import { action, info } from '../output.js';
import { engineOptions, withEngineOptions } from './engine-options.js';

function positiveInt(value: unknown, flag: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be an integer from 1 to ${max}, not "${String(value)}"`);
  return n;
}

export function registerGenerate(program: Command): void {
  const command = program
    .command('generate')
    .description("generate faces with a run's generator (its newest checkpoint), or the built-in one")
    .option('--run <dir>', `run folder, or an exported generator (default: the built-in ${DEFAULT_GENERATOR_NAME}; with --age/--gender/--race: ${BUILT_IN_CONDITIONAL_GENERATOR_NAME})`)
    .option('-n, --count <n>', 'number of faces', '25')
    .option('--out <path>', 'PNG grid to write, or a folder with --separate', 'faces.png')
    .option('--separate', 'write one PNG per face into the --out folder')
    .option('--columns <n>', 'faces per grid row (default: square)')
    .option('--seed <n>', 'noise seed: the same seed gives the same faces', '0')
    .option('--age <range>', `conditional runs: ${AGE_BUCKETS.map((_, i) => ageBucketName(i)).join(', ')}, an age in years, or any`)
    .option('--gender <name>', `conditional runs: ${GENDERS.join(', ')} or any`)
    .option('--race <name>', `conditional runs: ${RACES.join(', ')} or any`);
  withEngineOptions(command);
  command.action(
    action(async (opts: Record<string, unknown>) => {
      const count = positiveInt(opts.count, '-n', 4096);
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, not "${String(opts.seed)}"`);
      const request = parseConditionRequest({ age: opts.age as string | undefined, gender: opts.gender as string | undefined, race: opts.race as string | undefined });
      const engine = engineOptions(opts);
      const run = (opts.run as string | undefined) ?? builtInGeneratorOrExplain(isConditioned(request));
      await initEngine(engine);
      const faces = await generateFromRun(run, count, seed, request);
      const out = opts.out as string;
      if (opts.separate) {
        await mkdir(out, { recursive: true });
        const size = faces.height * faces.width * 3;
        for (let i = 0; i < faces.count; i++) {
          const png = await encodePng(faces.pixels.subarray(i * size, (i + 1) * size), faces.height, faces.width);
          await writeFileAtomic(join(out, `face_${String(i).padStart(4, '0')}.png`), png);
        }
        info(`fakeface: wrote ${faces.count} faces to ${out}/ (checkpoint at iteration ${faces.iteration})`);
      } else {
        const columns = opts.columns === undefined ? undefined : positiveInt(opts.columns, '--columns', 4096);
        await writeFileAtomic(out, await renderGridPng(faces, columns));
        info(`fakeface: wrote a grid of ${faces.count} faces to ${out} (checkpoint at iteration ${faces.iteration})`);
      }
    }),
  );
}
