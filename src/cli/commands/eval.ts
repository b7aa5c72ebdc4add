import type { Command } from 'commander';
import { initEngine } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { conditionOf, oneHotConditions, type FaceCondition } from '../../data/conditions.js';
import { parseUtkfaceName } from '../../data/labels.js';
import { judgeConditioning, type ConditioningReport, type LabelJudgement } from '../../eval/judge.js';
import { evaluateImages, generateEvaluationFaces, loadReferenceFaces, type GeneratorQuality, type ReferenceFaces } from '../../eval/quality.js';
import { loadRunModel } from '../../train/checkpoint.js';
import { action, formatTable, info } from '../output.js';
import { engineOptions, withEngineOptions } from './engine-options.js';

function integer(value: unknown, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, not "${String(value)}"`);
  return n;
}

const kid3 = (value: number) => (value * 1000).toFixed(2);
const interval = (i: { low: number; high: number }) => `[${i.low.toFixed(2)}, ${i.high.toFixed(2)}]`;

/** The three metrics beside their floors, as a table. */
export function formatQuality(q: GeneratorQuality): string {
  return formatTable(
    ['metric', 'generated', 'real-vs-real floor'],
    [
      ['FID (lower is better)', q.fid.toPrecision(4), q.fidFloor.toPrecision(4)],
      ['KID x10^3 ± std', `${kid3(q.kid)} ± ${kid3(q.kidStd)}`, `${kid3(q.kidFloor)} ± ${kid3(q.kidFloorStd)}`],
      ['two-sample accuracy (0.5 = indistinguishable)', `${q.twoSampleAccuracy.toFixed(3)} ${interval(q.twoSampleInterval)}`, `${q.twoSampleFloor.toFixed(3)} ${interval(q.twoSampleFloorInterval)}`],
    ],
  );
}

const percent = (share: number) => `${(100 * share).toFixed(1)}%`;

/** The judge's figures, generated beside real photos of the same labels. */
export function formatConditioning(report: ConditioningReport): string {
  const row = (name: string, g: LabelJudgement['byGender'][string] | undefined, r: LabelJudgement['byGender'][string] | undefined) =>
    g && r ? [name, String(g.count), percent(g.genderMatch), percent(r.genderMatch), g.ageError.toFixed(1), r.ageError.toFixed(1)] : null;
  const rows = [
    row('all', report.generated, report.real),
    ...Object.keys(report.generated.byGender).map((k) => row(`gender ${k}`, report.generated.byGender[k], report.real.byGender[k])),
    ...Object.keys(report.generated.byAgeBucket).map((k) => row(`age ${k}`, report.generated.byAgeBucket[k], report.real.byAgeBucket[k])),
  ].filter((r): r is string[] => r !== null);
  return formatTable(['labels asked for', 'faces', 'gender match: generated', 'real photos', 'age error (years): generated', 'real photos'], rows);
}

/**
 * A conditional run's evaluation faces carry the labels of real photos: the first
 * `count` labelled faces of the reference set (so the generated set follows the data's
 * label mix). Returns the labels and those photos.
 */
function labelledReference(reference: ReferenceFaces, count: number): { labels: FaceCondition[]; photos: Float32Array[] } {
  const imageSize = reference.size * reference.size * 3;
  const labels: FaceCondition[] = [];
  const photos: Float32Array[] = [];
  reference.files.forEach((file, i) => {
    const label = conditionOf(parseUtkfaceName(file));
    if (!label || labels.length === count) return;
    labels.push(label);
    photos.push(reference.images.subarray(i * imageSize, (i + 1) * imageSize));
  });
  if (labels.length < count) throw new UsageError(`only ${labels.length} of the ${reference.count} reference faces carry UTKFace labels; a conditional run's evaluation needs ${count}`, 'point --data at UTKFace photos (AGE_GENDER_RACE_DATE.jpg)');
  return { labels, photos };
}

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    .description("measure a run's generator against real faces: FID, KID and two-sample accuracy on face descriptors, each beside its real-vs-real floor")
    .requiredOption('--run <dir>', 'run folder (its newest checkpoint is evaluated)')
    .requiredOption('--data <dir>', 'folder of real face images; 2 x --count of them are drawn at random')
    .option('--count <n>', 'generated faces, and real faces per half (FID depends on it: compare numbers only at the same count)', '200')
    .option('--seed <n>', 'seed of the real-face draw and of the generator noise', '0')
    .option('--json', 'print JSON instead of a table');
  withEngineOptions(command);
  command.addHelpText(
    'after',
    '\nThe real faces should be faces the run never trained on: `experiment table1` keeps them in OUT/data/held-out.\n\nExamples:\n  fakeface eval --run runs/model2 --data ../shared/data/utkface-crop_part1\n  fakeface eval --run experiments/table1/runs/model2 --data experiments/table1/data/held-out --count 500 --json\n',
  );
  command.action(
    action(async (opts: Record<string, unknown>) => {
      const count = integer(opts.count, '--count', 2);
      const seed = integer(opts.seed, '--seed', 0);
      const engine = await initEngine(engineOptions(opts));
      const run = opts.run as string;
      const { model, config, iteration } = await loadRunModel(run, 'generator');
      try {
        if (!opts.json) info(`fakeface: engine ${engine.description}; decoding ${2 * count} real faces and computing descriptors (~0.1 s per face)`);
        const reference = await loadReferenceFaces(opts.data as string, { size: config.resolution, count: 2 * count, seed, warn: (m) => info(`fakeface: warning: ${m}`) });
        // A conditional run draws faces with the labels of real photos, and the age and gender judge checks them against those photos.
        const labelled = config.conditional ? labelledReference(reference, count) : null;
        const images = generateEvaluationFaces(model, config.latentDim, count, config.resolution, seed, labelled ? oneHotConditions(labelled.labels) : undefined);
        const quality = await evaluateImages(images, count, reference);
        const imageSize = config.resolution * config.resolution * 3;
        const conditioning = labelled
          ? await judgeConditioning(Array.from({ length: count }, (_, i) => images.subarray(i * imageSize, (i + 1) * imageSize)), labelled.photos, labelled.labels, config.resolution)
          : undefined;
        if (opts.json) {
          process.stdout.write(JSON.stringify({ run, preset: config.preset, iteration, resolution: config.resolution, seed, reference: reference.source, ...quality, ...(conditioning ? { conditioning } : {}) }, null, 2) + '\n');
          return;
        }
        process.stdout.write(
          [
            `run ${run}: preset ${config.preset}, iteration ${iteration}, ${config.resolution}x${config.resolution}`,
            `features: ${quality.featureNetwork}`,
            `real faces: ${reference.source}`,
            `${count} generated faces vs ${count} of them; floor: the other ${count} vs the same ${count}`,
            '',
            formatQuality(quality),
            '',
            ...(conditioning
              ? [
                  `conditional: each generated face has the labels of one of ${count} real photos; judge: ${conditioning.network}`,
                  'gender match: share whose predicted gender is the label; age error: mean distance from the predicted age to the label\'s age bucket (0 inside it)',
                  '',
                  formatConditioning(conditioning),
                  '',
                  `age error ratio (generated / real photos): ${conditioning.ageErrorRatio.toFixed(2)}`,
                  '',
                ]
              : []),
          ].join('\n'),
        );
        info('fakeface: FID depends on the number of faces: compare only numbers made with the same --count, with their floor. Faces the run trained on are not excluded from --data.');
      } finally {
        model.dispose();
      }
    }),
  );
}
