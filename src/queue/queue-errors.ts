/**
 * Errors across Redis. A worker fails a job with its error serialised as JSON
 * (class, message, hint, status) behind a marker; the server rebuilds the same
 * class, so the HTTP status and the one-line message are those of an in-process
 * check. A failed reason without the marker (BullMQ's own, e.g. a job whose worker
 * died too often) becomes a 500 with that reason.
 */
import { HttpError } from '../server/http-error.js';
import { deserializeError, serializeError, type SerializedError } from '../server/worker-errors.js';

const MARKER = 'fakeface-error:';

export function failedReasonOf(error: unknown): string {
  const serialized = serializeError(error);
  delete serialized.stack; // Redis keeps the message; stacks stay in the worker's log
  return MARKER + JSON.stringify(serialized);
}

export function errorFromFailedReason(reason: string): Error {
  if (reason.startsWith(MARKER)) {
    try {
      return deserializeError(JSON.parse(reason.slice(MARKER.length)) as SerializedError);
    } catch {
      // fall through: an unreadable reason is reported as it is
    }
  }
  if (/stalled more than allowable limit/.test(reason)) {
    return new HttpError(500, 'the job failed: its worker stopped (crashed or was killed) on every attempt', 'the file may make workers crash; see the workers\' logs');
  }
  return new HttpError(500, `the job failed: ${reason.slice(0, 300)}`);
}

/** The one line a failed reason stands for (for the CLI and logs). */
export function failedReasonMessage(reason: string): string {
  return errorFromFailedReason(reason).message;
}
