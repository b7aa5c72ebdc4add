import { describe, expect, it } from 'vitest';
import type { CpuFacts } from './cpu-features.js';
import { parseCpuInfo } from './cpu-features.js';
import { bestCoreFor, chooseOpenBlasCore, coreTier, predictOpenBlasCore } from './openblas-core.js';

const AVX2 = ['sse4_2', 'avx', 'fma', 'avx2'];
const AVX512 = [...AVX2, 'avx512f', 'avx512dq', 'avx512bw', 'avx512vl'];

function cpu(vendor: CpuFacts['vendor'], family: number, model: number, flags: string[], modelName = 'test cpu'): CpuFacts {
  return { vendor, family, model, flags: new Set(flags), modelName };
}

/** The whole decision for a CPU left to itself (no OPENBLAS_CORETYPE). */
function decide(facts: CpuFacts, userCoreType?: string) {
  return chooseOpenBlasCore({ cpu: facts, openblasCore: predictOpenBlasCore(facts), userCoreType });
}

describe('OpenBLAS 0.3.21 core table', () => {
  it('replays what the library picks by itself', () => {
    const cases: [CpuFacts, string][] = [
      [cpu('amd', 25, 0x01, AVX2), 'Zen'], // Zen 3, this machine
      [cpu('amd', 23, 0x31, AVX2), 'Zen'], // Zen 2
      [cpu('amd', 25, 0x11, [...AVX512, 'avx512_bf16']), 'Cooperlake'], // Zen 4
      [cpu('amd', 26, 0x02, [...AVX512, 'avx512_bf16']), 'Cooperlake'], // Zen 5: not in the table, features decide
      [cpu('hygon', 24, 0x01, AVX2), 'Zen'],
      [cpu('intel', 6, 0x55, AVX512), 'SkylakeX'], // Skylake-SP / Cascade Lake
      [cpu('intel', 6, 0x8f, [...AVX512, 'avx512_bf16', 'amx_tile']), 'Cooperlake'], // Sapphire Rapids
      [cpu('intel', 6, 0x3f, AVX2), 'Haswell'],
      [cpu('intel', 6, 0x2d, ['sse4_2', 'avx']), 'Sandybridge'],
      [cpu('intel', 6, 0x57, [...AVX2, 'avx512f']), 'Haswell'], // Knights Landing: no AVX512VL
      [cpu('intel', 6, 0xb7, AVX2), 'Prescott'], // Raptor Lake: falls through the switch
      [cpu('intel', 6, 0xcf, [...AVX512, 'avx512_bf16', 'amx_tile']), 'Prescott'], // Emerald Rapids
      [cpu('intel', 6, 0xaa, AVX2), 'Haswell'], // Meteor Lake: unknown model, features decide
      [cpu('intel', 6, 0x4f, ['sse4_2']), 'Nehalem'], // Broadwell with the OS hiding AVX
    ];
    for (const [facts, core] of cases) expect(predictOpenBlasCore(facts), `${facts.vendor} ${facts.family} 0x${facts.model.toString(16)}`).toBe(core);
  });

  it('ranks cores by the widest vectors their sgemm uses', () => {
    expect(['Prescott', 'Core2', 'Nehalem', 'Barcelona'].map(coreTier)).toEqual(['sse', 'sse', 'sse', 'sse']);
    expect(['Sandybridge', 'Haswell', 'zen', 'SkylakeX', 'Cooperlake'].map(coreTier)).toEqual(['avx', 'avx2', 'avx2', 'avx512', 'avx512']);
  });

  it('names the best core for the features, among those the build has', () => {
    expect(bestCoreFor(cpu('amd', 25, 1, AVX2))).toBe('Zen');
    expect(bestCoreFor(cpu('intel', 6, 0xb7, AVX2))).toBe('Haswell');
    expect(bestCoreFor(cpu('intel', 6, 0xcf, [...AVX512, 'avx512_bf16']))).toBe('SkylakeX'); // 0.3.21 cannot be forced to Cooperlake
    expect(bestCoreFor(cpu('intel', 6, 0xcf, [...AVX512, 'amx_tile']))).toBe('SkylakeX'); // no SapphireRapids in 0.3.21
    expect(bestCoreFor(cpu('intel', 6, 0xcf, [...AVX512, 'amx_tile']), ['Haswell', 'SkylakeX', 'SapphireRapids'])).toBe('SapphireRapids');
    expect(bestCoreFor(cpu('intel', 6, 0x1a, ['sse4_2']))).toBeNull();
  });
});

