import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { runTable1, TABLE1_CONFIGS, type Table1Options } from '../../experiment/table1.js';
import { action, formatTable, info } from '../output.js';
import { listenForInterrupt } from '../interrupt.js';
import { ProgressBar } from '../progress.js';
import { engineOptions, withEngineOptions } from './engine-options.js';

function integer(value: unknown, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, not "${String(value)}"`);
  return n;
}

const list = (value: unknown): string[] | undefined =>
  value === undefined ? undefined : String(value).split(',').map((s) => s.trim()).filter(Boolean);

export function registerExperiment(program: Command): void {
  const experiment = program.command('experiment').description("rerun the paper's experiments and write a report");
  const table1 = experiment
    .command('table1')
    .description("train Table 1's six configurations and the paper's CNN on one dataset, measure each against held-out faces, write report.html and report.md")
    .requiredOption('--data <dir>', 'folder of face images')
    .requiredOption('--out <dir>', 'experiment folder (rerun the same command to continue an interrupted experiment)')
    .option('--configs <list>', `presets to train, comma-separated (default ${TABLE1_CONFIGS.join(',')})`)
    .option('--include <list>', 'presets added after --configs, e.g. dcgan64')
    .option('--iterations <n>', "iterations per configuration (default: the presets' 20,000, as the paper)")
    .option('--resolution <px>', "image side for every configuration (default: each preset's: 120 for the paper's nets, 64 for dcgan64)")
    .option('--limit <n>', 'train on this many images, drawn at random from those not held out; 0 = all (default 0)')
    .option('--eval-count <n>', 'generated faces per evaluation; twice as many real faces are held out from training (default 500)')
    .option('--eval-every <n>', 'also measure quality every n iterations during training, into metrics.jsonl (default 0: only at the end)')
    .option('--early-stop-patience <n>', 'stop a configuration that has collapsed (D accuracy >= 0.99, G loss rising for n iterations); default off, as the paper')
    .option('--seed <n>', 'seed of the split, weights, batches, sample noise and evaluation (default 42)')
    .option('--cache-dir <dir>', 'where decoded datasets are cached (default: ~/.cache/fakeface)')
    .option('--no-cache', 'decode the images every time');
  withEngineOptions(table1);
  table1.addHelpText(
    'after',
    '\nExamples:\n' +
      '  fakeface experiment table1 --data ../shared/data/utkface-crop_part1 --out experiments/table1\n' +
      '  fakeface experiment table1 --data faces/ --out experiments/small --iterations 300 --resolution 32 --limit 2000 --eval-count 250\n' +
      '  fakeface experiment table1 --data faces/ --out experiments/small --iterations 300 --resolution 32 --limit 2000 --eval-count 250 --include dcgan64\n',
  );
  table1.configureOutput(program.configureOutput()).exitOverride();
  table1.action(
    action(async (opts: Record<string, unknown>) => {
      const options: Table1Options = {
        dataDir: opts.data as string,
        outDir: opts.out as string,
        configs: list(opts.configs),
        include: list(opts.include),
        iterations: integer(opts.iterations, '--iterations', 1),
        resolution: integer(opts.resolution, '--resolution', 8),
        limit: integer(opts.limit, '--limit', 0),
        evalCount: integer(opts.evalCount, '--eval-count', 2),
        evalEvery: integer(opts.evalEvery, '--eval-every', 0),
        earlyStopPatience: integer(opts.earlyStopPatience, '--early-stop-patience', 0),
        seed: integer(opts.seed, '--seed', 0),
        cacheDir: opts.cache === false ? false : (opts.cacheDir as string | undefined),
        engine: engineOptions(opts),
      };
      const interrupt = listenForInterrupt();
      let bar: ProgressBar | undefined;
      let current = '';
      try {
        const result = await runTable1(options, {
          warn: (message) => info(`fakeface: warning: ${message}`),
          onPlan: (plan) => {
            info(`fakeface: engine ${plan.engine.description}`);
            info(
              `fakeface: ${plan.split.total} images in ${plan.split.sourceDir}: ${plan.split.heldOutFiles.length} held out for evaluation, ` +
                `${plan.split.trainFiles.length} to train on (seed ${options.seed ?? 42})`,
            );
            for (const c of plan.configs) {
              info(`fakeface:   ${c.name.padEnd(10)} ${c.config.architecture} ${c.config.resolution}x${c.config.resolution}, ${c.config.iterations} iterations: ${c.action === 'train' ? 'to train' : c.action === 'resume' ? `to resume (${c.detail})` : `done (${c.detail})`}`);
            }
          },
          onConfigStart: (c, index, total) => {
            current = c.name;
            if (c.action === 'skip') info(`fakeface: [${index + 1}/${total}] ${c.name}: skipped, ${c.detail}`);
            else info(`fakeface: [${index + 1}/${total}] ${c.name}: ${c.action === 'train' ? 'training' : `resuming (${c.detail})`}`);
          },
          train: {
            warn: (message) => info(`fakeface: warning: ${message}`),
            onStart: (start) => {
              bar = new ProgressBar(current.padEnd(10), start.config.iterations);
              bar.update(start.startIteration);
            },
            onIteration: (r) => bar?.update(r.iteration, `D acc ${r.dAcc.toFixed(2)} G loss ${r.gLoss.toFixed(3)}`),
          },
          onEvaluate: (name, count) => {
            bar?.stop();
            bar = undefined;
            info(`fakeface: ${name}: measuring ${count} generated faces against the held-out faces`);
          },
          onConfigDone: (s) => {
            bar?.stop();
            bar = undefined;
            const q = s.quality?.quality;
            if (q) info(`fakeface: ${s.name}: FID ${q.fid.toPrecision(3)} (floor ${q.fidFloor.toPrecision(3)}), two-sample accuracy ${q.twoSampleAccuracy.toFixed(2)} (floor ${q.twoSampleFloor.toFixed(2)})`);
          },
          shouldStop: interrupt.requested,
        });
        bar?.stop();
        if (result.status === 'interrupted') {
          info(`fakeface: interrupted; checkpoint saved. Continue with the same command.`);
          return 130;
        }
        const rows = result.summaries.map((s) => {
          const q = s.quality?.quality;
          return [
            s.name,
            `${s.iteration}`,
            s.dAcc ? s.dAcc.mean.toFixed(3) : '-',
            q ? `${q.fid.toPrecision(3)} (${q.fidFloor.toPrecision(3)})` : '-',
            q ? `${(q.kid * 1000).toFixed(2)} (${(q.kidFloor * 1000).toFixed(2)})` : '-',
            q ? `${q.twoSampleAccuracy.toFixed(3)} (${q.twoSampleFloor.toFixed(3)})` : '-',
            Number.isFinite(s.msPerIteration) ? s.msPerIteration.toFixed(1) : '-',
            s.status === 'stopped-early' ? (s.stopReason ?? 'yes') : s.status === 'failed' ? `failed: ${s.stopReason ?? ''}` : '',
          ];
        });
        process.stdout.write(formatTable(['config', 'iterations', 'D acc', 'FID (floor)', 'KID x10^3 (floor)', 'two-sample (floor)', 'ms/it', 'stopped early'], rows) + '\n');
        process.stdout.write(`report: ${result.reportHtml}\n        ${result.reportMd}\n`);
        if (result.failed.length) {
          info(`fakeface: ${result.failed.map((f) => f.name).join(', ')} failed (see the report); rerun the same command to try again`);
          return 1;
        }
        return 0;
      } finally {
        bar?.stop();
        interrupt.dispose();
      }
    }),
  );
}
