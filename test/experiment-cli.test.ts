import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_FEATURE_NETWORK, QUALITY_METRIC_KEYS } from '../src/eval/quality.js';
import { readMetrics } from '../src/train/run-folder.js';
import { runCli } from './helpers/cli.js';
import { UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

if (!UTKFACE_DIR) console.warn(`skipping experiment CLI tests: ${UTKFACE_MISSING}`);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fakeface-experiment-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!UTKFACE_DIR)('quality and experiment commands', () => {
  const env = () => ({ FAKEFACE_CACHE_DIR: join(work, 'cache') });

  it('train --eval-every writes FID, KID and two-sample accuracy into metrics.jsonl; eval measures the run', async () => {
    const run = join(work, 'tiny');
    const trained = await runCli(
      ['train', '--data', UTKFACE_DIR!, '--preset', 'tiny', '--out', run, '--iterations', '4', '--batch-size', '8', '--limit', '60', '--eval-every', '2', '--eval-count', '6'],
      env(),
    );
    expect(trained.stderr).toContain(`features: ${FACE_FEATURE_NETWORK}`);
    expect(trained.code).toBe(0);
    const metrics = await readMetrics(run);
    expect(metrics.map((m) => QUALITY_METRIC_KEYS.every((k) => Number.isFinite(m[k])))).toEqual([false, true, false, true]);

    const json = await runCli(['eval', '--run', run, '--data', UTKFACE_DIR!, '--count', '6', '--json'], env());
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ run, preset: 'tiny', iteration: 4, resolution: 32, count: 6, featureNetwork: FACE_FEATURE_NETWORK });
    for (const key of QUALITY_METRIC_KEYS) expect(Number.isFinite(result[key])).toBe(true);

    const table = await runCli(['eval', '--run', run, '--data', UTKFACE_DIR!, '--count', '6'], env());
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`features: ${FACE_FEATURE_NETWORK}`);
    expect(table.stdout).toMatch(/^metric +generated +real-vs-real floor$/m);
    expect(table.stdout).toMatch(/^FID \(lower is better\) +[\d.]+ +[\d.]+$/m);
    expect(table.stdout).toMatch(/^KID x10\^3 ± std +-?[\d.]+ ± [\d.]+ +-?[\d.]+ ± [\d.]+$/m);
    expect(table.stdout).toMatch(/^two-sample accuracy \(0\.5 = indistinguishable\) +[\d.]+ \[[\d.]+, [\d.]+\] +[\d.]+ \[[\d.]+, [\d.]+\]$/m);

    const missing = await runCli(['eval', '--run', join(work, 'nope'), '--data', UTKFACE_DIR!], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^fakeface: run folder not found: /m);
  });

  it('experiment table1 trains, measures and reports; a rerun skips what is done', async () => {
    const out = join(work, 'table1');
    const args = ['experiment', 'table1', '--data', UTKFACE_DIR!, '--out', out, '--configs', 'model1', '--iterations', '3', '--resolution', '16', '--limit', '50', '--eval-count', '6'];
    const first = await runCli(args, env());
    expect(first.stderr).toContain('[1/1] model1: training');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^config +iterations +D acc +FID \(floor\)/m);
    expect(first.stdout).toMatch(/^model1 +3 +[\d.]+ +[\d.]+ \([\d.]+\)/m);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(existsSync(join(out, 'report.md'))).toBe(true);

    const second = await runCli(args, env());
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('[1/1] model1: skipped, finished 3 iterations');
    expect(second.stderr).not.toContain('measuring');

    const bad = await runCli(['experiment', 'table1', '--data', UTKFACE_DIR!, '--out', join(work, 'bad'), '--configs', 'model9'], env());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^fakeface: unknown preset "model9"/m);
  });
});
