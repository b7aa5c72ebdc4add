/**
 * Which OpenBLAS kernels ("core") to run on this CPU: the pure part of the choice,
 * unit tested without OpenBLAS (openblas-setup.ts acts on it).
 *
 * Why a table and not a look at the loaded library: a DYNAMIC_ARCH OpenBLAS picks its
 * core once, in its load-time constructor, from cpuid or from OPENBLAS_CORETYPE. Once
 * the addon is required the choice is made for the life of the process. So the engine
 * has to know *before* loading what OpenBLAS would pick by itself, and the cheapest
 * correct way is to replay OpenBLAS 0.3.21's own decision (driver/others/dynamic.c,
 * get_coretype() and the fallback in gotoblas_dynamic_init(); Debian 12 ships 0.3.21)
 * from /proc/cpuinfo. After loading, the engine compares the core really in use with
 * this prediction and says so when they differ (another OpenBLAS version).
 *
 * Where 0.3.21 falls back: Intel family 6 models newer than its table (extended model
 * 0xb and up: Raptor Lake, Meteor/Arrow/Lunar Lake, Emerald Rapids...) fall through
 * the switch into the Pentium 4 branch and get Prescott (SSE3) kernels, 4-8x slower
 * than the AVX2/AVX-512 ones the CPU can run. Other unknown CPUs get the best core
 * their features allow, which is already right.
 */
import type { CpuFacts } from './cpu-features.js';

/** Cores of the DYNAMIC_ARCH x86-64 build of OpenBLAS 0.3.21 (its corename table). SapphireRapids came later. */
export const OPENBLAS_0_3_21_CORES: readonly string[] = [
  'Prescott', 'Core2', 'Penryn', 'Dunnington', 'Nehalem', 'Atom', 'Opteron', 'Opteron_SSE3', 'Barcelona', 'Nano',
  'Sandybridge', 'Bobcat', 'Bulldozer', 'Piledriver', 'Haswell', 'Steamroller', 'Excavator', 'Zen', 'SkylakeX', 'Cooperlake',
];

/** The widest vector instructions a core's sgemm uses: what decides its speed. */
export type CoreTier = 'sse' | 'avx' | 'avx2' | 'avx512' | 'amx';

const TIER_ORDER: readonly CoreTier[] = ['sse', 'avx', 'avx2', 'avx512', 'amx'];

const CORE_TIERS: Record<string, CoreTier> = {
  sandybridge: 'avx', bulldozer: 'avx', piledriver: 'avx', steamroller: 'avx', excavator: 'avx',
  haswell: 'avx2', zen: 'avx2',
  skylakex: 'avx512', cooperlake: 'avx512',
  sapphirerapids: 'amx',
};

/** Tier of a core name as OpenBLAS spells it (any case); cores not listed are SSE-era. */
export function coreTier(core: string): CoreTier {
  return CORE_TIERS[core.toLowerCase()] ?? 'sse';
}

function tierRank(tier: CoreTier): number {
  return TIER_ORDER.indexOf(tier);
}

/** What OpenBLAS itself tests (dynamic.c support_avx*): AVX-512 means AVX512VL with the OS saving zmm. */
function supports(cpu: CpuFacts) {
  const avx = cpu.flags.has('avx');
  const avx2 = avx && cpu.flags.has('avx2');
  const avx512 = avx && cpu.flags.has('avx512vl');
  const bf16 = avx512 && cpu.flags.has('avx512_bf16');
  return { avx, avx2, avx512, bf16 };
}

/**
 * The core OpenBLAS 0.3.21 (x86-64, DYNAMIC_ARCH) picks by itself, without
 * OPENBLAS_CORETYPE: a transcription of get_coretype() plus the fallback for CPUs it
 * returns NULL for. Older cores its 64-bit build lacks (Katmai, Northwood, Athlon...)
 * become Prescott, as the library's own sanity check does.
 */
