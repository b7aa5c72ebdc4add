/**
 * `fakeface train --backend webgpu` end to end, through the real CLI, on whatever WebGPU
 * adapter Dawn finds (in CI: Mesa's software GPU, see scripts/software-gpu.sh).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLineError, runCli } from './helpers/cli.js';
import { UTKFACE_DIR } from './helpers/data.js';
import { probeWebGpu, softwareGpuEnv } from './helpers/gpu.js';

const gpu = probeWebGpu();
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fakeface-webgpu-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('--backend webgpu', () => {
  it('is offered by train only; the other commands say so in one line', async () => {
    expect((await runCli(['train', '--help'])).stdout).toMatch(/--backend <name>.*webgpu/s);
    expectOneLineError(await runCli(['generate', '--backend', 'webgpu', '-n', '1', '--out', join(work, 'g.png')]), /unknown backend "webgpu"/);
    expect(existsSync(join(work, 'g.png'))).toBe(false);
  }, 120_000);

  (UTKFACE_DIR && gpu.ok ? it : it.skip)(`trains, samples, checkpoints and resumes on the GPU backend (${gpu.note})`, async () => {
    const run = join(work, 'run');
    const args = ['train', '--data', UTKFACE_DIR!, '--preset', 'tiny', '--limit', '64', '--batch-size', '16', '--sample-every', '2', '--cache-dir', join(work, 'cache'), '--out', run, '--backend', 'webgpu'];
    const first = await runCli([...args, '--iterations', '2'], softwareGpuEnv());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr + first.stdout).toMatch(/engine webgpu \(/);
    const resumed = await runCli([...args, '--iterations', '4', '--resume'], softwareGpuEnv());
    expect(resumed.code, resumed.stderr).toBe(0);
    const metrics = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { iteration: number; gLoss: number });
    expect(metrics.map((m) => m.iteration)).toEqual([1, 2, 3, 4]);
    expect(metrics.every((m) => Number.isFinite(m.gLoss))).toBe(true);
    expect(existsSync(join(run, 'samples', 'step_000004.png'))).toBe(true);
    expect(JSON.parse(await readFile(join(run, 'state.json'), 'utf8'))).toMatchObject({ status: 'finished', iteration: 4 });
  }, 600_000);
});
