import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { createServer } from '../../server/index.js';
import { action, info } from '../output.js';

function port(value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, not "${String(value)}"`);
  return n;
}

function megabytes(value: unknown): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0 && n <= 4096)) throw new UsageError(`--max-upload-mb must be a number above 0 and at most 4096, not "${String(value)}"`);
  return n;
}

function days(value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new UsageError(`--history-days must be a whole number of days from 1 to 36500, not "${String(value)}"`);
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('start the web app: check images and videos, generate faces, watch training runs')
    .option('--port <n>', 'port to listen on (0: any free port)', '5170')
    .option('--host <host>', 'interface to bind; anything but 127.0.0.1 exposes the app to your network', '127.0.0.1')
    .option('--runs <dir>', 'folder holding training runs', 'runs')
    .option('--experiments <dir>', 'folder of experiments (their report.html files are linked)', 'experiments')
    .option('--detector <dir>', 'detector folder for checks (default: the detection module\'s own default)')
    .option('--max-upload-mb <n>', 'largest upload in MiB; larger ones are refused with 413', '50')
    .option('--queue <url>', 'run jobs on `fakeface worker` processes through Redis (redis://host:6379) instead of in this process')
    .option('--upload-dir <dir>', 'where uploads wait for their job (with --queue: a folder every worker reads at the same path)')
    .option('--history-file <file>', 'SQLite file of the history of checks (default: <runs>/checks.sqlite; with --queue the history lives in that Redis)')
    .option('--history-days <n>', 'forget checks older than this many days', '30')
    .option('--no-history', 'remember no checks (no History page entries, no answers from history)')
    .action(
      action(async (flags: Record<string, string | boolean | undefined>) => {
        const { history, ...strings } = flags;
        const opts = strings as Record<string, string | undefined>;
        const server = await createServer({
          port: port(opts.port),
          host: opts.host,
          runsDir: opts.runs,
          experimentsDir: opts.experiments,
          detector: opts.detector,
          maxUploadMb: megabytes(opts.maxUploadMb),
          queue: opts.queue,
          ...(opts.uploadDir === undefined ? {} : { tmpDir: opts.uploadDir }),
          history: history !== false,
          historyFile: opts.historyFile,
          historyDays: days(opts.historyDays),
        });
        const url = await server.listen().catch((error: { code?: string; message: string }) => {
          if (error.code === 'EADDRINUSE') throw new UsageError(`port ${opts.port} is already in use`, 'choose another with --port, or --port 0 for any free one');
          if (error.code === 'EADDRNOTAVAIL') throw new UsageError(`cannot bind ${opts.host}: no such address on this machine`);
          throw error;
        });
        info(`fakeface: engine ${server.engine.description}; runs from ${server.options.runsDir}`);
        const kept = server.history;
        info(kept.enabled ? `fakeface: history of checks in ${kept.location} (kept ${kept.retentionDays} days)` : 'fakeface: no history of checks (--no-history)');
        if (!['127.0.0.1', 'localhost', '::1'].includes(server.options.host)) {
          info(`fakeface: listening on ${server.options.host}: anyone who can reach this machine can use the app`);
        }
        process.stdout.write(`fakeface is running at ${url}\n`);
        info('fakeface: press Ctrl-C to stop');
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            info('fakeface: stopping');
            void server.close().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );
}
