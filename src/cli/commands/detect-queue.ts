/**
 * `fakeface detect --queue redis://host:6379 folder/ more.jpg …`: the files
 * (folders walked recursively) checked on `fakeface worker` processes instead of
 * here. Each result is printed as it comes back, as a table row or (--json) one
 * JSON line, under a progress bar with ETA; a failed file is its own error row
 * and the exit code is then 1, as for plain detect. Ctrl-C removes this batch's
 * jobs still waiting in Redis.
 */
import { resolve } from 'node:path';
import type { DetectorInfo } from '../../detect/index.js';
import { listMediaFiles } from '../../detect/media-files.js';
import { FakefaceError, UsageError } from '../../errors.js';
import { BullmqJobQueue } from '../../queue/bullmq-queue.js';
import { redactUrl } from '../../queue/job-queue.js';
import { checkRedisUrl } from '../../queue/redis.js';
import { submitFiles, type FileCheck } from '../../queue/submit-files.js';
import { DETECTION_HEADER, detectionRow, streamingRowFormat } from '../detection-rows.js';
import { info } from '../output.js';
import { ProgressBar } from '../progress.js';

/** Flags of plain detect that a queue job cannot carry: the workers analyse with their own settings. */
const LOCAL_ONLY = { fps: '--fps', frames: '--frames', annotate: '--annotate', report: '--report', backend: '--backend', threads: '--threads' } as const;

async function connect(url: string): Promise<BullmqJobQueue> {
  try {
    return await BullmqJobQueue.connect(url);
  } catch (error) {
    if (error instanceof FakefaceError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error), 'is redis-server running there, and is the URL right? (redis://host:6379)');
  }
}

/** Ctrl-C cancels the batch; a second one quits at once. */
function cancelOnInterrupt(controller: AbortController): () => void {
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    info('\nfakeface: interrupted: removing this batch\'s waiting jobs from the queue (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export async function detectOnQueue(paths: string[], opts: Record<string, unknown>): Promise<number> {
  const url = checkRedisUrl(String(opts.queue));
  for (const [key, flag] of Object.entries(LOCAL_ONLY)) {
    if (opts[key] !== undefined) throw new UsageError(`${flag} cannot be used with --queue: the workers analyse with their own settings`);
  }
  const files = await listMediaFiles(paths);
  const queue = await connect(url);
  const began = performance.now();
  const controller = new AbortController();
  const stopListening = cancelOnInterrupt(controller);
  const bar = new ProgressBar('files', files.length);
  const formatRow = streamingRowFormat(files);
  let detector: DetectorInfo | null = null;
  let done = 0;
  let failed = 0;
  const onResult = (check: FileCheck) => {
    done++;
    if (check.kind === 'error') failed++;
    if (opts.json) bar.print(JSON.stringify(check));
    else {
      if (!detector && check.kind !== 'error') {
        detector = check.detector;
        bar.print(`fakeface: ${detector.name}; p(fake) >= ${detector.threshold.toFixed(3)} is called fake`, process.stderr);
      }
      bar.print(formatRow(detectionRow(check)));
    }
    bar.update(done, failed > 0 ? `${failed} failed` : '');
  };
  try {
    info(`fakeface: queueing ${files.length} file${files.length === 1 ? '' : 's'} on ${redactUrl(url)}; workers open them at ${files.length === 1 ? 'its absolute path' : 'their absolute paths'} (${resolve(files[0]!)}${files.length > 1 ? ', …' : ''})`);
    if (!opts.json) process.stdout.write(formatRow(DETECTION_HEADER) + '\n');
    bar.update(0);
    const summary = await submitFiles(queue, files, {
      choice: {
        ...(opts.detector ? { detector: resolve(String(opts.detector)) } : {}),
        ...(opts.run ? { run: resolve(String(opts.run)) } : {}),
      },
      wholeImage: Boolean(opts.wholeImage),
      signal: controller.signal,
      onResult,
    });
    bar.stop();
    await queue.close(); // waits for the removals of cancelled jobs
    const seconds = ((performance.now() - began) / 1000).toFixed(1);
    if (controller.signal.aborted) {
      info(`fakeface: stopped after ${done} of ${files.length} files: removed ${queue.cancelledBeforeStart} waiting job${queue.cancelledBeforeStart === 1 ? '' : 's'} from the queue; jobs a worker had started finish there unseen`);
      return 130;
    }
    info(`fakeface: ${summary.checked} checked, ${summary.failed} failed, in ${seconds} s`);
    return summary.failed > 0 ? 1 : 0;
  } finally {
    bar.stop();
    stopListening();
    await queue.close();
  }
}
