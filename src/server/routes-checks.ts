/** The history of checks: GET /api/checks (search, newest first) and GET /api/checks/:id. */
import type { FastifyInstance } from 'fastify';
import type { CheckList, CheckRecord } from './api-types.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-error.js';
import { MAX_LIST_LIMIT } from '../history/check-history.js';

const CHECK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface ListQuery {
  q?: string;
  limit?: string;
  offset?: string;
}

function whole(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, not "${value.slice(0, 40)}"`);
  return n;
}

export function registerCheckRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Querystring: ListQuery }>('/api/checks', async (request): Promise<CheckList> => {
    const { q } = request.query;
    if (q !== undefined && q.length > 200) throw new HttpError(400, 'q is longer than 200 characters');
    const limit = whole(request.query.limit, 'limit', 1, MAX_LIST_LIMIT, 50);
    const offset = whole(request.query.offset, 'offset', 0, 10_000_000, 0);
    const { checks, total } = await ctx.history.list({ q, limit, offset });
    return { checks, total, history: ctx.history.info };
  });

  app.get<{ Params: { id: string } }>('/api/checks/:id', async (request): Promise<CheckRecord> => {
    const { id } = request.params;
    if (!CHECK_ID.test(id)) throw new HttpError(400, `invalid check id "${id.slice(0, 80)}"`);
    const record = await ctx.history.get(id);
    if (!record) {
      const why = ctx.history.info.enabled ? `checks are kept for ${ctx.history.info.retentionDays} days` : 'this server keeps no history (--no-history)';
      throw new HttpError(404, `no check ${id}`, why);
    }
    return record;
  });
}
