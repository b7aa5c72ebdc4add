import { writeFileAtomic } from '../../data/index.js';
import { Command } from 'commander';
import { rocSvg } from '../../detect/charts.js';
import { evaluateClassifier } from '../../detect/evaluate.js';
import type { ClassificationReport } from '../../detect/metrics.js';
import { trainDetector } from '../../detect/train-detector.js';
import { UsageError } from '../../errors.js';
import { BUILT_IN_DETECTOR_NAME } from '../../models/builtin.js';
import { builtInDetectorOrExplain } from '../builtin-choice.js';
import { action, formatTable, info } from '../output.js';
import { ProgressBar } from '../progress.js';
import { cpuEngineOptions, engineOptions, withEngineOptions } from './engine-options.js';

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, not "${String(value)}"`);
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const f3 = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));

/** The numbers people look for, as a few lines. */
export function formatReport(r: ClassificationReport): string {
  const c = r.confusion;
  return [
    `  ${r.count.real} real, ${r.count.fake} fake; threshold p(fake) >= ${r.threshold.toFixed(3)}`,
    `  accuracy ${f3(r.accuracy)}  balanced ${f3(r.balancedAccuracy)}  ROC AUC ${f3(r.auc)}`,
    `  precision ${f3(r.precision)}  recall ${f3(r.recall)}  false positive rate ${f3(r.falsePositiveRate)}`,
    formatTable(['', 'called real', 'called fake'], [
      ['  real', String(c.trueNegatives), String(c.falsePositives)],
      ['  fake', String(c.falseNegatives), String(c.truePositives)],
    ]),
  ].join('\n');
}

function registerTrain(parent: Command): void {
  const command = parent
    .command('train')
    .description('train a real-vs-fake face detector against the fakes of GAN runs and/or a folder of fakes')
    .requiredOption('--real <dir>', 'folder of real face images')
    .option('--fake-run <dir>', 'GAN run whose generator makes the fakes (repeatable)', collect)
    .option('--fake <dir>', 'folder of fake face images (repeatable)', collect)
    .requiredOption('--out <dir>', 'detector folder to write (model.json, weights.bin, detector.json)')
    .option('--epochs <n>', 'passes over the training split (default 8)')
    .option('--limit <n>', 'real images to use, spread evenly over the folder; as many fakes (default 2000)')
    .option('--input-size <n>', "side of the face crop the detector reads (default: the fake runs' resolution, at most 64)")
    .option('--batch-size <n>', 'images per step, half real and half fake (default 32)')
    .option('--learning-rate <lr>', 'Adam learning rate (default 0.001)')
    .option('--no-augment', 'train without augmentation (to measure what it buys; not recommended)')
    .option('--seed <n>', 'seed of the split, the fakes, the weights and the augmentation (default 42)');
  withEngineOptions(command);
  command.addHelpText('after', '\nExample:\n  fakeface detector train --real ../shared/data/utkface-crop_part1 --fake-run runs/dcgan64 --out detectors/d1\n');
  command.action(
    action(async (opts: Record<string, unknown>) => {
      let dataBar: ProgressBar | undefined;
      let trainBar: ProgressBar | undefined;
      const learningRate = opts.learningRate === undefined ? undefined : Number(opts.learningRate);
      const seed = opts.seed === undefined ? undefined : Number(opts.seed);
      if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) throw new UsageError(`--seed must be a non-negative integer, not "${String(opts.seed)}"`);
      try {
        const result = await trainDetector(
          {
            realDir: opts.real as string,
            fakeRuns: opts.fakeRun as string[] | undefined,
            fakeDirs: opts.fake as string[] | undefined,
            outDir: opts.out as string,
            epochs: positiveInt(opts.epochs, '--epochs'),
            limit: positiveInt(opts.limit, '--limit'),
            inputSize: positiveInt(opts.inputSize, '--input-size'),
            batchSize: positiveInt(opts.batchSize, '--batch-size'),
            learningRate,
            augment: opts.augment !== false,
            seed,
            engine: engineOptions(opts),
            commandLine: ['fakeface', ...process.argv.slice(2)].join(' '),
          },
          {
            onStage: (message) => {
              dataBar?.stop();
              dataBar = undefined;
              info(`fakeface: ${message}`);
            },
            onDataProgress: (done, total) => {
              dataBar ??= new ProgressBar('data', total);
              dataBar.update(done);
            },
            onStep: (done, total, loss, epoch) => {
              trainBar ??= new ProgressBar('train', total);
              trainBar.update(done, `epoch ${epoch} loss ${loss.toFixed(3)}`);
            },
            onEpoch: (e) => {
              trainBar?.stop();
              trainBar = undefined;
              info(`fakeface: epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation loss ${e.validationLoss.toFixed(4)}, validation AUC ${f3(e.validationAuc)}`);
            },
            warn: (message) => info(`fakeface: warning: ${message}`),
          },
        );
        const card = result.card;
        info(`fakeface: best epoch ${card.training.bestEpoch}; calibrated threshold ${card.calibration.threshold.toFixed(3)}`);
        info(`fakeface: held-out test split (never trained on, not used for the threshold):\n${formatReport(card.heldOut)}`);
        info(`fakeface: robustness on the test split: ${Object.entries(card.robustness).map(([k, v]) => `${k} AUC ${f3(v.auc)} acc ${f3(v.accuracy)}`).join('; ')}`);
        info(`fakeface: wrote ${result.dir} (${card.training.seconds} s)`);
      } finally {
        dataBar?.stop();
        trainBar?.stop();
      }
    }),
  );
}

function registerEval(parent: Command): void {
  const command = parent
    .command('eval')
    .description("measure a detector (or a GAN run's discriminator) on folders of real and fake face images")
    .option('--detector <dir>', `detector folder (default: the built-in ${BUILT_IN_DETECTOR_NAME})`)
    .option('--run <dir>', "or: a GAN run whose discriminator is evaluated (the paper's detector)")
    .requiredOption('--real <dir>', 'folder of real face images')
    .requiredOption('--fake <dir>', 'folder of fake face images')
    .option('--limit <n>', 'at most n images per folder, spread evenly')
    .option('--find-faces', 'find and crop faces first, as `detect` does (default: each image is a face crop)')
    .option('--roc <file>', 'write the ROC curve as SVG')
    .option('--json', 'print JSON instead of text');
  withEngineOptions(command);
  command.addHelpText('after', '\nExamples:\n  fakeface detector eval --detector detectors/d1 --real faces/real --fake faces/fake --roc roc.svg\n  fakeface detector eval --run runs/dcgan64 --real faces/real --fake faces/fake\n');
  command.action(
    action(async (opts: Record<string, unknown>) => {
      if (opts.detector && opts.run) throw new UsageError('give --detector DIR or --run RUN, not both');
      if (!opts.detector && !opts.run) opts.detector = builtInDetectorOrExplain();
      const engine = cpuEngineOptions(opts);
      let bar: ProgressBar | undefined;
      const evaluation = await evaluateClassifier({
        detector: opts.detector as string | undefined,
        run: opts.run as string | undefined,
        realDir: opts.real as string,
        fakeDir: opts.fake as string,
        limit: positiveInt(opts.limit, '--limit'),
        mode: opts.findFaces ? 'faces' : 'crop',
        backend: engine.backend === 'auto' ? undefined : engine.backend,
        threads: engine.threads,
        onProgress: (done, total) => {
          bar ??= new ProgressBar('score', total);
          bar.update(done);
        },
      }).finally(() => bar?.stop());
      if (opts.roc) {
        await writeFileAtomic(opts.roc as string, rocSvg([{ label: evaluation.detector.name, points: evaluation.roc, auc: evaluation.report.auc }], `ROC: ${evaluation.detector.name}`));
        info(`fakeface: wrote ${String(opts.roc)}`);
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(evaluation, null, 2) + '\n');
        return;
      }
      const skipped = evaluation.skipped.length ? `; ${evaluation.skipped.length} skipped (${evaluation.skipped.slice(0, 3).map((s) => `${s.file}: ${s.problem}`).join('; ')})` : '';
      process.stdout.write(`${evaluation.detector.name} (${evaluation.mode === 'crop' ? 'images read as face crops' : 'faces found and cropped'})${skipped}\n${formatReport(evaluation.report)}\n`);
    }),
  );
}

export function registerDetector(program: Command): void {
  const detector = program.command('detector').description('train and evaluate real-vs-fake face detectors');
  registerTrain(detector);
  registerEval(detector);
  // Subcommands report usage errors the same way as top-level commands, and never exit the process themselves.
  for (const sub of detector.commands) sub.configureOutput(program.configureOutput()).exitOverride();
}
