import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createRunEvaluator, FACE_FEATURE_NETWORK } from '../../eval/quality.js';
import { UsageError } from '../../errors.js';
import { train, type TrainOptions } from '../../train/train.js';
import { action, info } from '../output.js';
import { listenForInterrupt } from '../interrupt.js';
import { ProgressBar } from '../progress.js';
import { engineOptions, withEngineOptions } from './engine-options.js';

/** Flags that override config keys; values are checked by resolveConfig. */
const CONFIG_FLAGS: [flag: string, help: string, key?: string][] = [
  ['--iterations <n>', 'training iterations, one random batch each (Table 1: 20000)'],
  ['--batch-size <n>', 'real images per discriminator step (Table 1: 128, 256, 512)'],
  ['--learning-rate <lr>', 'Adam learning rate (Table 1: 1e-4 or 2e-4)'],
  ['--activation <name>', 'hidden activation: leakyrelu or relu'],
  ['--resolution <px>', 'square image side (paper: 120)'],
  ['--latent-dim <n>', 'length of the noise vector (paper: 100)'],
  ['--generator-units <list>', 'hidden widths of G, comma-separated (paper: 256,512,1024,2048)'],
  ['--discriminator-units <list>', 'hidden widths of D, comma-separated (paper: 1024,512,256)'],
  ['--beta1 <b>', 'Adam beta1 (paper: 0.5)'],
  ['--sample-every <n>', 'write a fixed-noise sample grid every n iterations, 0 = never (default 500)'],
  ['--sample-count <n>', 'faces per sample grid (default 25)'],
  ['--eval-every <n>', 'measure FID/KID/two-sample accuracy every n iterations into metrics.jsonl; 0 = never (default)'],
  ['--checkpoint-every <n>', 'save a resumable checkpoint every n iterations (default 500)'],
  ['--keep-checkpoints <n>', 'how many of the newest checkpoints to keep (default 2)'],
  ['--early-stop-patience <n>', 'stop when D accuracy >= 0.99 and G loss rises for n iterations; 0 = off (default)'],
  ['--architecture <name>', 'mlp (the paper), dcgan (Radford et al.) or paper-cnn (the paper\'s CNN)'],
  ['--base-filters <n>', 'conv nets: base channel count (DCGAN ngf/ndf: 64)'],
  ['--dropout <rate>', 'conv nets: dropout after each D block (paper-cnn: 0.25)'],
  ['--label-smoothing <s>', "one-sided label smoothing: D's real target is 1 - s (e.g. 0.1); 0 = off"],
  ['--instance-noise <std>', 'Gaussian noise on every image D sees, annealed to 0 over the run; 0 = off'],
  ['--flip-augment <bool>', 'flip real images left-right at random (true/false)'],
  ['--seed <n>', 'seed of weight init, noise and batch sampling (default 42)'],
  ['--limit <n>', 'train on the first n images of the folder (sorted by name); 0 = all'],
  ['--ema <decay>', "keep a moving average of G's weights (e.g. 0.999) for samples, generate and eval; 0 = off (default)"],
  ['--diffaugment <ops>', 'DiffAugment on every batch D sees, real and fake: color,translation,cutout (any of them); none = off (default)', 'diffAugment'],
  ['--loss <name>', 'adversarial loss: nonsaturating (default, the paper\'s) or hinge'],
  ['--conditional', 'train on UTKFace labels (age bucket, gender, race): generate --age/--gender/--race; unlabelled photos are skipped'],
  ['--aux-classifier <weight>', "conditional runs: weight of D's class head (AC-GAN), which pushes G to draw the labels asked for; 0 = off (default)"],
];

/** Each flag's option name (as commander names it) and the config key it sets (the same unless given). */
const CONFIG_OPTIONS = CONFIG_FLAGS.map(([flag, , key]) => {
  const option = flag.split(' ')[0]!.slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return { option, key: key ?? option };
});

/**
 * The run folder: `--resume RUN`, or `--out` (new runs, and today's `--out RUN --resume`).
 * A new run needs --data and --out; a resumed one only the run.
 */
