/**
 * The report of `fakeface experiment table1`: what scale was run next to the
 * paper's, Table 1 with measured columns, Figure 2 (one fixed-noise grid per
 * configuration at one iteration), training curves, and the paper's
 * conclusions checked against the quality numbers.
 */
import { readFile } from 'node:fs/promises';
import type { Conclusion } from '../experiment/conclusions.js';
import type { DataSplit } from '../experiment/split.js';
import { PAPER_REPORT_ITERATION, type ConfigSummary } from '../experiment/summary.js';
import { lineChartSvg, smoothSeries, type ChartSeries } from './chart.js';
import { writeReport, type Block, type ReportImage } from './document.js';

export interface Table1ReportData {
  summaries: readonly ConfigSummary[];
  conclusions: readonly Conclusion[];
  split: DataSplit;
  /** Generated faces per evaluation (= real faces per half). */
  evalCount: number;
  seed: number;
  /** Iteration of Figure 2's grids. */
  figureIteration: number;
  /** Backend the experiment ran on, in words. */
  engine: string;
  featureNetwork: string;
  /** What the command line asked for (null: each preset's own). */
  options: { iterations: number | null; resolution: number | null; limit: number };
  /** @default now */
  createdAt?: Date;
}

/** Two charts side by side fit the page. */
const CHART_WIDTH = 520;

/** The paper's setting, for the scale table. */
const PAPER = { images: 9780, resolution: '120x120', iterations: '20,000 (some stopped early by hand)', hardware: 'cloud machines, Keras (not specified further)' };

const distinct = <T>(values: T[]): T[] => [...new Set(values)];
const plural = (n: number, word: string) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const sig = (value: number) => (Number.isFinite(value) ? value.toPrecision(3) : String(value));
const kid3 = (value: number) => fixed(value * 1000, 2);
const lr = (value: number) => value.toExponential(0);

function stoppedEarly(s: ConfigSummary): string {
  if (s.status === 'stopped-early') return `yes, at ${s.iteration}: ${s.stopReason ?? 'no reason recorded'}`;
  if (s.status === 'finished') return 'no';
  return `${s.status}${s.stopReason ? `: ${s.stopReason}` : ''}`;
}

function dAccCell(s: ConfigSummary): string {
  if (!s.dAcc) return '-';
  const where = s.dAcc.paperIteration ? '9,000' : `${s.dAcc.iteration.toLocaleString('en')} (last)`;
  return `${fixed(s.dAcc.value, 2)} at ${where}; mean of last ${s.dAcc.window}: ${fixed(s.dAcc.mean, 3)}`;
}

function tableBlock(summaries: readonly ConfigSummary[]): Block {
  const header = [
    'config',
    'network',
    'learning rate',
    'batch',
    'activation',
    'iterations run',
    'D accuracy (paper\'s metric)',
    'FID (floor)',
    'KID x10^3 ± std (floor)',
    'two-sample accuracy [95% CI] (floor)',
    'ms / iteration',
    'stopped early',
  ];
  const rows = summaries.map((s) => {
    const c = s.config;
    const q = s.quality?.quality;
    return [
      s.name,
      `${c.architecture} ${c.resolution}x${c.resolution}`,
      lr(c.learningRate),
      String(c.batchSize),
      c.architecture === 'mlp' ? (c.activation === 'leakyrelu' ? `LeakyReLU(${c.leakyAlpha})` : 'ReLU') : `G ${c.activation === 'leakyrelu' ? 'LeakyReLU' : 'ReLU'}, D LeakyReLU`,
      `${s.iteration.toLocaleString('en')} / ${s.iterations.toLocaleString('en')}`,
      dAccCell(s),
      q ? `${sig(q.fid)} (${sig(q.fidFloor)})` : 'not evaluated',
      q ? `${kid3(q.kid)} ± ${kid3(q.kidStd)} (${kid3(q.kidFloor)} ± ${kid3(q.kidFloorStd)})` : '-',
      q ? `${fixed(q.twoSampleAccuracy, 3)} [${fixed(q.twoSampleInterval.low, 2)}, ${fixed(q.twoSampleInterval.high, 2)}] (${fixed(q.twoSampleFloor, 3)})` : '-',
      fixed(s.msPerIteration, 1),
      stoppedEarly(s),
    ];
  });
  return {
    kind: 'table',
    header,
    rows,
    caption:
      'FID and KID: lower is better; two-sample accuracy: 0.5 means a classifier cannot tell generated from real faces, 1.0 that it always can. ' +
      'In brackets, the real-vs-real floor: the same metric between two disjoint halves of the held-out real faces, at the same set size, i.e. what a perfect generator would score. ' +
      'D accuracy is the discriminator\'s accuracy on one batch at that iteration (as the paper reports it) and its mean over the iterations before; it measures the discriminator, not the faces.',
  };
}

