/**
 * The paper's experiment as one call: train Table 1's six configurations and
 * its CNN (and the DCGAN if asked) on one dataset, one after another, then
 * measure each generator against held-out faces and write the report.
 *
 *   OUT/experiment.json     the settings every configuration shares (checked on rerun)
 *   OUT/data/train/         links to the training images (a seeded random split)
 *   OUT/data/held-out/      links to the held-out images (the evaluation's real faces)
 *   OUT/runs/<name>/        one ordinary run folder per configuration, + quality.json
 *   OUT/report.html         self-contained (images embedded)
 *   OUT/report.md           + OUT/report-files/ (PNG grids, SVG charts)
 *
 * Resumable: a finished configuration is skipped, an interrupted one resumes
 * from its newest checkpoint, evaluations are kept in quality.json. Every
 * configuration gets the same data, seed, and so the same fixed sample noise.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveConfig, type TrainConfig } from '../config/index.js';
import { writeFileAtomic } from '../data/index.js';
import { initEngine, type EngineInfo, type EngineOptions } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { createRunEvaluator, evaluateGenerator, FACE_FEATURE_NETWORK, loadReferenceFaces, type ReferenceFaces } from '../eval/quality.js';
import { modelSize } from '../models/index.js';
import { writeTable1Report } from '../report/table1.js';
import { loadRunModel } from '../train/checkpoint.js';
import { isRunFolder, readRunState, type RunStatus } from '../train/run-folder.js';
import { train, type TrainHooks } from '../train/train.js';
import { checkConclusions } from './conclusions.js';
import { prepareSplit, type DataSplit } from './split.js';
import { readStoredQuality, reportIteration, summarizeRun, type ConfigSummary, type StoredQuality } from './summary.js';

/** What `experiment table1` trains by default: the paper's six MLP configurations and its CNN. */
export const TABLE1_CONFIGS: readonly string[] = ['model1', 'model2', 'model3', 'model4', 'model5', 'model6', 'paper-cnn'];

export interface Table1Options {
  /** Folder of face images. */
  dataDir: string;
  /** Experiment folder (created, or continued). */
  outDir: string;
  /** Presets to train, in order. @default TABLE1_CONFIGS */
  configs?: readonly string[];
  /** Presets added after `configs` (e.g. dcgan64). */
  include?: readonly string[];
  /** Iterations of every configuration. @default each preset's (20,000, as the paper) */
  iterations?: number;
  /** Image side of every configuration. @default each preset's (120 for the paper's nets, 64 for dcgan64) */
  resolution?: number;
  /** Training images, drawn at random from those not held out; 0 = all of them. @default 0 */
  limit?: number;
  /** Generated faces per evaluation; twice as many real faces are held out. @default 500 */
  evalCount?: number;
  /** Seed of the split, weight init, batches, sample noise and evaluation. @default 42 */
  seed?: number;
  /** Also measure quality every N iterations during training (into metrics.jsonl). 0 = only at the end. @default 0 */
  evalEvery?: number;
  /** Stop a configuration when it has collapsed (see TrainConfig.earlyStopPatience). @default the preset's (off) */
  earlyStopPatience?: number;
  cacheDir?: string | false;
  engine?: EngineOptions;
}

export type ConfigAction = 'train' | 'resume' | 'skip';

export interface PlannedConfig {
  name: string;
  config: TrainConfig;
  runDir: string;
  action: ConfigAction;
  /** Why skipped, or from which iteration it resumes. */
  detail: string;
}

export interface Table1Plan {
  split: DataSplit;
  configs: PlannedConfig[];
  engine: EngineInfo;
  evalCount: number;
  figureIteration: number;
}

export interface Table1Hooks {
  onPlan?(plan: Table1Plan): void;
  onConfigStart?(config: PlannedConfig, index: number, total: number): void;
  /** Forwarded to every train() call. */
  train?: Omit<TrainHooks, 'shouldStop'>;
  onEvaluate?(name: string, count: number): void;
  onConfigDone?(summary: ConfigSummary): void;
  /** Polled every iteration: true stops the running configuration with a checkpoint, and the experiment. */
  shouldStop?(): boolean;
  warn?(message: string): void;
}

export interface Table1Result {
  status: 'finished' | 'interrupted';
  outDir: string;
  summaries: ConfigSummary[];
  /** Configurations whose training threw (the others still ran); a rerun tries them again. */
  failed: { name: string; message: string }[];
  /** Written when every configuration is done (or failed). */
  reportHtml: string | null;
  reportMd: string | null;
}

interface Manifest {
  format: 'fakeface-experiment/1';
  experiment: 'table1';
  dataDir: string;
  seed: number;
  evalCount: number;
  limit: number;
  resolution: number | null;
  createdAt: string;
}

/** Settings all configurations share; a rerun must repeat them (iterations may grow). */
const SHARED_KEYS = ['dataDir', 'seed', 'evalCount', 'limit', 'resolution'] as const;

