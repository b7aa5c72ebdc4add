import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { latestCheckpointDir } from '../train/checkpoint.js';
import { isRunFolder, listRunFolders, readMetrics, readRunState, runPaths } from '../train/run-folder.js';
import type { ExperimentReport, MetricsPoint, RunDetail, RunSummary, SampleGrid } from './api-types.js';
import { HttpError } from './http-error.js';
import { RUN_ID_PATTERN } from './options.js';

/** Through npx: a project that installed fakeface as a dependency has no `fakeface` on its PATH. */
export const TRAIN_COMMAND = 'npx fakeface train --data DIR --preset tiny --out runs/tiny';

/** Most metrics lines a run's detail carries; longer runs are thinned evenly. */
export const MAX_METRICS_POINTS = 2000;

/** Where runs live: the runs folder, and each experiment's runs/ folder. */
export interface RunRoots {
  runsDir: string;
  experimentsDir: string;
}

/** A run: its id in URLs, its folder, and the experiment it belongs to (if any). */
export interface RunRef {
  id: string;
  dir: string;
  experiment: string | null;
}

const validName = (name: string) => name.length <= 200 && RUN_ID_PATTERN.test(name) && name !== '.' && name !== '..';

/**
 * A run id from a URL or a body: a plain folder name of the runs folder
 * (`tiny`), or `<experiment>:<run>` for a run of experiments/<experiment>/runs/.
 * Each name must match ^[A-Za-z0-9._-]+$ and not be `.` or `..`: never a path.
 */
export function checkRunId(id: unknown, what = 'run id'): string {
  if (id === undefined || id === '') throw new HttpError(400, `${what} is missing`);
  if (typeof id !== 'string') throw new HttpError(400, `${what} must be a string, not ${JSON.stringify(id)?.slice(0, 40)}`);
  const parts = id.split(':');
  if (parts.length > 2 || !parts.every(validName)) {
    throw new HttpError(400, `invalid ${what} "${id.slice(0, 80)}"`, 'a run id is a folder name made of letters, digits, ".", "_" and "-" (or experiment:run)');
  }
  return id;
}

/** The run `id` names; 400 for a bad id, 404 when there is no such run. */
export function resolveRun(roots: RunRoots, id: unknown): RunRef {
  const name = checkRunId(id);
  const [first, second] = name.split(':') as [string, string | undefined];
  const ref: RunRef = second === undefined ? { id: name, dir: join(roots.runsDir, first), experiment: null } : { id: name, dir: join(roots.experimentsDir, first, 'runs', second), experiment: first };
  if (!isRunFolder(ref.dir)) {
    const where = ref.experiment ? `experiment "${ref.experiment}"` : roots.runsDir;
    throw new HttpError(404, `no run "${name}" in ${where}`, 'list the runs with GET /api/runs (or: fakeface runs)');
  }
  return ref;
}

const SAMPLE_FILE = /^step_(\d+)\.png$/;

export async function listSamples(dir: string, id: string): Promise<SampleGrid[]> {
  let names: string[];
  try {
    names = await readdir(runPaths(dir).samples);
  } catch {
    return [];
  }
  return names
    .map((name) => SAMPLE_FILE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ iteration: Number(m[1]), url: sampleUrl(id, m[0]) }))
    .sort((a, b) => a.iteration - b.iteration);
}

export const sampleUrl = (id: string, file: string) => `/api/runs/${encodeURIComponent(id)}/samples/${file}`;

