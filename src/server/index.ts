/**
 * The web app's server: the JSON API over the library (detect, generate, runs)
 * and the built page (web/dist), on Fastify. The CLI's `fakeface serve` only
 * parses flags and calls createServer().
 *
 *   const server = await createServer({ runsDir: 'runs', port: 0 });
 *   console.log(await server.listen());   // http://127.0.0.1:41234
 *   ...
 *   await server.close();
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import type { EngineInfo } from '../engine/index.js';
import type { Health, HistoryInfo } from './api-types.js';
import { registerCompression } from './compression.js';
import type { ServerContext } from './context.js';
import { HttpError, toHttpResponse } from './http-error.js';
import { JobStore } from './jobs.js';
import { BullmqJobQueue } from '../queue/bullmq-queue.js';
import { InProcessJobQueue } from '../queue/in-process-queue.js';
import { redactUrl, type JobQueue } from '../queue/job-queue.js';
import { ModelPool, type DetectionStatus } from './model-pool.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import { WorkQueue } from './queue.js';
import { openCheckHistory } from '../history/index.js';
import { registerCheckRoutes } from './routes-checks.js';
import { registerDetectRoutes } from './routes-detect.js';
import { registerGenerateRoutes } from './routes-generate.js';
import { registerJobRoutes } from './routes-jobs.js';
import { registerRunRoutes } from './routes-runs.js';
import { listRuns } from './runs.js';
import { RunWatchers } from './run-watch.js';

export type { ServerOptions, ResolvedServerOptions } from './options.js';
export type * from './api-types.js';
export { sniff, type Sniffed } from './sniff.js';

export interface FakefaceServer {
  readonly app: FastifyInstance;
  readonly options: ResolvedServerOptions;
  readonly engine: EngineInfo;
  /** Where checks are remembered. */
  readonly history: HistoryInfo;
  /** Every route, as "METHOD /path" (HEAD routes left out). */
  readonly routes: readonly string[];
  /** The URL once listen() has resolved, else null. */
  readonly url: string | null;
  /** Binds options.host:options.port and resolves to the URL (http://127.0.0.1:PORT). */
  listen(): Promise<string>;
  /** Stops accepting requests, ends event streams and removes this server's temporary files. */
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const VERSION = (require('../../package.json') as { version: string }).version;
/** The OpenAPI document (checked in at the package root as openapi.json). */
export const OPENAPI_FILE = new URL('../../openapi.json', import.meta.url);

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
}

/** The Host header without its port. */
function hostName(header: string | undefined): string {
  if (!header) return '';
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.replace(/:\d+$/, '');
}

const defaultLog = (message: string, error?: unknown) => {
  const detail = error instanceof Error ? `: ${error.stack ?? error.message}` : error === undefined ? '' : `: ${String(error)}`;
  process.stderr.write(`fakeface serve: ${message}${detail}\n`);
};

/**
 * Where the models run. In process (the default): worker threads here, the first
 * started now and saying which engine it runs on. With options.queue: workers
 * behind Redis, and none here (detection is the workers' to report, per job).
 */
async function startJobQueue(options: ResolvedServerOptions, log: (message: string, error?: unknown) => void): Promise<{ models: JobQueue; engine: EngineInfo; detection: DetectionStatus }> {
  if (options.queue !== undefined) {
    const models = await BullmqJobQueue.connect(options.queue, { log });
    const description = `queue ${redactUrl(options.queue)} (models run on fakeface workers)`;
    const engine: EngineInfo = { backend: 'cpu', threads: 0, simd: false, nativeBlas: false, reason: 'this server runs no models: fakeface worker processes do', description };
    return { models, engine, detection: { available: true, reason: null } };
  }
  const cores = availableParallelism();
  const pool = new ModelPool(options.workers, { backend: options.backend, threads: Math.max(1, Math.floor(cores / options.workers)) }, log);
  try {
    const { engine, detection } = await pool.start();
    return { models: new InProcessJobQueue(pool), engine, detection };
  } catch (error) {
    await pool.close();
    throw error;
  }
}

/**
 * Builds the server (routes, model workers, upload folder) without binding a port.
 * The models run in worker threads (./model-pool.ts), each with its own tfjs
 * backend (by default detection's: the native cpu backend where the addon has its
 * kernels, else wasm); the first is started here and says which engine it runs on.
 */