export function predictOpenBlasCore(cpu: CpuFacts): string {
  const has = supports(cpu);
  const byFeatures = (): string =>
    has.bf16 ? 'Cooperlake' : has.avx512 ? 'SkylakeX' : has.avx2 ? 'Haswell' : has.avx ? 'Sandybridge' : 'Prescott';
  const haswellOrOlder = () => (has.avx2 ? 'Haswell' : has.avx ? 'Sandybridge' : 'Nehalem');
  const skylakeXOrOlder = () => (has.avx512 ? 'SkylakeX' : haswellOrOlder());
  const cooperlakeOrOlder = () => (has.bf16 ? 'Cooperlake' : skylakeXOrOlder());
  const sandybridgeOrOlder = () => (has.avx ? 'Sandybridge' : 'Nehalem');

  if (cpu.vendor === 'intel') {
    if (cpu.family === 0xf) return 'Prescott';
    if (cpu.family !== 6) return byFeatures();
    const exmodel = cpu.model >> 4;
    const model = cpu.model & 0xf;
    const pick = (table: Record<number, () => string>): string => (table[model] ?? byFeatures)();
    const fixed = (core: string) => () => core;
    switch (exmodel) {
      case 0:
        // Katmai, Coppermine, Banias: 32-bit cores a 64-bit build replaces by Prescott.
        return model === 15 ? 'Core2' : model === 12 ? byFeatures() : 'Prescott';
      case 1:
        return pick({ 6: fixed('Core2'), 7: fixed('Penryn'), 13: fixed('Dunnington'), 10: fixed('Nehalem'), 11: fixed('Nehalem'), 14: fixed('Nehalem'), 15: fixed('Nehalem'), 12: fixed('Atom') });
      case 2:
        return pick({ 5: fixed('Nehalem'), 12: fixed('Nehalem'), 14: fixed('Nehalem'), 15: fixed('Nehalem'), 10: sandybridgeOrOlder, 13: sandybridgeOrOlder });
      case 3:
        return pick({ 10: sandybridgeOrOlder, 14: sandybridgeOrOlder, 12: haswellOrOlder, 15: haswellOrOlder, 13: haswellOrOlder, 7: fixed('Atom') });
      case 4:
        return pick({ 5: haswellOrOlder, 6: haswellOrOlder, 7: haswellOrOlder, 15: haswellOrOlder, 14: haswellOrOlder, 12: fixed('Nehalem'), 13: fixed('Nehalem') });
      case 5:
        // model 7 is Knights Landing: AVX-512F without VL, so Haswell.
        return pick({ 6: haswellOrOlder, 14: haswellOrOlder, 5: cooperlakeOrOlder, 7: haswellOrOlder, 12: fixed('Nehalem'), 15: fixed('Nehalem') });
      case 6:
        return pick({ 6: haswellOrOlder, 10: cooperlakeOrOlder, 12: cooperlakeOrOlder });
      case 7:
        return pick({ 10: fixed('Nehalem'), 13: skylakeXOrOlder, 14: skylakeXOrOlder });
      case 8:
        return pick({ 12: skylakeXOrOlder, 13: skylakeXOrOlder, 14: haswellOrOlder, 15: cooperlakeOrOlder });
      case 9:
        return pick({ 7: cooperlakeOrOlder, 10: cooperlakeOrOlder, 14: haswellOrOlder });
      case 10:
        return pick({ 5: haswellOrOlder, 6: haswellOrOlder, 7: skylakeXOrOlder });
      default:
        // dynamic.c has no case for these: the switch falls through into the Pentium 4 branch.
        return 'Prescott';
    }
  }

  if (cpu.vendor === 'amd' || cpu.vendor === 'hygon') {
    if (cpu.family < 0xf) return 'Prescott'; // Athlon, which a 64-bit build replaces by Prescott
    const exfamily = cpu.family - 0xf;
    const exmodel = cpu.model >> 4;
    const model = cpu.model & 0xf;
    const avxOrBarcelona = (core: string) => (has.avx ? core : 'Barcelona');
    if (exfamily === 0 || exfamily === 2) return cpu.flags.has('pni') ? 'Opteron_SSE3' : 'Opteron';
    if (exfamily === 5 || exfamily === 7) return 'Bobcat';
    if (exfamily === 6) {
      if (model === 1) return avxOrBarcelona('Bulldozer');
      if (model === 2 || model === 3) return avxOrBarcelona('Piledriver');
      if (model === 5) return avxOrBarcelona('Excavator');
      if (model === 0 || model === 8) {
        if (exmodel === 1) return avxOrBarcelona('Piledriver');
        if (exmodel === 3) return avxOrBarcelona('Steamroller');
        if (exmodel === 6) return avxOrBarcelona('Excavator');
      }
      return byFeatures();
    }
    if (exfamily === 8 || exfamily === 9) return avxOrBarcelona('Zen');
    if (exfamily === 10) return has.bf16 ? 'Cooperlake' : has.avx512 ? 'SkylakeX' : avxOrBarcelona('Zen');
    return byFeatures(); // Zen 5 (family 26) and later
  }

  return byFeatures();
}

