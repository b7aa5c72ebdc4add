/**
 * Puts OpenBLAS on the right kernels before the addon loads, and checks them after.
 *
 * OpenBLAS reads OPENBLAS_CORETYPE once, when the library loads (the addon links it), so
 * the choice is made here, before native.ts requires the addon:
 *   1. the CPU from /proc/cpuinfo and the core OpenBLAS 0.3.21 would pick by itself
 *      (openblas-core.ts replays its table: no library load needed);
 *   2. chooseOpenBlasCore(): the user's OPENBLAS_CORETYPE wins; OpenBLAS' pick stays
 *      unless it uses narrower vectors than the CPU has;
 *   3. only when a core is to be forced (or the user's asks for wider vectors than the
 *      CPU has), a child process loads the addon with that OPENBLAS_CORETYPE and checks
 *      its sgemm against a JS reference (native/sgemm-check.cjs, ~80 ms, only then); it
 *      passes, or the engine unsets OPENBLAS_CORETYPE and stays on OpenBLAS' own pick
 *      with a one-line note (a core the CPU cannot run dies of SIGILL there, not here);
 *   4. OPENBLAS_CORETYPE goes into process.env, so worker threads and child processes
 *      load the same core; FAKEFACE_OPENBLAS_CORE carries the decision to them, so they
 *      neither probe again nor mistake it for the user's setting.
 * After loading, verifyLoadedCore() runs the same sgemm check in process (a millisecond)
 * and compares the core really in use with the prediction (another OpenBLAS version may
 * pick differently; the note then says which OPENBLAS_CORETYPE to set).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readCpuFacts, type CpuFacts } from './cpu-features.js';
import { chooseOpenBlasCore, predictOpenBlasCore, type OpenBlasCoreChoice } from './openblas-core.js';

/** Largest sgemm error accepted, relative to sum_k |a_ik b_kj| (float32 rounding is ~1e-7). */
export const SGEMM_TOLERANCE = 1e-5;

/** Carries the decision to worker threads and child processes. */
const DECISION_ENV = 'FAKEFACE_OPENBLAS_CORE';

export interface OpenBlasCoreStatus extends OpenBlasCoreChoice {
  /** The core OpenBLAS would pick by itself (predictOpenBlasCore), or null off x86-64 Linux. */
  predicted: string | null;
  /** The in-process sgemm check, once the addon is loaded. */
  check?: { maxError: number; ok: boolean };
  /** One-line notes: a forced core that failed its check, a prediction that did not hold. */
  notes: string[];
}

export interface PrepareOptions {
  /** The environment to read and to set OPENBLAS_CORETYPE in. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The CPU (tests pass others). @default readCpuFacts() */
  cpu?: CpuFacts | null;
}

interface SgemmCheckModule {
  sgemmMaxError(addon: unknown): number;
  coreName(info: string): string | null;
}

const require = createRequire(import.meta.url);
let status: OpenBlasCoreStatus | undefined;

/** native/sgemm-check.cjs beside native/build/Release/fakeface_blas.node. */
function checkScriptFor(addonPath: string): string {
  return join(dirname(dirname(dirname(addonPath))), 'sgemm-check.cjs');
}

function inheritedDecision(env: NodeJS.ProcessEnv): OpenBlasCoreStatus | null {
  const text = env[DECISION_ENV];
  if (!text) return null;
  try {
    const decision = JSON.parse(text) as OpenBlasCoreStatus;
    const ours = decision.action === 'force' ? env.OPENBLAS_CORETYPE === decision.core : decision.action === 'keep' && !env.OPENBLAS_CORETYPE;
    return ours ? { ...decision, check: undefined, notes: decision.notes ?? [] } : null;
  } catch {
    return null;
  }
}

/** Loads the addon with OPENBLAS_CORETYPE=core in a child process; why it failed, or null when it passed. */
export function probeCore(addonPath: string, core: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const script = checkScriptFor(addonPath);
  if (!existsSync(script)) return `${script} is missing`;
  const childEnv: NodeJS.ProcessEnv = { ...env, OPENBLAS_CORETYPE: core };
  delete childEnv[DECISION_ENV];
  const result = spawnSync(process.execPath, [script, addonPath], { env: childEnv, encoding: 'utf8', timeout: 30_000 });
  if (result.error) return result.error.message;
  if (result.signal) return `killed by ${result.signal}${result.signal === 'SIGILL' ? ': an instruction this CPU lacks' : ''}`;
  if (result.status !== 0) return `exit ${result.status}: ${(result.stderr.trim().split('\n').pop() ?? '').slice(0, 160)}`;
  try {
    const report = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as { core: string | null; maxError: number | null };
    if (report.core?.toLowerCase() !== core.toLowerCase()) return `OpenBLAS ran ${report.core ?? 'an unknown core'} instead`;
    // JSON has no Infinity: a NaN or infinite error comes back as null.
    if (!(typeof report.maxError === 'number' && report.maxError <= SGEMM_TOLERANCE)) return `sgemm error ${report.maxError ?? 'not finite'} above ${SGEMM_TOLERANCE}`;
    return null;
  } catch {
    return `unreadable check output: ${result.stdout.slice(0, 120)}`;
  }
}

