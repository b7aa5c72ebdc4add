import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCpuFacts, type CpuFacts } from './cpu-features.js';
import { loadNativeAddon } from './native.js';
import { decideOpenBlasCore, openBlasCoreStatus, SGEMM_TOLERANCE } from './openblas-setup.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADDON = join(ROOT, 'native', 'build', 'Release', 'fakeface_blas.node');
const built = loadNativeAddon() !== null;
if (!built) console.warn('native BLAS addon not built (run `npm run build:native` with libopenblas-dev): skipping the OpenBLAS core checks');
const here = readCpuFacts();
const hasAvx2 = Boolean(here?.flags.has('avx2') && here.flags.has('fma'));
const hasAvx512 = Boolean(here?.flags.has('avx512vl'));

/** This CPU's flags under another CPU's identity: what OpenBLAS' table sees is faked, the kernels run for real. */
function disguised(vendor: CpuFacts['vendor'], family: number, model: number, flags: string[]): CpuFacts {
  return { vendor, family, model, flags: new Set(flags), modelName: 'disguised' };
}

/** `fakeface engine --json` in a child process with extra environment. */
function engineJson(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'engine', '--json', '--seconds', '0'], {
    cwd: ROOT,
    env: { ...process.env, FAKEFACE_OPENBLAS_CORE: '', ...env },
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { blas: string; core: { core: string; action: string; check: { maxError: number; ok: boolean }; notes: string[] } };
}

describe.skipIf(!built)('OpenBLAS core in use', () => {
  it('computes sgemm equal to a JS reference within 1e-5', () => {
    const status = openBlasCoreStatus();
    expect(status?.check?.ok).toBe(true);
    expect(status!.check!.maxError).toBeLessThanOrEqual(SGEMM_TOLERANCE);
    expect(loadNativeAddon()!.blasInfo()).toContain(`core ${status!.core};`);
  });

  it('reports a core forced with OPENBLAS_CORETYPE=Prescott as the user\'s, and checks it', () => {
    const report = engineJson({ OPENBLAS_CORETYPE: 'Prescott' });
    expect(report.blas).toContain('core Prescott;');
    expect(report.core).toMatchObject({ core: 'Prescott', action: 'user', check: { ok: true } });
    expect(report.core.check.maxError).toBeLessThanOrEqual(SGEMM_TOLERANCE);
  }, 60_000);

  it.skipIf(!hasAvx2)('forces Haswell where the table says OpenBLAS falls back to Prescott, after a child check', () => {
    const env: NodeJS.ProcessEnv = {};
    const status = decideOpenBlasCore(ADDON, { env, cpu: disguised('intel', 6, 0xb7, ['avx', 'fma', 'avx2']) });
    expect(status).toMatchObject({ core: 'Haswell', action: 'force', predicted: 'Prescott', notes: [] });
    expect(env.OPENBLAS_CORETYPE).toBe('Haswell');
    // A child process inherits the decision: same core, no second probe, not taken for the user's.
    const child = engineJson({ OPENBLAS_CORETYPE: 'Haswell', FAKEFACE_OPENBLAS_CORE: env.FAKEFACE_OPENBLAS_CORE! });
    expect(child.blas).toContain('core Haswell;');
    expect(child.core).toMatchObject({ core: 'Haswell', action: 'force', check: { ok: true } });
  }, 60_000);

  it.skipIf(!here || hasAvx512)('falls back to OpenBLAS\' own core with a note where the forced one fails its check', () => {
    const env: NodeJS.ProcessEnv = {};
    // AVX-512 flags this CPU does not have: SkylakeX kernels die of SIGILL in the probe.
    const flags = ['avx', 'fma', 'avx2', 'avx512f', 'avx512dq', 'avx512bw', 'avx512vl'];
    const status = decideOpenBlasCore(ADDON, { env, cpu: disguised('intel', 6, 0xcf, flags) });
    expect(status).toMatchObject({ core: 'Prescott', action: 'keep' });
    expect(status.notes).toHaveLength(1);
    expect(status.notes[0]).toMatch(/^SkylakeX failed its sgemm check in a child process \(killed by SIGILL/);
    expect(env.OPENBLAS_CORETYPE).toBeUndefined();
    // The user's own impossible choice is checked the same way, and dropped.
    const user: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'SkylakeX' };
    const fallback = decideOpenBlasCore(ADDON, { env: user, cpu: here });
    expect(fallback).toMatchObject({ action: 'keep' });
    expect(fallback.notes[0]).toMatch(/^OPENBLAS_CORETYPE=SkylakeX failed its sgemm check/);
    expect(user.OPENBLAS_CORETYPE).toBeUndefined();
  }, 60_000);
});