/**
 * The core that runs sgemm fastest with the instructions this CPU has, among `available`:
 * SapphireRapids with AMX, SkylakeX with AVX-512 (AVX512F/DQ/BW/VL, which its kernels use),
 * Haswell (Intel) or Zen (AMD, Hygon) with AVX2 + FMA, Sandybridge with AVX; null below
 * that (nothing to gain over what OpenBLAS picks). Cooperlake's sgemm is SkylakeX's (its
 * extra is bf16 sbgemm), and OpenBLAS 0.3.21 cannot be forced to it (force_coretype()
 * stops one entry short), so it is never the choice, only accepted where OpenBLAS picked it.
 */
export function bestCoreFor(cpu: CpuFacts, available: readonly string[] = OPENBLAS_0_3_21_CORES): string | null {
  const f = cpu.flags;
  const has = (core: string) => available.some((name) => name.toLowerCase() === core.toLowerCase());
  const avx512 = ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((flag) => f.has(flag)) && f.has('avx');
  if (avx512 && f.has('amx_tile') && has('SapphireRapids')) return 'SapphireRapids';
  if (avx512 && has('SkylakeX')) return 'SkylakeX';
  if (f.has('avx') && f.has('avx2') && f.has('fma')) {
    const amdLike = cpu.vendor === 'amd' || cpu.vendor === 'hygon';
    if (amdLike && has('Zen')) return 'Zen';
    if (has('Haswell')) return 'Haswell';
  }
  if (f.has('avx') && has('Sandybridge')) return 'Sandybridge';
  return null;
}

export interface OpenBlasCoreInput {
  cpu: CpuFacts;
  /** The core OpenBLAS picks by itself (predictOpenBlasCore, or what a loaded library reports). */
  openblasCore: string;
  /** OPENBLAS_CORETYPE as the user set it, if they did. */
  userCoreType?: string;
  /** Cores the library has. @default OPENBLAS_0_3_21_CORES */
  available?: readonly string[];
}

export interface OpenBlasCoreChoice {
  /** The core to run. */
  core: string;
  /** keep: OpenBLAS' own pick is right; force: set OPENBLAS_CORETYPE=core; user: the user's OPENBLAS_CORETYPE. */
  action: 'keep' | 'force' | 'user';
  /** Why, in words. */
  reason: string;
  /**
   * Load it in a child process and check its sgemm before using it: a forced core, or a
   * user's core with wider vectors than the CPU has (OpenBLAS 0.3.21 would run it and die
   * of SIGILL).
   */
  needsCheck: boolean;
}

/** "AVX2", "AVX-512": how people name a tier. */
function tierWords(tier: CoreTier): string {
  return { sse: 'SSE', avx: 'AVX', avx2: 'AVX2', avx512: 'AVX-512', amx: 'AMX' }[tier];
}

function cpuWords(cpu: CpuFacts): string {
  return `${cpu.modelName} (family ${cpu.family} model 0x${cpu.model.toString(16)})`;
}

/**
 * The decision: the user's OPENBLAS_CORETYPE wins (checked first where it asks for
 * more than the CPU has); otherwise OpenBLAS' own pick
 * stays unless its kernels use narrower vectors than the CPU has, and then the best
 * core for the CPU's features is forced (openblas-setup.ts checks it before using it).
 */
export function chooseOpenBlasCore(input: OpenBlasCoreInput): OpenBlasCoreChoice {
  const { cpu, openblasCore, userCoreType } = input;
  const best = bestCoreFor(cpu, input.available);
  if (userCoreType) {
    const cpuRank = best ? tierRank(coreTier(best)) : 0;
    const userRank = tierRank(coreTier(userCoreType));
    const better = best && cpuRank > userRank ? `; ${best} would use the CPU's ${tierWords(coreTier(best))}` : '';
    const beyond = userRank > cpuRank ? `; its ${tierWords(coreTier(userCoreType))} is more than the CPU has` : '';
    return { core: userCoreType, action: 'user', reason: `OPENBLAS_CORETYPE=${userCoreType} set in the environment${better}${beyond}`, needsCheck: userRank > cpuRank };
  }
  const ownTier = coreTier(openblasCore);
  if (!best || tierRank(ownTier) >= tierRank(coreTier(best))) {
    return { core: openblasCore, action: 'keep', reason: `OpenBLAS' own choice; its ${tierWords(ownTier)} kernels match the CPU`, needsCheck: false };
  }
  return {
    core: best,
    action: 'force',
    reason: `OpenBLAS would fall back to ${openblasCore} (${tierWords(ownTier)}) on ${cpuWords(cpu)}; ${best} uses its ${tierWords(coreTier(best))}`,
    needsCheck: true,
  };
}