async function readConfig(dir: string): Promise<Record<string, unknown> | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(runPaths(dir).config, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function mtime(file: string): Promise<string | null> {
  try {
    return (await stat(file)).mtime.toISOString();
  } catch {
    return null;
  }
}

export async function runSummary(run: RunRef, metrics?: MetricsPoint[]): Promise<RunSummary & { config: Record<string, unknown> | null; metricsAll: MetricsPoint[]; samples: SampleGrid[] }> {
  const { id, dir } = run;
  const [state, config, samples, checkpoint] = await Promise.all([readRunState(dir), readConfig(dir), listSamples(dir, id), latestCheckpointDir(dir)]);
  const all = (metrics ?? ((await readMetrics(dir)) as unknown as MetricsPoint[])).filter(isMetricsPoint);
  const last = all[all.length - 1] ?? null;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    id,
    experiment: run.experiment,
    status: state?.status ?? 'unknown',
    // state.json is written when a run starts and ends; metrics.jsonl has every iteration.
    iteration: Math.max(state?.iteration ?? 0, last?.iteration ?? 0),
    iterations: state?.iterations ?? num(config?.['iterations']) ?? 0,
    updatedAt: state?.updatedAt ?? null,
    lastActivityAt: (await mtime(runPaths(dir).metrics)) ?? state?.updatedAt ?? null,
    stopReason: state?.stopReason ?? null,
    engine: state?.engine ?? null,
    preset: str(config?.['preset']),
    architecture: str(config?.['architecture']),
    resolution: num(config?.['resolution']),
    hasCheckpoint: checkpoint !== null,
    conditional: config?.['conditional'] === true,
    last,
    latestSample: samples.length ? samples[samples.length - 1]!.url : null,
    config,
    metricsAll: all,
    samples,
  };
}

function isMetricsPoint(value: unknown): value is MetricsPoint {
  return typeof value === 'object' && value !== null && typeof (value as MetricsPoint).iteration === 'number';
}

/** Every `stride`-th line, always with the last one. */
export function thinMetrics(metrics: MetricsPoint[], maxPoints = MAX_METRICS_POINTS): MetricsPoint[] {
  if (metrics.length <= maxPoints) return metrics;
  const stride = Math.ceil(metrics.length / maxPoints);
  const out = metrics.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== metrics[metrics.length - 1]) out.push(metrics[metrics.length - 1]!);
  return out;
}

export async function runDetail(run: RunRef, metrics?: MetricsPoint[]): Promise<RunDetail> {
  const { metricsAll, ...summary } = await runSummary(run, metrics);
  return { ...summary, metrics: thinMetrics(metricsAll), metricsTotal: metricsAll.length };
}

/** Runs of the runs folder, then of every experiment, most recently active first. */
export async function listRuns(roots: RunRoots): Promise<RunSummary[]> {
  const refs: RunRef[] = (await listRunFolders(roots.runsDir)).map((dir) => ({ id: basename(dir), dir, experiment: null }));
  if (existsSync(roots.experimentsDir)) {
    for (const entry of await readdir(roots.experimentsDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      for (const dir of await listRunFolders(join(roots.experimentsDir, entry.name, 'runs'))) {
        refs.push({ id: `${entry.name}:${basename(dir)}`, dir, experiment: entry.name });
      }
    }
  }
  const runs = await Promise.all(
    refs.filter((ref) => ref.id.split(':').every(validName)).map(async (ref) => {
      const { metricsAll: _m, config: _c, samples: _s, ...summary } = await runSummary(ref);
      return summary;
    }),
  );
  return runs.sort((a, b) => (b.lastActivityAt ?? '').localeCompare(a.lastActivityAt ?? '') || a.id.localeCompare(b.id));
}

/** The run the Generate page starts with: the most recently active one that has a checkpoint. */
export function defaultRun(runs: RunSummary[]): string | null {
  return runs.find((r) => r.hasCheckpoint)?.id ?? null;
}

/** experiments/<id>/report.html files, with the page title when it has one. */
export async function listExperiments(experimentsDir: string): Promise<ExperimentReport[]> {
  if (!existsSync(experimentsDir)) return [];
  const entries = await readdir(experimentsDir, { withFileTypes: true });
  const reports: ExperimentReport[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !validName(entry.name)) continue;
    const file = join(experimentsDir, entry.name, 'report.html');
    if (!existsSync(file)) continue;
    let title = entry.name;
    try {
      const head = (await readFile(file, 'utf8')).slice(0, 4096);
      const match = /<title>([^<]{1,200})<\/title>/i.exec(head);
      if (match) title = match[1]!.trim();
    } catch {
      // Unreadable: still listed, by folder name.
    }
    reports.push({ id: entry.name, title, url: `/experiments/${encodeURIComponent(entry.name)}/report.html` });
  }
  return reports.sort((a, b) => a.id.localeCompare(b.id));
}
