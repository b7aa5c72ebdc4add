/**
 * What travels through the job queue: a model task (the same ModelTask the
 * server's worker threads take) and its result, both as JSON. Both sides check a
 * payload with parseJobPayload(): the server before it queues a job, the worker
 * before it runs one, so a malformed job fails alone with one line and never
 * reaches a model. Buffers (thumbnails, PNGs) travel as base64.
 */
import { isAbsolute } from 'node:path';
import { InvalidJobError } from '../errors.js';
import type { ModelResults, ModelTask } from '../server/model-tasks.js';

export { InvalidJobError };

const KINDS = ['detect-image', 'analyse-video', 'generate-grid', 'generate-interpolation'] as const;

type Fields = Record<string, unknown>;

function object(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidJobError(`invalid job: ${what} must be an object`);
  return value as Fields;
}

function path(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096 || !isAbsolute(value) || value.includes('\0')) {
    throw new InvalidJobError(`invalid job: ${what} must be an absolute path`);
  }
  return value;
}

function optionalPath(value: unknown, what: string): string | undefined {
  return value === undefined ? undefined : path(value, what);
}

function integer(value: unknown, what: string, min: number, max: number, optional = false): number | undefined {
  if (value === undefined && optional) return undefined;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw new InvalidJobError(`invalid job: ${what} must be an integer from ${min} to ${max}`);
  return value as number;
}

function choice(value: unknown): Extract<ModelTask, { kind: 'detect-image' }>['opts'] {
  const opts = object(value ?? {}, 'opts');
  for (const key of Object.keys(opts)) if (!['detector', 'run', 'wholeImage'].includes(key)) throw new InvalidJobError(`invalid job: unknown option "${key.slice(0, 40)}"`);
  if (opts.wholeImage !== undefined && typeof opts.wholeImage !== 'boolean') throw new InvalidJobError('invalid job: opts.wholeImage must be true or false');
  const result: Extract<ModelTask, { kind: 'detect-image' }>['opts'] = {};
  const detector = optionalPath(opts.detector, 'opts.detector');
  const run = optionalPath(opts.run, 'opts.run');
  if (detector !== undefined) result.detector = detector;
  if (run !== undefined) result.run = run;
  if (opts.wholeImage !== undefined) result.wholeImage = opts.wholeImage as boolean;
  return result;
}

function labels(value: unknown): { ageBucket?: number; gender?: number; race?: number } | undefined {
  if (value === undefined) return undefined;
  const fields = object(value, 'labels');
  const result: { ageBucket?: number; gender?: number; race?: number } = {};
  for (const key of Object.keys(fields)) {
    if (key !== 'ageBucket' && key !== 'gender' && key !== 'race') throw new InvalidJobError(`invalid job: unknown label "${key.slice(0, 40)}"`);
    const n = integer(fields[key], `labels.${key}`, 0, 100, true);
    if (n !== undefined) result[key] = n;
  }
  return result;
}

/** The model task in `value`, checked field by field; throws InvalidJobError naming the first bad field. */
export function parseJobPayload(value: unknown): ModelTask {
  const fields = object(value, 'the payload');
  const kind = fields.kind;
  if (!KINDS.includes(kind as (typeof KINDS)[number])) throw new InvalidJobError(`invalid job: unknown kind "${String(kind).slice(0, 40)}"`);
  switch (kind as ModelTask['kind']) {
    case 'detect-image':
      return { kind: 'detect-image', file: path(fields.file, 'file'), opts: choice(fields.opts) };
    case 'analyse-video': {
      const displayName = fields.displayName;
      if (typeof displayName !== 'string' || displayName.length > 400) throw new InvalidJobError('invalid job: displayName must be a string');
      return { kind: 'analyse-video', file: path(fields.file, 'file'), displayName, opts: choice(fields.opts) };
    }
    case 'generate-grid': {
      const task: ModelTask = {
        kind: 'generate-grid',
        runDir: path(fields.runDir, 'runDir'),
        count: integer(fields.count, 'count', 1, 256)!,
        seed: integer(fields.seed, 'seed', 0, 2 ** 32)!,
        padding: integer(fields.padding, 'padding', 0, 64)!,
      };
      const columns = integer(fields.columns, 'columns', 1, 256, true);
      if (columns !== undefined) task.columns = columns;
      const asked = labels(fields.labels);
      if (asked) task.labels = asked;
      return task;
    }
    case 'generate-interpolation': {
      const task: ModelTask = {
        kind: 'generate-interpolation',
        runDir: path(fields.runDir, 'runDir'),
        seedA: integer(fields.seedA, 'seedA', 0, 2 ** 32)!,
        seedB: integer(fields.seedB, 'seedB', 0, 2 ** 32)!,
        steps: integer(fields.steps, 'steps', 2, 256)!,
        padding: integer(fields.padding, 'padding', 0, 64)!,
      };
      const asked = labels(fields.labels);
      if (asked) task.labels = asked;
      return task;
    }
  }
}

/** A result as JSON: Buffers as base64 strings. */
export function encodeResult(kind: ModelTask['kind'], result: ModelResults[ModelTask['kind']]): unknown {
  if (kind === 'analyse-video') {
    const outcome = result as ModelResults['analyse-video'];
    return { ...outcome, thumbnails: outcome.thumbnails.map((t) => ({ ...t, jpeg: t.jpeg.toString('base64') })) };
  }
  if (kind === 'generate-grid' || kind === 'generate-interpolation') {
    const png = result as ModelResults['generate-grid'];
    return { ...png, png: png.png.toString('base64') };
  }
  return result;
}

/** The inverse of encodeResult. */
export function decodeResult<K extends ModelTask['kind']>(kind: K, encoded: unknown): ModelResults[K] {
  const value = object(encoded, 'the result');
  if (kind === 'analyse-video') {
    const thumbnails = (value.thumbnails as Array<Fields>).map((t) => ({ ...t, jpeg: Buffer.from(String(t.jpeg), 'base64') }));
    return { ...value, thumbnails } as unknown as ModelResults[K];
  }
  if (kind === 'generate-grid' || kind === 'generate-interpolation') return { ...value, png: Buffer.from(String(value.png), 'base64') } as unknown as ModelResults[K];
  return value as unknown as ModelResults[K];
}
