import type { Command } from 'commander';
import { describeCpuEngine, describeOneDnn, measureSgemmRate } from '../../engine/engine-report.js';
import { initEngine } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { action } from '../output.js';
import { engineOptions, withEngineOptions } from './engine-options.js';

interface EngineFlags {
  backend?: string;
  threads?: string;
  seconds: string;
  size: string;
  json?: boolean;
}

function positive(value: string, flag: string): number {
  const number = Number(value);
  if (!(Number.isFinite(number) && number > 0)) throw new UsageError(`${flag} must be a positive number, not "${value}"`);
  return number;
}

export function registerEngine(program: Command): void {
  withEngineOptions(
    program
      .command('engine')
      .description('show the CPU, the OpenBLAS kernels in use and why, whether oneDNN runs the convolutions, and a measured sgemm rate')
      .option('--seconds <s>', 'how long to measure sgemm (0 skips it)', '2')
      .option('--size <n>', 'sgemm matrix size', '1024')
      .option('--json', 'print JSON'),
  ).action(
    action(async (opts: EngineFlags) => {
      const seconds = opts.seconds === '0' ? 0 : positive(opts.seconds, '--seconds');
      const size = positive(opts.size, '--size');
      if (!Number.isInteger(size)) throw new UsageError(`--size must be an integer, not "${opts.size}"`);
      const engine = await initEngine(engineOptions(opts as unknown as Record<string, unknown>));
      const report = describeCpuEngine();
      // On the cpu backend initEngine set the addon's threads (--threads); otherwise OpenBLAS uses all cores.
      const sgemm = seconds > 0 ? measureSgemmRate({ size, seconds }) : null;
      if (opts.json) {
        process.stdout.write(JSON.stringify({ engine, ...report, sgemm }, null, 2) + '\n');
        return;
      }
      const lines: string[] = [];
      const { cpu, core } = report;
      lines.push(cpu ? `cpu:      ${cpu.modelName} (${cpu.vendor}, family ${cpu.family} model 0x${cpu.model.toString(16)})` : 'cpu:      unknown (no /proc/cpuinfo)');
      if (cpu) lines.push(`features: ${cpu.features.join(' ') || 'none of avx/avx2/avx-512'}`);
      lines.push(`engine:   ${engine.description} (${engine.reason})`);
      lines.push(`openblas: ${report.blas ?? 'native addon not built (npm run build:native)'}`);
      if (core) {
        lines.push(`core:     ${core.core} (${core.action}): ${core.reason}`);
        if (core.check) lines.push(`check:    sgemm vs JS reference, max error ${core.check.maxError.toExponential(1)} ${core.check.ok ? 'ok' : 'FAILED'}`);
        for (const note of core.notes) lines.push(`note:     ${note}`);
      }
      lines.push(`onednn:   ${describeOneDnn(report.oneDnn)}`);
      if (sgemm) {
        lines.push(`sgemm:    ${sgemm.size}^3, ${sgemm.threads} threads: peak ${sgemm.peakGflops.toFixed(1)} GFLOP/s, mean ${sgemm.meanGflops.toFixed(1)} over ${sgemm.calls} calls`);
      }
      process.stdout.write(lines.join('\n') + '\n');
    }),
  );
}