function scaleBlock(data: Table1ReportData): Block {
  const s = data.summaries;
  const resolutions = distinct(s.map((x) => `${x.config.resolution}x${x.config.resolution}`)).join(', ');
  const iterations = distinct(s.map((x) => x.iterations.toLocaleString('en'))).join(', ');
  const engines = distinct(s.map((x) => x.engine)).join('; ');
  return {
    kind: 'table',
    header: ['', 'the paper', 'this run'],
    rows: [
      [
        'training images',
        PAPER.images.toLocaleString('en'),
        `${data.split.trainFiles.length.toLocaleString('en')} (${data.options.limit > 0 ? 'a random subset' : 'all'} of the ${(data.split.total - data.split.heldOutFiles.length).toLocaleString('en')} images not held out, of ${data.split.total.toLocaleString('en')})`,
      ],
      ['held-out images', 'none', `${data.split.heldOutFiles.length.toLocaleString('en')} (never trained on; the evaluation's real faces)`],
      ['resolution', PAPER.resolution, resolutions],
      ['iterations per configuration', PAPER.iterations, iterations],
      ['hardware / backend', PAPER.hardware, `${engines} (TensorFlow.js 4.22)`],
      ['quality measure', 'D accuracy and looking at samples', `FID, KID, classifier two-sample test on ${data.featureNetwork} features, each with its real-vs-real floor (${data.evalCount} generated vs ${data.evalCount} real faces)`],
    ],
  };
}

async function figureBlock(data: Table1ReportData): Promise<Block[]> {
  const images: ReportImage[] = [];
  for (const s of data.summaries) {
    if (!s.figure) continue;
    const late = s.figure.iteration !== data.figureIteration ? ` (its last grid: it stopped at ${s.iteration})` : '';
    images.push({
      file: `figure2-${s.name}.png`,
      alt: `${s.name} samples at iteration ${s.figure.iteration}`,
      caption: `${s.name}: iteration ${s.figure.iteration.toLocaleString('en')}${late}`,
      png: await readFile(s.figure.file),
    });
  }
  const noise = distinct(data.summaries.map((s) => `${s.config.seed}/${s.config.latentDim}/${s.config.sampleCount}`));
  const sameNoise =
    noise.length === 1
      ? `Every configuration uses seed ${data.summaries[0]?.config.seed} and a ${data.summaries[0]?.config.latentDim}-d latent space, so every grid shows the generator's output for the same ${data.summaries[0]?.config.sampleCount} noise vectors.`
      : `The configurations differ in seed, latent size or grid size (${noise.join(', ')} as seed/latent/count), so their grids do not share noise vectors.`;
  const when = data.figureIteration === PAPER_REPORT_ITERATION ? 'iteration 9,000, as the paper\'s Figure 2' : `iteration ${data.figureIteration.toLocaleString('en')}, the end of these runs (the paper showed 9,000)`;
  return [
    { kind: 'heading', level: 2, text: 'Figure 2: samples' },
    { kind: 'paragraph', text: `One fixed-noise sample grid per configuration at ${when}. ${sameNoise}` },
    images.length ? { kind: 'images', images } : { kind: 'paragraph', text: 'No sample grids were written.' },
  ];
}