describe('chooseOpenBlasCore', () => {
  it('leaves this machine (AMD EPYC Zen 3, AVX2) on the Zen core OpenBLAS picks', () => {
    expect(decide(cpu('amd', 25, 0x01, AVX2, 'AMD EPYC'))).toMatchObject({ core: 'Zen', action: 'keep', needsCheck: false });
  });

  it('forces the matching core where OpenBLAS falls back to an old one', () => {
    expect(decide(cpu('intel', 6, 0xb7, AVX2))).toMatchObject({ core: 'Haswell', action: 'force', needsCheck: true });
    const emerald = decide(cpu('intel', 6, 0xcf, [...AVX512, 'avx512_bf16', 'amx_tile'], 'Intel Xeon Platinum 8592+'));
    expect(emerald).toMatchObject({ core: 'SkylakeX', action: 'force', needsCheck: true });
    expect(emerald.reason).toMatch(/fall back to Prescott \(SSE\) on Intel Xeon Platinum 8592\+ \(family 6 model 0xcf\); SkylakeX uses its AVX-512/);
    // A core the library reports after loading counts as OpenBLAS' own pick too.
    expect(chooseOpenBlasCore({ cpu: cpu('amd', 25, 1, AVX2), openblasCore: 'Sandybridge' })).toMatchObject({ core: 'Zen', action: 'force' });
    expect(chooseOpenBlasCore({ cpu: cpu('intel', 6, 0x55, AVX512), openblasCore: 'Haswell' })).toMatchObject({ core: 'SkylakeX', action: 'force' });
  });

  it('keeps an equally wide pick (Cooperlake for SkylakeX, Haswell for Zen)', () => {
    expect(decide(cpu('intel', 6, 0x8f, [...AVX512, 'avx512_bf16']))).toMatchObject({ core: 'Cooperlake', action: 'keep' });
    expect(chooseOpenBlasCore({ cpu: cpu('amd', 26, 2, AVX2), openblasCore: 'Haswell' })).toMatchObject({ core: 'Haswell', action: 'keep' });
  });

  it("never overrides the user's OPENBLAS_CORETYPE, and checks one that asks for more than the CPU has", () => {
    const slow = decide(cpu('intel', 6, 0x55, AVX512), 'Haswell');
    expect(slow).toMatchObject({ core: 'Haswell', action: 'user', needsCheck: false });
    expect(slow.reason).toMatch(/SkylakeX would use the CPU's AVX-512/);
    expect(decide(cpu('intel', 6, 0xb7, AVX2), 'Prescott')).toMatchObject({ core: 'Prescott', action: 'user', needsCheck: false });
    expect(decide(cpu('amd', 25, 1, AVX2), 'SkylakeX')).toMatchObject({ core: 'SkylakeX', action: 'user', needsCheck: true });
  });
});

describe('parseCpuInfo', () => {
  it("reads the first processor's vendor, family, model and flags", () => {
    const text = [
      'processor\t: 0', 'vendor_id\t: GenuineIntel', 'cpu family\t: 6', 'model\t\t: 183', 'model name\t: 13th Gen Intel(R) Core(TM) i9-13900K',
      'flags\t\t: fpu sse4_2 avx fma avx2', '', 'processor\t: 1', 'vendor_id\t: AuthenticAMD', '',
    ].join('\n');
    const facts = parseCpuInfo(text);
    expect(facts).toMatchObject({ vendor: 'intel', family: 6, model: 0xb7, modelName: '13th Gen Intel(R) Core(TM) i9-13900K' });
    expect([...facts.flags]).toEqual(['fpu', 'sse4_2', 'avx', 'fma', 'avx2']);
    expect(decide(facts)).toMatchObject({ core: 'Haswell', action: 'force' });
  });
});
