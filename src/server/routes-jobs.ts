/**
 * Controlling a video job: DELETE /api/jobs/:id cancels it. (Following one,
 * GET /api/jobs/:id and its events, lives beside the upload in routes-detect.ts.)
 */
import type { FastifyInstance } from 'fastify';
import type { Job } from './api-types.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-error.js';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The job with this id; 400 for a malformed id, 404 for an unknown (or forgotten) one. */
export function findJobOr404(ctx: ServerContext, id: string): Job {
  if (!JOB_ID.test(id)) throw new HttpError(400, `invalid job id "${id.slice(0, 80)}"`);
  const job = ctx.jobs.get(id);
  if (!job) throw new HttpError(404, `no job ${id}`, `finished jobs are kept for ${Math.round(ctx.options.jobTtlSeconds / 60)} min`);
  return job;
}

export function registerJobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  /**
   * Stops the job (a queued one never starts, a running one stops at its next
   * frame and its ffmpeg is killed), deletes its upload, and answers with the job
   * once it has stopped: status "cancelled", or what it had already come to.
   */
  app.delete<{ Params: { id: string } }>('/api/jobs/:id', async (request) => {
    const job = findJobOr404(ctx, request.params.id);
    return (await ctx.jobs.cancel(job.id)) ?? job;
  });
}
