import type { FastifyInstance } from 'fastify';
import type { CheckRef, DetectResponse, JobAccepted, JobEvents } from './api-types.js';
import { answerKey, type CheckRecord, type NewCheck } from '../history/check-history.js';
import { findJobOr404 } from './routes-jobs.js';
import { builtInDetectorInfo, labelBuiltInDetector } from './builtin.js';
import type { ServerContext } from './context.js';
import { withClassifier, type ClassifierChoice } from './detection.js';
import { HttpError } from './http-error.js';
import { isFinished, type JobWork } from './jobs.js';
import { defaultRun, listRuns, resolveRun } from './runs.js';
import { openEventStream } from './sse.js';
import { receiveUpload } from './upload.js';

const THUMBNAIL_FILE = /^(\d{1,2})\.jpg$/;

interface DetectQuery {
  run?: string;
  wholeImage?: string;
}

function parseFlag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new HttpError(400, `${name} must be true or false, not "${value.slice(0, 40)}"`);
}

const refOf = (record: CheckRecord, fromHistory: boolean): CheckRef => ({ id: record.id, fromHistory, checkedAt: record.checkedAt });

export function registerDetectRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { options } = ctx;

  /** The history never fails a check: when it cannot answer or remember, the check goes on without it. */
  const remembered = async (sha256: string, key: string): Promise<CheckRecord | null> => {
    try {
      return await ctx.history.findRepeat(sha256, key);
    } catch (error) {
      ctx.log('the history of checks could not be read', error);
      return null;
    }
  };
  const remember = async (check: NewCheck): Promise<CheckRef | undefined> => {
    if (!ctx.history.info.enabled) return undefined;
    try {
      return refOf(await ctx.history.record(check), false);
    } catch (error) {
      ctx.log(`${check.file}: the check could not be added to the history`, error);
      return undefined;
    }
  };

  /**
   * An image is checked within the request (its JSON is the answer); a video
   * becomes a job (202 with its id) analysed in the background.
   */
  app.post<{ Querystring: DetectQuery }>('/api/detect', async (request, reply) => {
    // Everything that can be refused without the upload is refused first.
    const runDir = request.query.run === undefined ? undefined : resolveRun(options, request.query.run).dir;
    const wholeImage = parseFlag(request.query.wholeImage, 'wholeImage');
    const upload = await receiveUpload(request, ctx.uploadDir, options.maxUploadBytes);
    if (!ctx.detection.available) {
      await upload.remove();
      throw new HttpError(503, `detection is not available: ${ctx.detection.reason}`);
    }
    const choice: ClassifierChoice = runDir ? { run: runDir } : options.detector ? { detector: options.detector } : {};
    const fallbackRun = async () => {
      const id = defaultRun(await listRuns(options));
      return id === null ? null : resolveRun(options, id).dir;
    };

    // A detector stays what it was; a run's discriminator changes as the run trains, so its answers are remembered but never given back.
    const builtIn = choice.run || choice.detector ? null : builtInDetectorInfo();
    const decidedBy = choice.run ? `run:${choice.run}` : choice.detector ? `detector:${choice.detector}` : builtIn ? `builtin:${builtIn.name}` : null;
    const key = answerKey({ decidedBy: decidedBy ?? 'newest-run', wholeImage, version: ctx.version });
    const checked = { file: upload.filename, sha256: upload.sha256, bytes: upload.bytes, answerKey: key };
    const mayRepeat = ctx.history.info.enabled && decidedBy !== null && !choice.run;
    const found = mayRepeat ? await remembered(upload.sha256, key) : null;
    const repeat = found?.result.kind === upload.type.kind ? found : null;
    if (repeat) await upload.remove();

    if (upload.type.kind === 'image') {
      if (repeat?.result.kind === 'image') return { ...repeat.result, file: upload.filename, check: refOf(repeat, true) } satisfies DetectResponse;
      try {
        const file = upload.path;
        const result: DetectResponse = await ctx.requests.add(() => withClassifier(choice, fallbackRun, (c) => ctx.models.run({ kind: 'detect-image', file, opts: { ...c, wholeImage } })));
        result.file = upload.filename;
        result.detector = labelBuiltInDetector(result.detector);
        const check = await remember({ ...checked, result });
        if (check) result.check = check;
        return result;
      } finally {
        await upload.remove();
      }
    }

    let accepted: JobAccepted;
    try {
      const task = { kind: 'analyse-video', file: upload.path, displayName: upload.filename } as const;
      const work: JobWork = async (onProgress, signal) => {
        const outcome = await withClassifier(choice, fallbackRun, (c) => ctx.models.run({ ...task, opts: { ...c, wholeImage } }, { signal, onProgress }));
        const check = await remember({ ...checked, result: outcome.result });
        return check ? { ...outcome, check } : outcome;
      };
      const job =
        repeat?.result.kind === 'video'
          ? ctx.jobs.finished(upload.filename, { result: { ...repeat.result, file: upload.filename }, thumbnails: [], check: refOf(repeat, true) })
          : ctx.jobs.submit(upload.filename, work, upload.remove);
      accepted = { job, statusUrl: `/api/jobs/${job.id}`, eventsUrl: `/api/jobs/${job.id}/events` };
    } catch (error) {
      await upload.remove();
      throw error;
    }
    return reply.code(202).header('Location', accepted.statusUrl).send(accepted);
  });

  const findJob = (id: string) => findJobOr404(ctx, id);

  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (request) => findJob(request.params.id));

  app.get<{ Params: { id: string } }>('/api/jobs/:id/events', async (request, reply) => {
    const job = findJob(request.params.id);
    const stream = openEventStream(reply);
    stream.send('job', job);
    if (isFinished(job.status)) {
      stream.close();
      return;
    }
    const unsubscribe = ctx.jobs.subscribe(job.id, <E extends keyof JobEvents>(event: E, data: JobEvents[E]) => {
      stream.send(event, data);
      if (event === 'job' && isFinished(job.status)) stream.close();
    });
    stream.onClose(unsubscribe);
  });

  app.get<{ Params: { id: string; file: string } }>('/api/jobs/:id/frames/:file', async (request, reply) => {
    const job = findJob(request.params.id);
    const match = THUMBNAIL_FILE.exec(request.params.file);
    const jpeg = match ? ctx.jobs.thumbnail(job.id, Number(match[1])) : undefined;
    if (!jpeg) throw new HttpError(404, `job ${job.id} has no frame thumbnail "${request.params.file.slice(0, 40)}"`);
    return reply.type('image/jpeg').header('Cache-Control', 'private, max-age=3600').send(jpeg);
  });
}