async function checkManifest(outDir: string, wanted: Manifest): Promise<void> {
  const file = join(outDir, 'experiment.json');
  if (existsSync(file)) {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Manifest;
    for (const key of SHARED_KEYS) {
      if (stored[key] !== wanted[key]) {
        throw new UsageError(
          `${outDir} holds an experiment run with ${key} ${JSON.stringify(stored[key])}, not ${JSON.stringify(wanted[key])}`,
          'repeat the options it was started with (only --iterations, --configs and --include may change), or choose another --out',
        );
      }
    }
    return;
  }
  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(file, JSON.stringify(wanted, null, 2) + '\n');
}

/** Sample grids every tenth of a short run; every 500 iterations (the paper's interval, a divisor of 9,000) in a long one. */
function sampleEveryFor(iterations: number): number {
  return iterations >= 9000 ? 500 : Math.max(1, Math.ceil(iterations / 10));
}

function positiveInt(value: number, what: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new UsageError(`${what} must be an integer >= ${min}, not ${value}`);
  return value;
}

async function planConfig(name: string, outDir: string, options: Required<Pick<Table1Options, 'seed' | 'evalEvery'>> & Table1Options): Promise<PlannedConfig> {
  const preset = resolveConfig(name);
  const iterations = options.iterations ?? preset.iterations;
  const overrides: Record<string, unknown> = {
    iterations,
    resolution: options.resolution ?? preset.resolution,
    seed: options.seed,
    limit: 0, // the training folder already holds exactly the training split
    sampleEvery: sampleEveryFor(iterations),
    checkpointEvery: Math.min(500, Math.max(1, Math.ceil(iterations / 5))),
    keepCheckpoints: 1, // the paper's MLP at 120x120 writes ~1 GB per checkpoint
    evalEvery: options.evalEvery,
  };
  if (options.earlyStopPatience !== undefined) overrides['earlyStopPatience'] = options.earlyStopPatience;
  const config = resolveConfig(name, overrides) as TrainConfig;
  modelSize(config); // builds the conv nets once: a resolution they cannot take fails now, not hours in
  const runDir = join(outDir, 'runs', name);
  if (!isRunFolder(runDir)) return { name, config, runDir, action: 'train', detail: 'new' };
  const state = await readRunState(runDir);
  if (state?.status === 'stopped-early') return { name, config, runDir, action: 'skip', detail: `stopped early at iteration ${state.iteration}` };
  if (state?.status === 'finished' && state.iteration >= iterations) return { name, config, runDir, action: 'skip', detail: `finished ${state.iteration} iterations` };
  return { name, config, runDir, action: 'resume', detail: `${state?.status ?? 'unknown'} at iteration ${state?.iteration ?? 0}` };
}

/**
 * Runs (or continues) the Table 1 experiment and writes its report. Returns
 * 'interrupted' when hooks.shouldStop stopped a configuration; calling again
 * with the same options continues where it stopped.
 */
