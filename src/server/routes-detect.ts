import type { FastifyInstance } from 'fastify';
import type { JobAccepted, JobEvents } from './api-types.js';
import { findJobOr404 } from './routes-jobs.js';
import { labelBuiltInDetector } from './builtin.js';
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

export function registerDetectRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { options } = ctx;

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

    if (upload.type.kind === 'image') {
      try {
        const file = upload.path;
        const result = await ctx.requests.add(() => withClassifier(choice, fallbackRun, (c) => ctx.models.run({ kind: 'detect-image', file, opts: { ...c, wholeImage } })));
        result.file = upload.filename;
        result.detector = labelBuiltInDetector(result.detector);
        return result;
      } finally {
        await upload.remove();
      }
    }

    let accepted: JobAccepted;
    try {
      const task = { kind: 'analyse-video', file: upload.path, displayName: upload.filename } as const;
      const work: JobWork = (onProgress, signal) => withClassifier(choice, fallbackRun, (c) => ctx.models.run({ ...task, opts: { ...c, wholeImage } }, { signal, onProgress }));
      const job = ctx.jobs.submit(upload.filename, work, upload.remove);
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
