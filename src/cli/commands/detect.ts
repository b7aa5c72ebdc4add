import type { Command } from 'commander';
import { scoreWithDiscriminator } from '../../detect/discriminator.js';
import { initEngine } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { action, formatTable } from '../output.js';
import { engineOptions, withEngineOptions } from './engine-options.js';

export function registerDetect(program: Command): void {
  const command = program
    .command('detect')
    .description("score images as real or fake with a run's discriminator (the paper's detector)")
    .argument('<images...>', 'image files (JPEG, PNG, WebP)')
    .requiredOption('--run <dir>', 'run folder whose discriminator scores the images')
    .option('--threshold <p>', 'p(real) above which an image is called real', '0.5')
    .option('--json', 'print JSON instead of a table');
  withEngineOptions(command);
  command.action(
    action(async (images: string[], opts: Record<string, unknown>) => {
      const threshold = Number(opts.threshold);
      if (!(threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold must be between 0 and 1, not "${String(opts.threshold)}"`);
      await initEngine(engineOptions(opts));
      const result = await scoreWithDiscriminator(opts.run as string, images, threshold);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ run: opts.run, iteration: result.iteration, threshold, results: result.scores }, null, 2) + '\n');
      } else {
        const rows = result.scores.map((s) => [s.file, s.pReal === null ? '-' : s.pReal.toFixed(4), s.verdict === 'error' ? `error: ${s.error}` : s.verdict]);
        process.stdout.write(formatTable(['image', 'p(real)', 'verdict'], rows) + '\n');
      }
      return result.scores.some((s) => s.verdict === 'error') ? 1 : 0;
    }),
  );
}
