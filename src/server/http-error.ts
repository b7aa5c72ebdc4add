import {
  BackendUnavailableError,
  CheckpointMismatchError,
  ConfigError,
  FakefaceError,
  FfmpegNotFoundError,
  ImageDecodeError,
  RunNotFoundError,
  UsageError,
  VideoDecodeError,
} from '../errors.js';
import type { ApiError } from './api-types.js';

/** An error with the HTTP status it answers with; its message goes to the client as is. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly hint?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Fastify's own errors carry a statusCode and a code such as FST_ERR_CTP_INVALID_JSON_BODY. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
}

/**
 * Maps any error to a status and a JSON body. Library errors keep their message
 * (they name the problem, not our internals); anything unexpected becomes a
 * generic 500 whose details go to the server log only. Never a stack.
 */
export function toHttpResponse(error: unknown): { status: number; body: ApiError; headers: Record<string, string> } {
  if (error instanceof HttpError) {
    return { status: error.statusCode, body: withHint(error.message, error.hint), headers: error.headers };
  }
  if (error instanceof FakefaceError) {
    return { status: statusOf(error), body: withHint(publicMessage(error), error.hint), headers: {} };
  }
  const fastifyError = error as FastifyLikeError;
  if (fastifyError && typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, body: { error: fastifyMessage(fastifyError) }, headers: {} };
  }
  return { status: 500, body: { error: 'internal error (the server log has the details)' }, headers: {} };
}

function withHint(error: string, hint?: string): ApiError {
  return hint ? { error, hint } : { error };
}

function statusOf(error: FakefaceError): number {
  if (error instanceof RunNotFoundError) return 404;
  if (error instanceof UsageError || error instanceof ConfigError) return 400;
  if (error instanceof ImageDecodeError || error instanceof VideoDecodeError) return 422;
  if (error instanceof FfmpegNotFoundError || error instanceof BackendUnavailableError) return 503;
  if (error instanceof CheckpointMismatchError) return 500;
  return 422;
}

/**
 * File errors (ImageDecodeError, VideoDecodeError, the detection module's own)
 * name the temporary file the upload was saved as; the client knows its file by
 * its own name, so only the problem is sent.
 */
function publicMessage(error: FakefaceError): string {
  const { file, problem } = error as unknown as { file?: unknown; problem?: unknown };
  if (typeof file === 'string' && typeof problem === 'string') return problem;
  return error.message;
}

function fastifyMessage(error: FastifyLikeError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `invalid JSON body: ${error.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'$/, 'not valid JSON')}`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `unsupported Content-Type: ${error.message.replace(/^Unsupported Media Type:?\s*/, '')}`;
    default:
      return error.message;
  }
}
