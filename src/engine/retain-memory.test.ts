/**
 * retainFreedMemory() (native.ts), which the trainer turns on: freed memory stays in the
 * process, so the next step's tensors do not fault their pages in again. Seen from
 * outside: after a 256 MB array is freed, the process's RSS stays up with it and drops
 * without it. Each case runs in its own process (the setting is process-wide).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeBlasAvailable } from './native.js';

const NATIVE_MODULE = fileURLToPath(new URL('./native.ts', import.meta.url));

const script = (retain: boolean) => `
  import { retainFreedMemory } from ${JSON.stringify(NATIVE_MODULE)};
  if (${retain} && !retainFreedMemory()) throw new Error('retainFreedMemory() returned false');
  const before = process.memoryUsage().rss;
  let big = new Float32Array(64e6);
  big.fill(1);
  const peak = process.memoryUsage().rss;
  big = null;
  for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
  console.log(JSON.stringify({ grew: peak - before, kept: process.memoryUsage().rss - before }));
`;

function run(retain: boolean): { grew: number; kept: number } {
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script(retain)], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as { grew: number; kept: number };
}

describe.skipIf(!nativeBlasAvailable() || process.platform !== 'linux')('retainFreedMemory', () => {
  it('keeps a freed 256 MB block in the process; without it the block goes back to the OS', () => {
    const released = run(false);
    const retained = run(true);
    expect(released.grew).toBeGreaterThan(200e6);
    expect(retained.grew).toBeGreaterThan(200e6);
    expect(released.kept).toBeLessThan(100e6);
    expect(retained.kept).toBeGreaterThan(200e6);
  }, 60_000);
});
