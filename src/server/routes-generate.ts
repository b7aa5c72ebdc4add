import type { FastifyInstance } from 'fastify';
import { isConditioned, parseConditionRequest, type ConditionRequest } from '../data/conditions.js';
import { defaultGenerator } from '../models/builtin.js';
import { readRunConfig } from '../train/checkpoint.js';
import type { GenerateGridRequest, GenerateInterpolationRequest } from './api-types.js';
import { builtInGeneratorDir, builtInId } from './builtin.js';
import type { ServerContext } from './context.js';
import { checkInteger, checkSeed, DEFAULT_PADDING, MAX_GRID_FACES, MAX_INTERPOLATION_STEPS, MAX_PADDING } from './generate.js';
import { HttpError } from './http-error.js';
import { checkRunId, defaultRun, listRuns, resolveRun, TRAIN_COMMAND } from './runs.js';

type GenerateBody = GenerateGridRequest & Partial<GenerateInterpolationRequest>;

/** experiment:run becomes experiment-run in a file name. */
const fileSafe = (id: string) => id.replace(/:/g, '-');

const KNOWN_KEYS = new Set(['run', 'count', 'seed', 'columns', 'seedA', 'seedB', 'steps', 'padding', 'age', 'gender', 'race']);

/**
 * The labels a request asks a conditional generator for (`age`, `gender`, `race`, each
 * a string as `fakeface generate` takes it, or "any"): 400 for unknown values, and for
 * labels sent to an unconditional generator.
 */
function requestedLabels(body: GenerateBody): ConditionRequest {
  const values: Record<string, string | undefined> = {};
  for (const key of ['age', 'gender', 'race'] as const) {
    const value = body[key];
    if (value !== undefined && typeof value !== 'string') throw new HttpError(400, `${key} must be a string such as "any", not ${JSON.stringify(value)}`);
    values[key] = value;
  }
  return parseConditionRequest(values, '');
}

async function checkConditional(request: ConditionRequest, runId: string, runDir: string): Promise<ConditionRequest> {
  if (isConditioned(request) && !(await readRunConfig(runDir)).config.conditional) {
    throw new HttpError(400, `${runId} is not a conditional generator: it cannot take age, gender or race`, 'choose a conditional run or generator (conditional: true in GET /api/runs), or send "any"');
  }
  return request;
}

/**
 * The generator a request names: a run, or the built-in one by its id. None named:
 * the built-in generator (as `fakeface generate` without --run), else the newest
 * run with a checkpoint; 404 when there is neither.
 */
async function chooseGenerator(ctx: ServerContext, run: unknown, conditional: boolean): Promise<{ id: string; dir: string }> {
  if (run === undefined) {
    // Labels asked for: the conditional built-in generator, the only one that can draw them.
    const builtIn = defaultGenerator(conditional);
    if (builtIn) return { id: builtInId(builtIn.name), dir: builtIn.dir };
    const newest = defaultRun(await listRuns(ctx.options));
    if (newest === null) throw new HttpError(404, `no run with a checkpoint in ${ctx.options.runsDir}, and no built-in generator`, `train one first: ${TRAIN_COMMAND}`);
    run = newest;
  }
  const id = checkRunId(run);
  return { id, dir: builtInGeneratorDir(id) ?? resolveRun(ctx.options, id).dir };
}

export function registerGenerateRoutes(app: FastifyInstance, ctx: ServerContext): void {
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

    const asked = requestedLabels(request_);
    const { id: runId, dir: runDir } = await chooseGenerator(ctx, request_.run, isConditioned(asked));
    const padding = checkInteger(request_.padding, 'padding', 0, MAX_PADDING, DEFAULT_PADDING);
    const labels = await checkConditional(asked, runId, runDir);

    let result;
    let name: string;
    if (interpolate) {
      if (request_.count !== undefined || request_.seed !== undefined || request_.columns !== undefined) {
        throw new HttpError(400, 'send either {count, seed, columns} for a grid or {seedA, seedB, steps} for an interpolation, not both');
      }
      const seedA = checkSeed(request_.seedA, 'seedA');
      const seedB = checkSeed(request_.seedB, 'seedB');
      const steps = checkInteger(request_.steps, 'steps', 2, MAX_INTERPOLATION_STEPS, 8);
      result = await ctx.requests.add(() => ctx.models.run({ kind: 'generate-interpolation', runDir, seedA, seedB, steps, padding, labels }));
      name = `fakeface-${fileSafe(runId)}-seeds-${seedA}-${seedB}.png`;
    } else {
      const count = checkInteger(request_.count, 'count', 1, MAX_GRID_FACES, 16);
      const seed = checkSeed(request_.seed, 'seed', 0);
      const columns = request_.columns === undefined ? undefined : checkInteger(request_.columns, 'columns', 1, MAX_GRID_FACES);
      result = await ctx.requests.add(() => ctx.models.run({ kind: 'generate-grid', runDir, count, seed, columns, padding, labels }));
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
