/** The Redis side shared by the server's queue and the workers. */
import { Redis, type RedisOptions } from 'ioredis';
import { UsageError } from '../errors.js';
import { redactUrl } from './job-queue.js';

/** The BullMQ queue every server and worker of one deployment share. */
export const QUEUE_NAME = 'fakeface-jobs';

/** Pub/sub channel on which a server asks the worker holding a job to stop it (the message is the job id). */
export const CANCEL_CHANNEL = `${QUEUE_NAME}:cancel`;

/** `--queue` must be a redis:// (or rediss://) URL. */
export function checkRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--queue must be a Redis URL such as redis://127.0.0.1:6379, not "${url.slice(0, 100)}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new UsageError(`--queue must be a redis:// or rediss:// URL, not "${redactUrl(url)}"`);
  return url;
}

/** Every connection's settings: retried for ever (BullMQ's blocking reads need maxRetriesPerRequest null), at most 2 s apart. */
export const REDIS_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
  retryStrategy: (times) => Math.min(2000, 100 * times),
};

/**
 * A connection that retries for ever (BullMQ needs maxRetriesPerRequest null for
 * its blocking reads) and reports each failure in one line through `onError`
 * instead of ioredis' unhandled-error stack traces.
 */
export function connectRedis(url: string, onError: (message: string) => void): Redis {
  const connection = new Redis(url, REDIS_OPTIONS);
  connection.on('error', (error: Error) => onError(error.message.split('\n')[0]!));
  return connection;
}