/**
 * Decides the core for the addon at addonPath and sets OPENBLAS_CORETYPE (and the decision
 * for children) in `env` where a core is forced. No caching: prepareOpenBlasCore is the
 * once-per-process entry.
 */
export function decideOpenBlasCore(addonPath: string, opts: PrepareOptions = {}): OpenBlasCoreStatus {
  const env = opts.env ?? process.env;
  const inherited = inheritedDecision(env);
  if (inherited) return inherited;

  const cpu = opts.cpu !== undefined ? opts.cpu : process.arch === 'x64' ? readCpuFacts() : null;
  const userCoreType = env.OPENBLAS_CORETYPE || undefined;
  if (!cpu) {
    const reason = userCoreType ? `OPENBLAS_CORETYPE=${userCoreType} set in the environment` : "OpenBLAS' own choice (no x86-64 /proc/cpuinfo to check it against)";
    return { core: userCoreType ?? 'unknown', action: userCoreType ? 'user' : 'keep', reason, predicted: null, notes: [], needsCheck: false };
  }
  const predicted = predictOpenBlasCore(cpu);
  let choice = chooseOpenBlasCore({ cpu, openblasCore: predicted, userCoreType });
  const notes: string[] = [];
  const failure = choice.needsCheck ? probeCore(addonPath, choice.core, env) : null;
  if (failure) {
    const what = choice.action === 'user' ? `OPENBLAS_CORETYPE=${choice.core}` : choice.core;
    notes.push(`${what} failed its sgemm check in a child process (${failure}); using OpenBLAS' own ${predicted}`);
    choice = { core: predicted, action: 'keep', reason: `OpenBLAS' own choice, as ${what} failed its check`, needsCheck: false };
    delete env.OPENBLAS_CORETYPE;
  } else if (choice.action === 'force') {
    env.OPENBLAS_CORETYPE = choice.core;
  }
  const decided: OpenBlasCoreStatus = { ...choice, predicted, notes };
  if (choice.action !== 'user') env[DECISION_ENV] = JSON.stringify(decided);
  return decided;
}

/**
 * decideOpenBlasCore for this process (process.env), once: call before the addon is
 * loaded; later calls return the first decision.
 */
export function prepareOpenBlasCore(addonPath: string, opts: PrepareOptions = {}): OpenBlasCoreStatus {
  status ??= decideOpenBlasCore(addonPath, opts);
  return status;
}

/**
 * After the addon loaded: records the core really in use and checks its sgemm in
 * process. check.ok false means wrong products: the caller must not use the addon.
 */
export function verifyLoadedCore(addon: { blasInfo(): string; sgemm: unknown }, addonPath: string): OpenBlasCoreStatus {
  const decided = status ?? prepareOpenBlasCore(addonPath);
  const script = checkScriptFor(addonPath);
  if (!existsSync(script)) return decided;
  const check = require(script) as SgemmCheckModule;
  const loaded = check.coreName(addon.blasInfo());
  const notes = [...decided.notes];
  let { core, reason } = decided;
  if (loaded && loaded.toLowerCase() !== decided.core.toLowerCase()) {
    if (decided.action === 'force') notes.push(`asked OpenBLAS for ${decided.core}, it runs ${loaded}`);
    else if (decided.action === 'keep' && decided.predicted) {
      const cpu = readCpuFacts();
      const again = cpu ? chooseOpenBlasCore({ cpu, openblasCore: loaded }) : null;
      notes.push(
        again?.action === 'force'
          ? `OpenBLAS picked ${loaded}, not the ${decided.predicted} its 0.3.21 table gives; set OPENBLAS_CORETYPE=${again.core} before starting fakeface (${again.reason})`
          : `OpenBLAS picked ${loaded}, not the ${decided.predicted} its 0.3.21 table gives (another OpenBLAS version?)`,
      );
      reason = "OpenBLAS' own choice";
    }
    core = loaded;
  }
  const maxError = check.sgemmMaxError(addon);
  const ok = maxError <= SGEMM_TOLERANCE;
  if (!ok) notes.push(`OpenBLAS' ${core} sgemm is off by ${maxError.toExponential(1)} (above ${SGEMM_TOLERANCE}): native kernels disabled`);
  status = { ...decided, core, reason, check: { maxError, ok }, notes };
  return status;
}

/** What prepareOpenBlasCore / verifyLoadedCore decided and found, if the addon was looked for. */
export function openBlasCoreStatus(): OpenBlasCoreStatus | undefined {
  return status;
}
