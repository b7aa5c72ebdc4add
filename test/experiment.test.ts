import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../src/engine/index.js';
import { FACE_FEATURE_NETWORK } from '../src/eval/quality.js';
import { planSplit } from '../src/experiment/split.js';
import { runTable1, type ConfigAction, type Table1Options } from '../src/experiment/table1.js';
import { readMetrics, readRunState } from '../src/train/run-folder.js';
import { UTKFACE_DIR, UTKFACE_MISSING } from './helpers/data.js';

if (!UTKFACE_DIR) console.warn(`skipping experiment tests: ${UTKFACE_MISSING}`);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fakeface-experiment-'));
  await initEngine({ backend: (process.env.FAKEFACE_TEST_BACKEND as never) ?? 'auto' });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Two of Table 1's configurations, scaled down to seconds: 16x16, 100 training images, 12 faces per evaluation. */
const tiny = (name: string, extra: Partial<Table1Options> = {}): Table1Options => ({
  dataDir: UTKFACE_DIR!,
  outDir: join(work, name),
  configs: ['model1', 'model4'],
  iterations: 6,
  resolution: 16,
  limit: 100,
  evalCount: 12,
  cacheDir: join(work, 'cache'),
  ...extra,
});

describe.skipIf(!UTKFACE_DIR)('experiment table1 on a tiny setting', () => {
  it('splits the data at random into disjoint held-out and training sets', async () => {
    const split = await planSplit(UTKFACE_DIR!, { heldOut: 24, limit: 100, seed: 42 });
    expect(split.heldOutFiles).toHaveLength(24);
    expect(split.trainFiles).toHaveLength(100);
    expect(split.trainFiles.filter((f) => split.heldOutFiles.includes(f))).toEqual([]);
    // not the first names (UTKFace sorts by age): ages spread over the folder
    const ages = new Set(split.trainFiles.map((f) => Number(f.split('_')[0])));
    expect(ages.size).toBeGreaterThan(20);
    expect(await planSplit(UTKFACE_DIR!, { heldOut: 24, limit: 100, seed: 42 })).toEqual(split);
  });

  it('trains two configurations, evaluates them and writes report.html and report.md', async () => {
    const started: string[] = [];
    const result = await runTable1(tiny('e2e'), { onConfigStart: (c) => started.push(`${c.name}:${c.action}`) });
    expect(result.status).toBe('finished');
    expect(started).toEqual(['model1:train', 'model4:train']);
    const out = result.outDir;
    expect((await readdir(join(out, 'data', 'train'))).length).toBe(100);
    expect((await readdir(join(out, 'data', 'held-out'))).length).toBe(24);

    for (const s of result.summaries) {
      expect(s).toMatchObject({ status: 'finished', iteration: 6, iterations: 6 });
      expect(s.config).toMatchObject({ resolution: 16, iterations: 6, seed: 42, limit: 0, latentDim: 100 });
      expect(s.dAcc).toMatchObject({ iteration: 6, paperIteration: false });
      expect(s.figure).toEqual({ file: join(s.runDir, 'samples', 'step_000006.png'), iteration: 6 });
      expect(s.quality).toMatchObject({ iteration: 6, count: 12, seed: 42 });
      const q = s.quality!.quality;
      expect(q.featureNetwork).toBe(FACE_FEATURE_NETWORK);
      for (const v of [q.fid, q.kid, q.kidStd, q.twoSampleAccuracy, q.fidFloor, q.kidFloor, q.twoSampleFloor]) expect(Number.isFinite(v)).toBe(true);
      expect(s.msPerIteration).toBeGreaterThan(0);
    }
    const [model1, model4] = result.summaries;
    expect(model1!.config).toMatchObject({ learningRate: 1e-4, batchSize: 128, activation: 'leakyrelu' });
    expect(model4!.config).toMatchObject({ learningRate: 2e-4, batchSize: 128, activation: 'relu' });
    // one held-out set, one floor
    expect(model1!.quality!.quality.fidFloor).toBe(model4!.quality!.quality.fidFloor);

    const md = await readFile(result.reportMd!, 'utf8');
    expect(md).toContain('## Table 1, measured');
    expect(md).toMatch(/^\| model1 \| mlp 16x16 \| 1e-4 \| 128 \| LeakyReLU\(0\.2\) \| 6 \/ 6 \|/m);
    expect(md).toMatch(/^\| model4 \| mlp 16x16 \| 2e-4 \| 128 \| ReLU \| 6 \/ 6 \|/m);
    expect(md).toContain(FACE_FEATURE_NETWORK);
    expect(md).toContain('iteration 6, the end of these runs (the paper showed 9,000)');
    expect(md).toContain('![model1 samples at iteration 6](report-files/figure2-model1.png)');
    expect(md).toMatch(/### \(a\) learning rate 1e-4 beats 2e-4 \(models 1-3 vs 4-6\): (held|did not hold|inconclusive)/);
    expect(md).toContain('### (c) batch size 256 gives the best results among its peers (model2 among 1-3, model5 among 4-6): not tested');
    const files = (await readdir(join(out, 'report-files'))).sort();
    expect(files).toEqual(['figure2-model1.png', 'figure2-model4.png', 'model1-accuracy.svg', 'model1-loss.svg', 'model4-accuracy.svg', 'model4-loss.svg']);

    const html = await readFile(result.reportHtml!, 'utf8');
    expect(html.match(/src="data:image\/png;base64,/g)).toHaveLength(2);
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).not.toMatch(/src="(?!data:)/); // self-contained
    expect(html).toContain('<td>model4</td>');
    // each loss curve has one point per iteration
    const loss = await readFile(join(out, 'report-files', 'model1-loss.svg'), 'utf8');
    const counts = [...loss.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(counts).toEqual([6, 6]);

    // a rerun with everything done trains nothing and evaluates nothing
    const again: string[] = [];
    let evaluated = 0;
    const rerun = await runTable1(tiny('e2e'), { onConfigStart: (c) => again.push(c.action), onEvaluate: () => evaluated++ });
    expect(again).toEqual(['skip', 'skip']);
    expect(evaluated).toBe(0);
    expect(rerun.summaries.map((s) => s.quality!.quality.fid)).toEqual(result.summaries.map((s) => s.quality!.quality.fid));
  });

  it('resumes an interrupted experiment: the finished configuration is skipped, the interrupted one continues', async () => {
    // tiny first (cheap), then the paper's model1, interrupted after 3 of its 8 iterations
    const options = tiny('resume', { configs: ['tiny', 'model1'], iterations: 8 });
    let current = '';
    let calls = 0;
    const first = await runTable1(options, {
      onConfigStart: (c) => (current = c.name),
      shouldStop: () => current === 'model1' && ++calls === 3,
    });
    expect(first.status).toBe('interrupted');
    expect(first.reportHtml).toBeNull();
    expect(first.summaries.map((s) => s.name)).toEqual(['tiny']);
    expect(await readRunState(join(first.outDir, 'runs', 'model1'))).toMatchObject({ status: 'interrupted', iteration: 3 });
    expect(existsSync(join(first.outDir, 'runs', 'model1', 'quality.json'))).toBe(false);

    const actions: [string, ConfigAction, string][] = [];
    const second = await runTable1(options, { onConfigStart: (c) => actions.push([c.name, c.action, c.detail]) });
    expect(second.status).toBe('finished');
    expect(actions).toEqual([
      ['tiny', 'skip', 'finished 8 iterations'],
      ['model1', 'resume', 'interrupted at iteration 3'],
    ]);
    const metrics = await readMetrics(join(second.outDir, 'runs', 'model1'));
    expect(metrics.map((m) => m.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(second.summaries.map((s) => [s.name, s.status, s.iteration])).toEqual([
      ['tiny', 'finished', 8],
      ['model1', 'finished', 8],
    ]);
    // the two grids do not share noise vectors (tiny's latent space is 32-d): the report says so
    expect(await readFile(second.reportMd!, 'utf8')).toContain('so their grids do not share noise vectors');
    expect(existsSync(second.reportHtml!)).toBe(true);
  });

  it('reports a configuration that fails, runs the others, and retries it on a rerun', async () => {
    const options = tiny('failure', { configs: ['tiny', 'model1'], iterations: 3, resolution: 8 });
    let current = '';
    const first = await runTable1(options, {
      onConfigStart: (c) => (current = c.name),
      train: {
        onIteration: (r) => {
          if (current === 'tiny' && r.iteration === 2) throw new Error('out of memory (simulated)');
        },
      },
    });
    expect(first.status).toBe('finished');
    expect(first.failed).toEqual([{ name: 'tiny', message: 'out of memory (simulated)' }]);
    expect(first.summaries.map((s) => [s.name, s.status, s.quality === null])).toEqual([
      ['tiny', 'failed', true],
      ['model1', 'finished', false],
    ]);
    expect(await readFile(first.reportMd!, 'utf8')).toMatch(/^\| tiny \|.*\| failed: out of memory \(simulated\) \|$/m);

    const actions: string[] = [];
    const second = await runTable1(options, { onConfigStart: (c) => actions.push(`${c.name}:${c.action}:${c.detail}`) });
    expect(actions).toEqual(['tiny:resume:failed at iteration 2', 'model1:skip:finished 3 iterations']);
    expect(second.failed).toEqual([]);
    expect(second.summaries.map((s) => [s.name, s.status, s.iteration])).toEqual([
      ['tiny', 'finished', 3],
      ['model1', 'finished', 3],
    ]);
  });

  it('refuses to continue an experiment with other shared settings', async () => {
    await expect(runTable1(tiny('e2e', { evalCount: 10 }))).rejects.toThrow(/holds an experiment run with evalCount 12, not 10/);
  });
});
