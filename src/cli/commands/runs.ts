import { basename } from 'node:path';
import type { Command } from 'commander';
import { listRunFolders, readMetrics, readRunState } from '../../train/run-folder.js';
import { action, formatTable } from '../output.js';

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list training runs: status, iteration, last metrics')
    .option('--dir <dir>', 'folder holding run folders', 'runs')
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (opts: { dir: string; json?: boolean }) => {
        const runs = [];
        for (const dir of await listRunFolders(opts.dir)) {
          const state = await readRunState(dir);
          const metrics = await readMetrics(dir);
          runs.push({ run: basename(dir), dir, state, last: metrics[metrics.length - 1] ?? null });
        }
        if (opts.json) {
          process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
          return;
        }
        if (runs.length === 0) {
          process.stdout.write(`no runs in ${opts.dir}/ (start one with: fakeface train --data DIR --preset tiny --out ${opts.dir}/tiny)\n`);
          return;
        }
        const rows = runs.map(({ run, state, last }) => [
          run,
          state?.status ?? 'unknown',
          state ? `${state.iteration}/${state.iterations}` : '-',
          last ? last.dAcc.toFixed(3) : '-',
          last ? ((last.dLossReal + last.dLossFake) / 2).toFixed(3) : '-',
          last ? last.gLoss.toFixed(3) : '-',
          last ? `${Math.round(last.ms)}` : '-',
          state?.stopReason ?? '',
        ]);
        process.stdout.write(formatTable(['run', 'status', 'iteration', 'D acc', 'D loss', 'G loss', 'ms/it', 'note'], rows) + '\n');
      }),
    );
}
