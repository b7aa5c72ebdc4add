import { existsSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { runPaths } from '../train/run-folder.js';
import type { RunEvents, RunList } from './api-types.js';
import { builtInDetectorInfo, builtInGeneratorInfo, builtInGeneratorsInfo } from './builtin.js';
import type { ServerContext } from './context.js';
import { defaultDetectorName } from './detection.js';
import { HttpError } from './http-error.js';
import { RUN_ID_PATTERN } from './options.js';
import { defaultRun, listExperiments, listRuns, listSamples, resolveRun, runDetail, TRAIN_COMMAND } from './runs.js';
import { openEventStream } from './sse.js';

const SAMPLE_FILE = /^step_\d{6,}\.png$/;
/** What an experiment's report may link to. */
const REPORT_ASSET = /\.(html|css|js|json|png|jpe?g|svg|webp|csv|txt)$/i;

export function registerRunRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { runsDir, experimentsDir } = ctx.options;
  const roots = ctx.options;

  app.get('/api/runs', async (): Promise<RunList> => {
    const runs = await listRuns(roots);
    const builtInDetector = builtInDetectorInfo();
    return {
      runsDir,
      runs,
      defaultRun: defaultRun(runs),
      builtInGenerator: await builtInGeneratorInfo(ctx.log),
      builtInGenerators: await builtInGeneratorsInfo(ctx.log),
      builtInDetector,
      defaultDetector: defaultDetectorName(ctx.options.detector, builtInDetector, defaultRun(runs)),
      experiments: await listExperiments(experimentsDir),
      trainCommand: TRAIN_COMMAND,
    };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id', async (request) => runDetail(resolveRun(roots, request.params.id)));

  app.get<{ Params: { id: string } }>('/api/runs/:id/events', async (request, reply) => {
    const run = resolveRun(roots, request.params.id);
    const stream = openEventStream(reply);
    const unsubscribe = await ctx.watchers.subscribe(run, <E extends keyof RunEvents>(event: E, data: RunEvents[E]) => stream.send(event, data));
    stream.onClose(unsubscribe);
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/samples/latest.png', async (request, reply) => {
    const { dir, id } = resolveRun(roots, request.params.id);
    const samples = await listSamples(dir, id);
    const latest = samples[samples.length - 1];
    if (!latest) throw new HttpError(404, `run "${id}" has no sample grid yet`, 'a run writes one every --sample-every iterations');
    const file = latest.url.slice(latest.url.lastIndexOf('/') + 1);
    return reply
      .header('Cache-Control', 'no-store')
      .header('X-Fakeface-Iteration', String(latest.iteration))
      .sendFile(file, runPaths(dir).samples, { cacheControl: false });
  });

  app.get<{ Params: { id: string; file: string } }>('/api/runs/:id/samples/:file', async (request, reply) => {
    const { dir } = resolveRun(roots, request.params.id);
    const { file } = request.params;
    if (!SAMPLE_FILE.test(file)) throw new HttpError(400, `invalid sample name "${file.slice(0, 80)}"`, 'sample grids are named step_NNNNNN.png');
    if (!existsSync(join(runPaths(dir).samples, file))) throw new HttpError(404, `run "${request.params.id}" has no sample ${file}`);
    return reply.header('Cache-Control', 'private, max-age=3600').sendFile(file, runPaths(dir).samples, { cacheControl: false });
  });

  /** An experiment's report and the files it links to: experiments/<id>/report.html, figures ... */
  app.get<{ Params: { id: string; '*': string } }>('/experiments/:id/*', async (request, reply) => {
    const { id } = request.params;
    const rest = request.params['*'];
    if (!RUN_ID_PATTERN.test(id) || id === '.' || id === '..') throw new HttpError(400, `invalid experiment id "${id.slice(0, 80)}"`);
    const segments = rest.split('/');
    if (!REPORT_ASSET.test(rest) || segments.some((s) => !RUN_ID_PATTERN.test(s) || s === '.' || s === '..' || s.startsWith('.'))) {
      throw new HttpError(400, `invalid report path "${rest.slice(0, 120)}"`);
    }
    const root = join(experimentsDir, id);
    const file = join(root, ...segments);
    if (!existsSync(file)) throw new HttpError(404, `experiment "${id}" has no ${rest}`);
    // A symlink inside the experiment must not lead out of it.
    const real = realpathSync(file);
    const realRoot = realpathSync(root);
    if (relative(realRoot, real).startsWith('..') || real.split(sep).includes('..')) throw new HttpError(404, `experiment "${id}" has no ${rest}`);
    return reply.header('Cache-Control', 'no-cache').sendFile(segments.join('/'), root, { cacheControl: false });
  });
}
