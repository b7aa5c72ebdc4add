import type { FastifyInstance } from 'fastify';
import type { GenerateGridRequest, GenerateInterpolationRequest } from './api-types.js';
import type { ServerContext } from './context.js';
import { checkInteger, checkSeed, generateGrid, generateInterpolation, MAX_GRID_FACES, MAX_INTERPOLATION_STEPS } from './generate.js';
import { HttpError } from './http-error.js';
import { defaultRun, listRuns, resolveRun, TRAIN_COMMAND } from './runs.js';

type GenerateBody = GenerateGridRequest & Partial<GenerateInterpolationRequest>;

/** experiment:run becomes experiment-run in a file name. */
const fileSafe = (id: string) => id.replace(/:/g, '-');

const KNOWN_KEYS = new Set(['run', 'count', 'seed', 'columns', 'seedA', 'seedB', 'steps']);

export function registerGenerateRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { runsDir } = ctx.options;

  /** A PNG: a grid of faces from a seed, or the interpolation strip between two seeds' faces. */
  app.post<{ Body: unknown }>('/api/generate', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'expected a JSON object body, e.g. {"count": 16, "seed": 1} or {"seedA": 1, "seedB": 2, "steps": 8}');
    }
    const unknown = Object.keys(body).filter((k) => !KNOWN_KEYS.has(k));
    if (unknown.length) throw new HttpError(400, `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k.slice(0, 40)}"`).join(', ')}`, `known fields: ${[...KNOWN_KEYS].join(', ')}`);
    const request_ = body as GenerateBody;
    const interpolate = request_.seedA !== undefined || request_.seedB !== undefined || request_.steps !== undefined;

    let runId = request_.run;
    if (runId === undefined) {
      runId = defaultRun(await listRuns(ctx.options)) ?? undefined;
      if (runId === undefined) throw new HttpError(404, `no run with a checkpoint in ${runsDir}`, `train one first: ${TRAIN_COMMAND}`);
    }
    const runDir = resolveRun(ctx.options, runId).dir;

    let result;
    let name: string;
    if (interpolate) {
      if (request_.count !== undefined || request_.seed !== undefined || request_.columns !== undefined) {
        throw new HttpError(400, 'send either {count, seed, columns} for a grid or {seedA, seedB, steps} for an interpolation, not both');
      }
      const seedA = checkSeed(request_.seedA, 'seedA');
      const seedB = checkSeed(request_.seedB, 'seedB');
      const steps = checkInteger(request_.steps, 'steps', 2, MAX_INTERPOLATION_STEPS, 8);
      result = await ctx.requests.add(() => generateInterpolation(runDir, seedA, seedB, steps));
      name = `fakeface-${fileSafe(runId)}-seeds-${seedA}-${seedB}.png`;
    } else {
      const count = checkInteger(request_.count, 'count', 1, MAX_GRID_FACES, 16);
      const seed = checkSeed(request_.seed, 'seed', 0);
      const columns = request_.columns === undefined ? undefined : checkInteger(request_.columns, 'columns', 1, MAX_GRID_FACES);
      result = await ctx.requests.add(() => generateGrid(runDir, count, seed, columns));
      name = `fakeface-${fileSafe(runId)}-seed-${seed}-${count}.png`;
    }
    return reply
      .type('image/png')
      .header('Content-Disposition', `inline; filename="${name}"`)
      .header('Cache-Control', 'no-store')
      .header('X-Fakeface-Run', runId)
      .header('X-Fakeface-Iteration', String(result.iteration))
      .send(result.png);
  });
}