function runFolderOf(opts: Record<string, unknown>): string {
  const out = opts.out as string | undefined;
  const resume = opts.resume as string | true | undefined;
  if (typeof resume === 'string') {
    if (out !== undefined && resolve(out) !== resolve(resume)) {
      throw new UsageError(`--resume ${resume} and --out ${out} name two runs`, 'give the run once: fakeface train --resume RUN');
    }
    return resume;
  }
  const hint = 'a new run needs --data DIR and --out DIR; continue one with --resume RUN';
  if (!resume && opts.data === undefined) throw new UsageError("required option '--data <dir>' not specified", hint);
  if (out === undefined) {
    if (resume) throw new UsageError('--resume needs the run folder: fakeface train --resume RUN');
    throw new UsageError("required option '--out <dir>' not specified", hint);
  }
  return out;
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description("train the paper's MLP GAN (or a preset) on a folder of face images")
    .option('--data <dir>', 'folder of face images (JPEG, PNG, WebP); on --resume, default: the run\'s own')
    .option('--preset <name>', "model1 … model6 (the paper's Table 1), tiny, paper-cnn, dcgan64, dcgan-tiny, faces64 (conditional, EMA, DiffAugment)")
    .option('--out <dir>', 'run folder to write (config, metrics.jsonl, samples, checkpoints); one trainer at a time')
    .option(
      '--resume [run]',
      'continue a run from its newest checkpoint, with its own data and config (the run folder, or the one of --out); ' +
        'flags beside it change the schedule freely, the recipe (learning rate, batch size, --data …) with a warning',
    )
    .option('--cache-dir <dir>', 'where decoded datasets are cached (default: ~/.cache/fakeface)')
    .option('--no-cache', 'decode the images every time')
    .option('--eval-count <n>', 'with --eval-every: generated faces per evaluation, against twice as many real faces from --data (default 200)');
  for (const [flag, help] of CONFIG_FLAGS) command.option(flag, help);
  withEngineOptions(command, { gpu: true });
  command.addHelpText(
    'after',
    '\nExamples:\n  fakeface train --data ../shared/data/utkface-crop_part1 --preset tiny --out runs/tiny\n  fakeface train --data faces/ --preset model2 --out runs/model2\n' +
      '  fakeface train --resume runs/model2                       # continue it: its data, its config\n' +
      '  fakeface train --resume runs/model2 --iterations 30000    # continue it for longer\n' +
      '\nWhile a trainer writes a run folder it holds runs/NAME/.lock (pid, host, start time): a second trainer\n' +
      'on the same folder fails, naming it. The lock of a trainer that is no longer running is taken over.\n',
  );
  command.action(
    action(async (opts: Record<string, unknown>) => {
      const runDir = runFolderOf(opts);
      const overrides = Object.fromEntries(CONFIG_OPTIONS.filter(({ option }) => opts[option] !== undefined).map(({ option, key }) => [key, opts[option]]));
      const interrupt = listenForInterrupt();
      const evalCount = opts.evalCount === undefined ? 200 : Number(opts.evalCount);
      if (!Number.isInteger(evalCount) || evalCount < 2) throw new UsageError(`--eval-count must be an integer >= 2, not "${String(opts.evalCount)}"`);
      let bar: ProgressBar | undefined;
      let dataBar: ProgressBar | undefined;
      let lastQuality = '';
      // Made once the resolved config is known (onStart); train() calls it only when evalEvery > 0.
      let evaluator: TrainOptions['evaluate'];
      try {
        const result = await train(
          {
            dataDir: opts.data as string | undefined,
            outDir: runDir,
            preset: opts.preset as string | undefined,
            overrides,
            resume: opts.resume !== undefined,
            cacheDir: opts.cache === false ? false : (opts.cacheDir as string | undefined),
            engine: engineOptions(opts, { gpu: true }),
            evaluate: (generator, iteration) => evaluator!(generator, iteration),
            commandLine: ['fakeface', ...process.argv.slice(2)].join(' '),
          },
          {
            warn: (message) => info(`fakeface: warning: ${message}`),
            onDataProgress: (done, total) => {
              dataBar ??= new ProgressBar('decode', total);
              dataBar.update(done);
              if (done === total) dataBar.stop();
            },
            onStart: (start) => {
              dataBar?.stop();
              const c = start.config;
              info(`fakeface: engine ${start.engine.description}${start.engine.reason ? ` (${start.engine.reason})` : ''}`);
              info(`fakeface: ${start.images} images at ${c.resolution}x${c.resolution}${start.fromCache ? ' (from cache)' : ''}${start.skipped ? `, ${start.skipped} skipped` : ''}${start.unlabelled ? `, ${start.unlabelled} without full labels skipped (--conditional)` : ''}`);
              info(`fakeface: preset ${c.preset}, seed ${c.seed}, G ${start.generatorParams.toLocaleString('en')} params, D ${start.discriminatorParams.toLocaleString('en')} params`);
              info(`fakeface: config ${JSON.stringify(c)}`);
              if (start.startIteration > 0) info(`fakeface: resuming at iteration ${start.startIteration}`);
              if (c.evalEvery > 0) {
                evaluator = createRunEvaluator(c, start.dataDir, { count: evalCount, warn: (message) => info(`fakeface: warning: ${message}`) });
                info(
                  `fakeface: every ${c.evalEvery} iterations: FID, KID and two-sample accuracy of ${evalCount} generated faces against ${evalCount} of ` +
                    `${2 * evalCount} faces drawn at random from ${start.dataDir} (the other ${evalCount} give the real-vs-real floor); features: ${FACE_FEATURE_NETWORK}`,
                );
              }
              bar = new ProgressBar('train', c.iterations);
              bar.update(start.startIteration);
            },
            onIteration: (r) => {
              if (r.fid !== undefined) lastQuality = ` | FID ${r.fid.toPrecision(3)} (floor ${r.fidFloor!.toPrecision(3)}) @${r.iteration}`;
              bar?.update(r.iteration, `D acc ${r.dAcc.toFixed(2)} D loss ${((r.dLossReal + r.dLossFake) / 2).toFixed(3)} G loss ${r.gLoss.toFixed(3)}${lastQuality}`);
            },
            shouldStop: interrupt.requested,
          },
        );
        bar?.stop();
        const where = `run ${result.runDir}`;
        if (result.status === 'interrupted') {
          info(`fakeface: interrupted at iteration ${result.iteration}; checkpoint saved. Continue with: fakeface train --resume ${result.runDir}`);
          return 130;
        }
        if (result.status === 'stopped-early') info(`fakeface: stopped early at iteration ${result.iteration}: ${result.stopReason} (${where})`);
        else info(`fakeface: finished ${result.iteration} iterations (${where})`);
        return 0;
      } finally {
        bar?.stop();
        interrupt.dispose();
      }
    }),
  );
}

