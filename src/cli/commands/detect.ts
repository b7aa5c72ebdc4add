import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { KeyFrameKeeper, outputStem, writeImageAnnotation, writeVideoAnnotations } from '../../detect/annotate.js';
import { detectImage, detectVideo, sniffMedia, type Detection, type DetectOptions, type DetectorInfo, type FailedInput } from '../../detect/index.js';
import { nonRegularFileProblem } from '../../data/regular-file.js';
import { writeCheckReport } from '../../report/write-check-report.js';
import { FakefaceError, MediaFileError, UsageError } from '../../errors.js';
import { BUILT_IN_DETECTOR_NAME } from '../../models/builtin.js';
import { builtInDetectorOrExplain } from '../builtin-choice.js';
import { DETECTION_HEADER, detectionRow } from '../detection-rows.js';
import { action, formatTable, info, reportError } from '../output.js';
import { ProgressBar } from '../progress.js';
import { cpuEngineOptions, engineOptions, withEngineOptions } from './engine-options.js';

function positiveNumber(value: unknown, flag: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be a positive ${integer ? 'integer' : 'number'}, not "${String(value)}"`);
  }
  return n;
}

/** Makes an output folder before any work, so a bad --annotate/--report path fails at once in one line. */
async function outputFolder(dir: string | undefined, flag: string): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag} ${dir}: cannot make the folder (${code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way' : (code ?? String(error))})`);
  }
  return dir;
}

export function registerDetect(program: Command): void {
  const command = program
    .command('detect')
    .description('find the faces in images and videos and score each as real or fake')
    .argument('<files...>', 'images (JPEG, PNG, WebP ...) and videos (MP4, MOV, MKV, WebM ...), told apart by content')
    .option('--detector <dir>', `a detector trained with \`fakeface detector train\` (default: the built-in ${BUILT_IN_DETECTOR_NAME})`)
    .option('--run <dir>', "or: a GAN run whose discriminator scores the faces (the paper's detector; p(fake) = 1 - D)")
    .option('--whole-image', 'score the whole picture (or frame) when no face is found')
    .option('--fps <n>', 'video: frames per second to analyse (default 2, at most 120 frames)')
    .option('--frames <n>', 'video: analyse this many frames, spread evenly over it')
    .option('--annotate <dir>', 'write each image with boxes, verdicts and the region map (red: looks generated, blue: looks real) drawn, and for videos the key frames and a timeline (SVG)')
    .option('--report <dir>', 'write a shareable report of each file: <name>.report.html (one self-contained page: verdict in words, annotated picture, per-face scores and region maps, the detector and its measured limits, the file\'s SHA-256, size and time of check) and <name>.report.png (the annotated picture; for a video its most suspicious frame)')
    .option('--json', 'print JSON ({detector, results: [...]}) instead of a table; with --queue, one JSON line per file as it finishes')
    .option('--queue <url>', 'check the files (folders: recursively) on `fakeface worker` processes through Redis (redis://host:6379), printing each result as it finishes; the workers open the files at the same absolute paths, so they must see them there (same machine, or a shared folder mounted at the same path)');
  withEngineOptions(command);
  command.addHelpText(
    'after',
    '\nExamples:\n  fakeface detect photo.jpg\n  fakeface detect photo.jpg group.png clip.mp4 --detector detectors/d1\n  fakeface detect clip.mp4 --detector detectors/d1 --fps 4 --annotate out/ --json\n  fakeface detect photo.jpg --run runs/dcgan64\n  fakeface detect photo.jpg clip.mp4 --report reports/\n  fakeface detect --queue redis://127.0.0.1:6379 /shared/photos/ --json\n',
  );
  command.action(
    action(async (files: string[], opts: Record<string, unknown>) => {
      if (opts.detector && opts.run) throw new UsageError('give --detector or --run, not both');
      // Loaded only here: BullMQ and ioredis stay out of every other start.
      if (opts.queue !== undefined) return (await import('./detect-queue.js')).detectOnQueue(files, opts);
      const annotateDir = await outputFolder(opts.annotate as string | undefined, '--annotate');
      const reportDir = await outputFolder(opts.report as string | undefined, '--report');
      if (!opts.detector && !opts.run) opts.detector = builtInDetectorOrExplain();
      if (opts.fps !== undefined && opts.frames !== undefined) throw new UsageError('give --fps or --frames, not both');
      const engine = cpuEngineOptions(opts);
      const detectOptions: DetectOptions = {
        detector: opts.detector as string | undefined,
        run: opts.run as string | undefined,
        wholeImage: Boolean(opts.wholeImage),
        fps: opts.fps === undefined ? undefined : positiveNumber(opts.fps, '--fps', false),
        frames: opts.frames === undefined ? undefined : positiveNumber(opts.frames, '--frames', true),
        // --backend auto: detection's own choice (native cpu where the addon has its kernels, else wasm).
        backend: engine.backend === 'auto' ? undefined : engine.backend,
        threads: engine.threads,
      };
      const stems = new Set<string>();
      const results: (Detection | FailedInput)[] = [];
      let detector: DetectorInfo | null = null;
      let failed = 0;
      for (const file of files) {
        let bar: ProgressBar | undefined;
        try {
          // Before any open: opening a FIFO blocks until a writer comes, a device never ends.
          const notRegular = await nonRegularFileProblem(file);
          if (notRegular) throw new MediaFileError(file, notRegular);
          const kind = await sniffMedia(file);
          // One safe, unique name per input for everything written about it.
          const stem = annotateDir || reportDir ? outputStem(file, stems) : '';
          const checkedAt = new Date();
          let result: Detection;
          let keeper: KeyFrameKeeper | undefined;
          if (kind === 'video') {
            keeper = annotateDir || reportDir ? new KeyFrameKeeper() : undefined;
            result = await detectVideo(file, {
              ...detectOptions,
              onFrame: keeper?.offer,
              onProgress: (done, total) => {
                if (total === null) return;
                bar ??= new ProgressBar(`frames of ${file}`, total);
                bar.update(done);
              },
            });
            bar?.stop();
            if (annotateDir) for (const path of await writeVideoAnnotations(annotateDir, stem, result, keeper!)) info(`fakeface: wrote ${path}`);
          } else {
            result = await detectImage(file, detectOptions);
            if (annotateDir) info(`fakeface: wrote ${await writeImageAnnotation(annotateDir, stem, result)}`);
          }
          if (reportDir) for (const path of await writeCheckReport(reportDir, stem, file, result, { checkedAt, keeper })) info(`fakeface: wrote ${path}`);
          detector ??= result.detector;
          results.push(result);
        } catch (error) {
          bar?.stop();
          // A bad input is one row; a problem with the classifier or the setup stops everything.
          const fileError = error instanceof FakefaceError ? (error as FakefaceError & { file?: unknown; problem?: unknown }) : null;
          if (!fileError || fileError.file !== file) throw error;
          failed++;
          results.push({ kind: 'error', file, verdict: 'error', error: typeof fileError.problem === 'string' ? fileError.problem : fileError.message });
          if (!opts.json && files.length === 1) return reportError(error);
        }
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify({ detector, results }, null, 2) + '\n');
      } else {
        if (detector) info(`fakeface: ${detector.name}; p(fake) >= ${detector.threshold.toFixed(3)} is called fake`);
        if (detector?.about) info(`fakeface: measured on outside data: ${detector.about.outsideResults}`);
        process.stdout.write(formatTable(DETECTION_HEADER, results.map(detectionRow)) + '\n');
      }
      return failed > 0 ? 1 : 0;
    }),
  );
}