export async function createServer(opts: ServerOptions & { log?: (message: string, error?: unknown) => void } = {}): Promise<FakefaceServer> {
  const options = resolveServerOptions(opts);
  const log = opts.log ?? defaultLog;
  const { models, engine, detection } = await startJobQueue(options, log);
  let history;
  try {
    history = openCheckHistory({
      enabled: options.history,
      file: options.historyFile,
      redisUrl: options.queue,
      retentionDays: options.historyDays,
      maxChecks: options.historyMaxChecks,
      log,
    });
  } catch (error) {
    await models.close();
    throw error;
  }
  const pruneHistory = () => history.prune().catch((error: unknown) => log('pruning the history of checks failed', error));
  void pruneHistory();
  const pruner = setInterval(() => void pruneHistory(), 3600_000).unref();
  const uploadDir = await mkdtemp(join(options.tmpDir, 'fakeface-uploads-'));
  const openapi = readFileSync(OPENAPI_FILE, 'utf8');

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true, forceCloseConnections: true });
  const jobs = new JobStore(new WorkQueue('video analyses', options.concurrentJobs, options.queuedJobs, 30), options.jobTtlSeconds * 1000, log);
  const requests = new WorkQueue('requests', options.concurrentRequests, options.queuedRequests, 5);
  const watchers = new RunWatchers(options.watchIntervalMs, log);
  const ctx: ServerContext = { options, engine, uploadDir, jobs, requests, watchers, models, detection, history, version: VERSION, log };
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${route.url}`);
  });

  app.setErrorHandler((error, request, reply) => {
    const response = toHttpResponse(error);
    if (response.status >= 500 && !(error instanceof HttpError)) log(`${request.method} ${request.url} failed`, error);
    return reply.code(response.status).headers(response.headers).send(response.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const message = path.startsWith('/api/') ? `no such endpoint: ${request.method} ${path.slice(0, 200)}` : `not found: ${path.slice(0, 200)}`;
    return reply.code(404).send({ error: message, hint: 'the API is described at /api/openapi.json' });
  });

  app.addHook('onRequest', async (request) => {
    // DNS rebinding: a page on evil.example that resolves to 127.0.0.1 must not reach a loopback-only server.
    if (isLoopback(options.host) && !isLoopback(hostName(request.headers.host))) {
      throw new HttpError(403, `host "${hostName(request.headers.host).slice(0, 100)}" not allowed: this server answers on localhost only`);
    }
    // Other sites' pages may not post uploads here (there is no CORS: same origin only).
    const origin = request.headers.origin;
    if (origin && request.method !== 'GET' && request.method !== 'HEAD') {
      let originHost = '';
      try {
        originHost = new URL(origin).host;
      } catch {
        // "null" or garbage: refused below.
      }
      if (originHost !== request.headers.host) throw new HttpError(403, `cross-origin request from ${origin.slice(0, 100)} refused`);
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html') && !request.url.startsWith('/experiments/')) {
      reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    }
    return payload;
  });

  // First: compression hooks each route as it is added.
  await registerCompression(app);
  await app.register(fastifyMultipart, { limits: { fileSize: options.maxUploadBytes, files: 1, fields: 10, parts: 12 } });
  // Decorates reply.sendFile (samples, reports); serves nothing by itself.
  await app.register(fastifyStatic, { serve: false, root: uploadDir });
  const webBuilt = existsSync(join(options.webDir, 'index.html'));
  if (webBuilt) {
    await app.register(fastifyStatic, {
      root: options.webDir,
      prefix: '/',
      decorateReply: false,
      cacheControl: false,
      setHeaders(reply, path) {
        // Vite names assets by content hash: cache them for good, but always revalidate the page.
        reply.header('Cache-Control', path.includes(`${join('assets', '')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><meta charset="utf-8"><title>fakeface</title><h1>fakeface</h1><p>The web page is not built (no ${options.webDir}/index.html). Run <code>npm run build</code>, then restart <code>fakeface serve</code>. The API works: <a href="/api/health">/api/health</a>, <a href="/api/openapi.json">/api/openapi.json</a>.</p>`),
    );
  }

  app.get('/api/health', async (): Promise<Health> => {
    return {
      status: 'ok',
      version: VERSION,
      engine: engine.description,
      detection,
      runsDir: options.runsDir,
      runs: (await listRuns(options)).length,
      jobs: jobs.counts,
      queue: await models.health(),
      maxUploadBytes: options.maxUploadBytes,
      uptimeSeconds: Math.round(process.uptime()),
      history: history.info,
    };
  });
  app.get('/api/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').send(openapi));
  registerDetectRoutes(app, ctx);
  registerCheckRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerGenerateRoutes(app, ctx);
  registerRunRoutes(app, ctx);

  let url: string | null = null;
  let closed = false;
  return {
    app,
    options,
    engine,
    history: history.info,
    routes,
    get url() {
      return url;
    },
    async listen() {
      const address = await app.listen({ host: options.host, port: options.port });
      const port = new URL(address).port;
      const host = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
      url = `http://${host}:${port}`;
      return url;
    },
    async close() {
      if (closed) return;
      closed = true;
      watchers.close();
      jobs.close();
      await app.close();
      await models.close();
      clearInterval(pruner);
      await history.close();
      await rm(uploadDir, { recursive: true, force: true });
    },
  };
}
