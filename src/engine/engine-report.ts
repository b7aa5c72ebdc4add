/**
 * What `fakeface engine` shows: the CPU, the vector features that decide OpenBLAS' speed,
 * the OpenBLAS core in use and why (openblas-setup.ts), whether the convolutions run on
 * oneDNN (and which), and a measured sgemm rate.
 */
import { readCpuFacts, vectorFeatures, type CpuVendor } from './cpu-features.js';
import { loadNativeAddon, nativeBlasInfo, oneDnnStatus } from './native.js';
import { openBlasCoreStatus, type OpenBlasCoreStatus } from './openblas-setup.js';

export interface CpuEngineReport {
  cpu: { modelName: string; vendor: CpuVendor; family: number; model: number; features: string[] } | null;
  /** blasInfo() of the addon, or null when it is not built. */
  blas: string | null;
  /** The core decision and its checks, or null without the addon. */
  core: OpenBlasCoreStatus | null;
  /** oneDNN for the convolutions (version, ISA, engine in effect), or null without the addon. */
  oneDnn: ReturnType<typeof oneDnnStatus>;
}

export function describeCpuEngine(): CpuEngineReport {
  const facts = readCpuFacts();
  const cpu = facts && { modelName: facts.modelName, vendor: facts.vendor, family: facts.family, model: facts.model, features: vectorFeatures(facts) };
  const blas = nativeBlasInfo(); // loads the addon, which decides and checks the core
  return { cpu, blas, core: blas ? openBlasCoreStatus() ?? null : null, oneDnn: blas ? oneDnnStatus() : null };
}

/** The `onednn:` line of `fakeface engine`. */
export function describeOneDnn(status: ReturnType<typeof oneDnnStatus>): string {
  if (!status) return 'not used (native addon not built)';
  const chosen = process.env.FAKEFACE_CONV || process.env.FAKEFACE_NO_DNNL === '1' ? 'as FAKEFACE_CONV / FAKEFACE_NO_DNNL asks' : 'the default here: no AVX-512 on this CPU, and with AVX2 alone oneDNN measured slower; FAKEFACE_CONV=onednn or auto uses it';
  const engines = { auto: 'per shape, whichever measures faster than im2col + sgemm', onednn: process.env.FAKEFACE_CONV ? 'forced' : 'the default with AVX-512', im2col: `off: im2col + sgemm (${chosen})` };
  if (!status.available) return `not used: ${status.reason ?? 'unavailable'}; convolutions run as im2col + sgemm`;
  const what = `oneDNN ${status.version} (${status.isa}, ${status.runtime})`;
  return status.engine === 'im2col' ? `${what}, ${engines.im2col}` : `${what} for the convolutions (${engines[status.engine]})`;
}

export interface SgemmRate {
  /** Matrices are size x size. */
  size: number;
  threads: number;
  calls: number;
  /** The fastest call's rate: what the kernels reach when nothing else runs. */
  peakGflops: number;
  /** Over all calls, for a machine shared with other work. */
  meanGflops: number;
}

/**
 * Runs size^3 sgemms for about `seconds` (after one warm-up call that maps the pages) on
 * the addon's threads. Null without the addon.
 */
export function measureSgemmRate({ size = 1024, seconds = 2 } = {}): SgemmRate | null {
  const native = loadNativeAddon();
  if (!native) return null;
  const a = new Float32Array(size * size).fill(0.5);
  const b = new Float32Array(size * size).fill(0.25);
  const c = new Float32Array(size * size);
  const flops = 2 * size ** 3;
  const run = () => native.sgemm(false, false, size, size, size, 1, a, size, b, size, 0, c, size);
  run();
  let calls = 0;
  let fastest = Infinity;
  const start = performance.now();
  let elapsed = 0;
  do {
    const t0 = performance.now();
    run();
    const t1 = performance.now();
    fastest = Math.min(fastest, t1 - t0);
    calls++;
    elapsed = t1 - start;
  } while (elapsed < seconds * 1000);
  return {
    size,
    threads: native.getThreads(),
    calls,
    peakGflops: flops / (fastest * 1e6),
    meanGflops: (flops * calls) / (elapsed * 1e6),
  };
}