function curveBlocks(data: Table1ReportData): Block[] {
  const images: ReportImage[] = [];
  for (const s of data.summaries) {
    const m = s.metrics;
    if (!m.length) continue;
    const xs = m.map((r) => r.iteration);
    const series = (values: number[], name: string, dashed = false): ChartSeries => ({ name, points: smoothSeries(xs, values), dashed });
    images.push({
      file: `${s.name}-loss.svg`,
      alt: `${s.name} losses`,
      svg: lineChartSvg({
        title: `${s.name}: losses (smoothed)`,
        width: CHART_WIDTH,
        xLabel: 'iteration',
        yLabel: 'binary cross-entropy',
        series: [series(m.map((r) => (r.dLossReal + r.dLossFake) / 2), 'D loss'), series(m.map((r) => r.gLoss), 'G loss')],
      }),
    });
    images.push({
      file: `${s.name}-accuracy.svg`,
      alt: `${s.name} discriminator accuracy`,
      svg: lineChartSvg({
        title: `${s.name}: D accuracy (smoothed)`,
        width: CHART_WIDTH,
        xLabel: 'iteration',
        yLabel: 'accuracy',
        yMin: 0,
        yMax: 1,
        guides: [{ y: 0.5, label: 'chance' }],
        series: [series(m.map((r) => r.dAcc), 'D accuracy'), series(m.map((r) => r.dAccReal), 'on real', true), series(m.map((r) => r.dAccFake), 'on fakes', true)],
      }),
    });
  }
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: 'Training curves' },
    {
      kind: 'paragraph',
      text: 'Per configuration: discriminator and generator loss, and discriminator accuracy (overall, on real, on generated images), each a moving average over about 2% of the run.',
    },
    { kind: 'images', images },
  ];
  const withFid = data.summaries.filter((s) => s.metrics.some((r) => r.fid !== undefined));
  if (withFid.length) {
    const fidSeries = withFid.map((s) => ({ name: s.name, points: s.metrics.filter((r) => r.fid !== undefined).map((r) => [r.iteration, r.fid!] as const) }));
    const floors = distinct(withFid.map((s) => s.metrics.find((r) => r.fidFloor !== undefined)?.fidFloor ?? NaN)).filter(Number.isFinite);
    blocks.push({
      kind: 'images',
      images: [
        {
          file: 'fid-during-training.svg',
          alt: 'FID during training',
          svg: lineChartSvg({
            title: 'FID on face descriptors during training',
            xLabel: 'iteration',
            yLabel: 'FID',
            series: fidSeries,
            guides: floors.length === 1 ? [{ y: floors[0]!, label: 'real-vs-real floor' }] : [],
          }),
        },
      ],
    });
  }
  return blocks;
}

function conclusionBlocks(data: Table1ReportData): Block[] {
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: "The paper's conclusions, checked" },
    {
      kind: 'paragraph',
      text:
        'Judged on sample quality, not on D accuracy: one configuration clearly beats another when its FID is lower and its KID is lower by more than the two KID standard deviations added. ' +
        'A claim held when every comparison it rests on clearly went its way, did not hold when every one clearly went the other way, and is inconclusive otherwise.',
    },
  ];
  for (const c of data.conclusions) {
    blocks.push({ kind: 'heading', level: 3, text: `(${c.id}) ${c.claim}: ${c.verdict}` });
    blocks.push({ kind: 'list', items: c.evidence });
    if (c.note) blocks.push({ kind: 'paragraph', text: c.note });
  }
  const paper = data.summaries.filter((s) => s.name === 'model2' || s.name === 'model3');
  if (paper.length) {
    blocks.push({
      kind: 'paragraph',
      text:
        'The paper judged models 2 and 3 best, "echoed by their accuracy scores of 0.78 and 0.80 after nine-thousand epochs". Here: ' +
        paper.map((s) => `${s.name} D accuracy ${s.dAcc ? `${fixed(s.dAcc.value, 2)} (mean ${fixed(s.dAcc.mean, 3)}) at ${s.dAcc.iteration.toLocaleString('en')}` : 'not measured'}`).join('; ') +
        '. A discriminator that is right more often says little about the faces: it rises just as much when the generator collapses.',
    });
  }
  return blocks;
}

