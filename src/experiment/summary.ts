/**
 * What one configuration of an experiment measured, read back from its run
 * folder (config.json, state.json, metrics.jsonl, samples/) plus its quality
 * evaluation: the row of the report's Table 1 and the data of its curves.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainConfig } from '../config/index.js';
import type { GeneratorQuality } from '../eval/quality.js';
import { readMetrics, readRunState, runPaths, stepName, type MetricsRecord, type RunStatus } from '../train/run-folder.js';

/** The paper reports D accuracy and shows samples "after nine-thousand epochs" (iterations). */
export const PAPER_REPORT_ITERATION = 9000;

/** A quality evaluation of a run's generator, as stored in quality.json beside the run. */
export interface StoredQuality {
  format: 'fakeface-quality/1';
  /** Iteration of the checkpoint evaluated. */
  iteration: number;
  /** Generated faces (= real faces per half). */
  count: number;
  /** Seed of the generator's noise. */
  seed: number;
  /** Where the real faces came from. */
  reference: string;
  quality: GeneratorQuality;
}

export interface ConfigSummary {
  name: string;
  runDir: string;
  config: TrainConfig;
  status: RunStatus;
  stopReason: string | null;
  /** Iterations run. */
  iteration: number;
  /** Iterations planned. */
  iterations: number;
  engine: string;
  /** D accuracy at the reporting iteration: 9,000 as in the paper, or the last iteration of a shorter run. */
  dAcc: {
    iteration: number;
    /** True when `iteration` is the paper's 9,000. */
    paperIteration: boolean;
    /** dAcc of that one batch, as the paper printed it. */
    value: number;
    /** Mean over `window` iterations ending there: one batch is noisy. */
    mean: number;
    window: number;
  } | null;
  /** Median wall time of an iteration (evaluations excluded). */
  msPerIteration: number;
  quality: StoredQuality | null;
  /** The fixed-noise sample grid at the figure's iteration, or the last one before it. */
  figure: { file: string; iteration: number } | null;
  metrics: MetricsRecord[];
}

/** Where the D accuracy and the figure are read: 9,000, or the end of a shorter run. */
export function reportIteration(iterations: number): number {
  return Math.min(PAPER_REPORT_ITERATION, iterations);
}

function median(values: number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The newest sample grid at or before `iteration`. */
async function sampleAtOrBefore(runDir: string, iteration: number): Promise<{ file: string; iteration: number } | null> {
  const dir = runPaths(runDir).samples;
  const exact = join(dir, `${stepName(iteration)}.png`);
  if (existsSync(exact)) return { file: exact, iteration };
  if (!existsSync(dir)) return null;
  const steps = (await readdir(dir))
    .map((name) => /^step_(\d+)\.png$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((step) => step <= iteration)
    .sort((a, b) => a - b);
  const last = steps[steps.length - 1];
  return last === undefined ? null : { file: join(dir, `${stepName(last)}.png`), iteration: last };
}

export async function readStoredQuality(runDir: string): Promise<StoredQuality | null> {
  try {
    const stored = JSON.parse(await readFile(join(runDir, 'quality.json'), 'utf8')) as StoredQuality;
    return stored.format === 'fakeface-quality/1' ? stored : null;
  } catch {
    return null;
  }
}

/** Reads a finished (or stopped) configuration's run folder into its summary. */
export async function summarizeRun(name: string, runDir: string, figureIteration: number): Promise<ConfigSummary> {
  const config = JSON.parse(await readFile(runPaths(runDir).config, 'utf8')) as TrainConfig;
  const state = await readRunState(runDir);
  const metrics = await readMetrics(runDir);
  const last = metrics[metrics.length - 1];
  const iteration = state?.iteration ?? last?.iteration ?? 0;
  const target = Math.min(reportIteration(config.iterations), iteration);
  let dAcc: ConfigSummary['dAcc'] = null;
  const atTarget = metrics.findIndex((m) => m.iteration === target);
  if (atTarget >= 0) {
    // a tenth of the run, at least 10 and at most 100 iterations
    const window = Math.min(100, Math.max(10, Math.round(target / 10)), atTarget + 1);
    const slice = metrics.slice(atTarget + 1 - window, atTarget + 1);
    dAcc = {
      iteration: target,
      paperIteration: target === PAPER_REPORT_ITERATION,
      value: metrics[atTarget]!.dAcc,
      mean: slice.reduce((sum, m) => sum + m.dAcc, 0) / slice.length,
      window,
    };
  }
  return {
    name,
    runDir,
    config,
    status: state?.status ?? 'failed',
    stopReason: state?.stopReason ?? null,
    iteration,
    iterations: config.iterations,
    engine: state?.engine ?? 'unknown',
    dAcc,
    msPerIteration: median(metrics.map((m) => m.ms)),
    quality: await readStoredQuality(runDir),
    figure: await sampleAtOrBefore(runDir, figureIteration),
    metrics,
  };
}