export async function runTable1(options: Table1Options, hooks: Table1Hooks = {}): Promise<Table1Result> {
  const outDir = resolve(options.outDir);
  const seed = positiveInt(options.seed ?? 42, 'seed', 0);
  const evalCount = positiveInt(options.evalCount ?? 500, 'eval count', 2);
  const limit = positiveInt(options.limit ?? 0, 'limit', 0);
  const evalEvery = positiveInt(options.evalEvery ?? 0, 'eval every', 0);
  if (options.iterations !== undefined) positiveInt(options.iterations, 'iterations');
  const names = [...(options.configs ?? TABLE1_CONFIGS), ...(options.include ?? [])].filter((n, i, all) => all.indexOf(n) === i);
  if (!names.length) throw new UsageError('no configuration to run', `choose from ${TABLE1_CONFIGS.join(', ')}, dcgan64`);
  for (const name of names) resolveConfig(name); // an unknown preset fails before anything is written

  await checkManifest(outDir, {
    format: 'fakeface-experiment/1',
    experiment: 'table1',
    dataDir: resolve(options.dataDir),
    seed,
    evalCount,
    limit,
    resolution: options.resolution ?? null,
    createdAt: new Date().toISOString(),
  });
  const split = await prepareSplit(options.dataDir, outDir, { heldOut: 2 * evalCount, limit, seed });
  const engine = await initEngine(options.engine);
  const configs: PlannedConfig[] = [];
  for (const name of names) configs.push(await planConfig(name, outDir, { ...options, seed, evalEvery }));
  const figureIteration = Math.min(...configs.map((c) => reportIteration(c.config.iterations)));
  hooks.onPlan?.({ split, configs, engine, evalCount, figureIteration });

  // One reference set per resolution, shared by every configuration (and by --eval-every).
  const references = new Map<number, Promise<ReferenceFaces>>();
  const referenceAt = (size: number): Promise<ReferenceFaces> => {
    let reference = references.get(size);
    if (!reference) {
      reference = loadReferenceFaces(split.heldOutDir, { size, count: 2 * evalCount, seed, warn: hooks.warn }).then((r) => ({
        ...r,
        source: `the ${r.count} held-out faces (${size}x${size}), split at random (seed ${seed}) from the ${split.total} images of ${split.sourceDir} and never trained on`,
      }));
      references.set(size, reference);
    }
    return reference;
  };

  const summaries: ConfigSummary[] = [];
  const failed: { name: string; message: string }[] = [];
  for (const [index, planned] of configs.entries()) {
    hooks.onConfigStart?.(planned, index, configs.length);
    if (planned.action !== 'skip') {
      let status: RunStatus;
      try {
        status = await trainConfig(planned, split, options, evalEvery > 0 ? await referenceAt(planned.config.resolution) : null, evalCount, hooks);
      } catch (error) {
        // One configuration failing (out of memory, say) should not cost the others: they run, the report says
        // which failed and why, and a rerun tries it again from its newest checkpoint.
        const message = error instanceof Error ? error.message : String(error);
        failed.push({ name: planned.name, message });
        hooks.warn?.(`${planned.name} failed: ${message}`);
        const summary = await summarizeFailedRun(planned, message, figureIteration);
        summaries.push(summary);
        hooks.onConfigDone?.(summary);
        continue;
      }
      if (status === 'interrupted') return { status: 'interrupted', outDir, summaries, failed, reportHtml: null, reportMd: null };
    }
    await evaluateRun(planned, evalCount, seed, referenceAt, hooks);
    const summary = await summarizeRun(planned.name, planned.runDir, figureIteration);
    summaries.push(summary);
    hooks.onConfigDone?.(summary);
  }

  const { html, md } = await writeTable1Report(outDir, {
    summaries,
    conclusions: checkConclusions(summaries),
    split,
    evalCount,
    seed,
    figureIteration,
    engine: engine.description,
    featureNetwork: FACE_FEATURE_NETWORK,
    options: { iterations: options.iterations ?? null, resolution: options.resolution ?? null, limit },
  });
  return { status: 'finished', outDir, summaries, failed, reportHtml: html, reportMd: md };
}

/** Trains (or resumes) one configuration into its run folder. */
async function trainConfig(
  planned: PlannedConfig,
  split: DataSplit,
  options: Table1Options,
  reference: ReferenceFaces | null,
  evalCount: number,
  hooks: Table1Hooks,
): Promise<RunStatus> {
  const { config } = planned;
  const result = await train(
    {
      dataDir: split.trainDir,
      outDir: planned.runDir,
      preset: planned.action === 'train' ? planned.name : undefined,
      overrides:
        planned.action === 'train'
          ? { ...config, preset: undefined }
          : { iterations: config.iterations, sampleEvery: config.sampleEvery, checkpointEvery: config.checkpointEvery, evalEvery: config.evalEvery },
      resume: planned.action === 'resume',
      cacheDir: options.cacheDir,
      engine: options.engine,
      evaluate: reference ? createRunEvaluator(config, split.heldOutDir, { count: evalCount, reference }) : undefined,
    },
    { ...hooks.train, shouldStop: () => hooks.shouldStop?.() ?? false },
  );
  return result.status;
}

/** The summary of a configuration whose training threw: what its folder holds, else what was planned. */
async function summarizeFailedRun(planned: PlannedConfig, message: string, figureIteration: number): Promise<ConfigSummary> {
  const base: ConfigSummary = isRunFolder(planned.runDir)
    ? await summarizeRun(planned.name, planned.runDir, figureIteration)
    : {
        name: planned.name,
        runDir: planned.runDir,
        config: planned.config,
        status: 'failed',
        stopReason: message,
        iteration: 0,
        iterations: planned.config.iterations,
        engine: 'unknown',
        dAcc: null,
        msPerIteration: NaN,
        quality: null,
        figure: null,
        metrics: [],
      };
  return { ...base, status: 'failed', stopReason: message, quality: null };
}

/** Measures the run's newest generator against the held-out faces, unless quality.json already holds that measurement. */
async function evaluateRun(
  planned: PlannedConfig,
  evalCount: number,
  seed: number,
  referenceAt: (size: number) => Promise<ReferenceFaces>,
  hooks: Table1Hooks,
): Promise<StoredQuality> {
  const state = await readRunState(planned.runDir);
  const stored = await readStoredQuality(planned.runDir);
  if (stored && stored.iteration === state?.iteration && stored.count === evalCount && stored.seed === seed) return stored;
  hooks.onEvaluate?.(planned.name, evalCount);
  const { model, config, iteration } = await loadRunModel(planned.runDir, 'generator');
  try {
    const reference = await referenceAt(config.resolution);
    const quality = await evaluateGenerator(model, config.latentDim, reference, { count: evalCount, seed });
    const result: StoredQuality = { format: 'fakeface-quality/1', iteration, count: evalCount, seed, reference: reference.source, quality };
    await writeFileAtomic(join(planned.runDir, 'quality.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    model.dispose();
  }
}