function caveatBlocks(data: Table1ReportData): Block[] {
  const reachedFloor = data.summaries.filter((s) => s.quality && s.quality.quality.twoSampleInterval.low <= 0.5);
  const allFar = data.summaries.every((s) => s.quality && s.quality.quality.twoSampleAccuracy >= 0.95);
  const items = [
    `Features: ${data.featureNetwork}. These are not Inception features: the numbers are not comparable with published FIDs, only with each other and with the floor.`,
    `FID on 128-d features is strongly biased at ${data.evalCount} faces per set; every FID here and its floor use the same set sizes. KID is unbiased; its std is over 100 random subsets of half the set.`,
    `Held-out faces: ${data.split.heldOutFiles.length} images chosen at random (seed ${data.seed}) and never trained on; the ${data.split.trainFiles.length} training images are a random subset of the rest (the paper trained on all 9,780; a split by sorted name would skew ages, as UTKFace names start with the age).`,
    'One seed per configuration: differences between configurations include run-to-run noise that a single run cannot measure.',
  ];
  const smallest = Math.min(...data.summaries.map((s) => s.config.batchSize));
  if (data.split.trainFiles.length < 4 * smallest) {
    items.push(`Only ${data.split.trainFiles.length} training images for batches of up to ${Math.max(...data.summaries.map((s) => s.config.batchSize))}: batches repeat images (they are drawn with replacement, as in Keras-GAN).`);
  }
  if (data.summaries.some((s) => s.iterations < PAPER_REPORT_ITERATION)) {
    items.push(`These runs are far shorter than the paper's (${distinct(data.summaries.map((s) => s.iterations)).join(', ')} iterations vs 20,000): early GAN training says little about where a configuration ends up.`);
  }
  if (allFar) items.push('Every generator is told apart from real faces almost perfectly (two-sample accuracy >= 0.95): at this scale the comparisons are between poor generators.');
  else if (reachedFloor.length) items.push(`${reachedFloor.map((s) => s.name).join(', ')}: a classifier cannot tell these faces from real ones with 95% confidence.`);
  return [{ kind: 'heading', level: 2, text: 'Caveats' }, { kind: 'list', items }];
}

/** Builds the report's blocks. */
export async function table1ReportBlocks(data: Table1ReportData): Promise<Block[]> {
  const created = (data.createdAt ?? new Date()).toISOString().replace('T', ' ').slice(0, 16);
  const s = data.summaries;
  return [
    { kind: 'heading', level: 1, text: "The paper's Table 1, rerun and measured" },
    {
      kind: 'paragraph',
      text:
        `fakeface experiment table1, ${created} UTC: ${plural(s.length, 'configuration')} (${s.map((x) => x.name).join(', ')}) trained one after another on the same ` +
        `${data.split.trainFiles.length.toLocaleString('en')} face images with seed ${data.seed}, then each generator's faces measured against ${data.split.heldOutFiles.length.toLocaleString('en')} held-out real faces. ` +
        'Paper: "A Generative Adversarial Network (GAN) for the generation of deepfakes" (04/2022).',
    },
    { kind: 'heading', level: 2, text: 'Scale' },
    scaleBlock(data),
    { kind: 'heading', level: 2, text: 'Table 1, measured' },
    tableBlock(s),
    ...(await figureBlock(data)),
    ...curveBlocks(data),
    ...conclusionBlocks(data),
    ...caveatBlocks(data),
  ];
}

/** Writes OUT/report.md (+ OUT/report-files/) and the self-contained OUT/report.html. */
export async function writeTable1Report(outDir: string, data: Table1ReportData): Promise<{ html: string; md: string }> {
  return writeReport(outDir, await table1ReportBlocks(data), "fakeface: the paper's Table 1, rerun");
}
