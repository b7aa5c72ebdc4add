import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { redactUrl } from '../../queue/job-queue.js';
import { checkRedisUrl } from '../../queue/redis.js';
import { action, info } from '../output.js';

function whole(value: unknown, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, not "${String(value)}"`);
  return n;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run detection, video and generation jobs from a Redis queue filled by `fakeface serve --queue`')
    .requiredOption('--queue <url>', 'the Redis the server queues jobs in, e.g. redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'jobs at once (each on its own model thread, with its own copy of the models)', '1')
    .option('--lock-seconds <n>', 'a worker silent this long is presumed dead and its job goes to another', '30')
    .action(
      action(async (opts: Record<string, string | undefined>) => {
        const url = checkRedisUrl(opts.queue!);
        const concurrency = whole(opts.concurrency, '--concurrency', 1, 64);
        const lockMs = whole(opts.lockSeconds, '--lock-seconds', 1, 3600) * 1000;
        const { startQueueWorker } = await import('../../queue/bullmq-worker.js');
        const worker = await startQueueWorker({
          url,
          concurrency,
          lockMs,
          log: (message) => info(`fakeface worker: ${message}`),
          onStart: ({ id, kind }) => info(`fakeface worker: job ${id} (${kind}) started`),
          onJob: ({ id, kind, ms, error }) => info(`fakeface worker: job ${id} (${kind}) ${error === null ? 'done' : `failed: ${error}`} in ${(ms / 1000).toFixed(1)} s`),
        });
        info(`fakeface worker: engine ${worker.engine.description}; ${concurrency} job${concurrency === 1 ? '' : 's'} at once from ${redactUrl(url)}`);
        process.stdout.write(`fakeface worker is ready (pid ${process.pid})\n`);
        info('fakeface worker: Ctrl-C finishes the jobs it holds and stops; a second Ctrl-C hands them back to the queue at once');
        await new Promise<void>((resolve) => {
          let stopping = false;
          const stop = () => {
            if (stopping) {
              info('fakeface worker: handing its jobs back to the queue');
              void worker.close({ force: true }).then(resolve);
              return;
            }
            stopping = true;
            info(`fakeface worker: stopping after the ${worker.running} job${worker.running === 1 ? '' : 's'} it holds`);
            void worker.close().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );
}
