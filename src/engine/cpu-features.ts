/**
 * What the CPU is and which vector instructions the OS lets us use, from
 * /proc/cpuinfo (Linux). Read without loading OpenBLAS, so that the engine can pick
 * OpenBLAS' kernels before the library starts (openblas-setup.ts).
 */
import { readFileSync } from 'node:fs';

export type CpuVendor = 'intel' | 'amd' | 'hygon' | 'other';

export interface CpuFacts {
  /** "AMD EPYC 7B13", or "unknown" when /proc/cpuinfo has no model name. */
  modelName: string;
  vendor: CpuVendor;
  /** Displayed family, as /proc/cpuinfo prints it (base + extended: 25 for Zen 3). */
  family: number;
  /** Displayed model ((extended << 4) | base: 0xb7 for Raptor Lake). */
  model: number;
  /** The flags line; the kernel leaves out AVX* when the OS does not save their registers. */
  flags: ReadonlySet<string>;
}

/** The flags that decide which OpenBLAS kernels can run, in the order people read them. */
export const VECTOR_FLAGS = [
  'sse4_2', 'avx', 'fma', 'avx2', 'avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'avx512_bf16', 'amx_tile', 'amx_bf16',
] as const;

const VENDORS: Record<string, CpuVendor> = { GenuineIntel: 'intel', AuthenticAMD: 'amd', HygonGenuine: 'hygon' };

/** The first processor's entry of a /proc/cpuinfo text (all cores of a VM agree). */
export function parseCpuInfo(text: string): CpuFacts {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (fields.size > 0) break; // end of the first processor
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
  }
  const number = (key: string) => {
    const value = Number.parseInt(fields.get(key) ?? '', 10);
    return Number.isFinite(value) ? value : -1;
  };
  return {
    modelName: fields.get('model name') || 'unknown',
    vendor: VENDORS[fields.get('vendor_id') ?? ''] ?? 'other',
    family: number('cpu family'),
    model: number('model'),
    flags: new Set((fields.get('flags') ?? '').split(/\s+/).filter(Boolean)),
  };
}

let cached: CpuFacts | null | undefined;

/** This machine's CPU, or null off Linux / when /proc/cpuinfo cannot be read. Cached. */
export function readCpuFacts(): CpuFacts | null {
  if (cached !== undefined) return cached;
  try {
    cached = parseCpuInfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    cached = null;
  }
  return cached;
}

/** The VECTOR_FLAGS this CPU has. */
export function vectorFeatures(cpu: CpuFacts): string[] {
  return VECTOR_FLAGS.filter((flag) => cpu.flags.has(flag));
}
