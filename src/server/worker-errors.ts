/**
 * Errors across the worker boundary. Structured cloning keeps only an Error's
 * message (and turns every class into plain Error), but the server answers by
 * class: ImageDecodeError is 422, UsageError 400, HttpError its own status. So a
 * worker sends the class name and fields, and the main thread rebuilds an object
 * of the same class, with the same message, hint and fields.
 */
import * as errors from '../errors.js';
import { HttpError } from './http-error.js';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable fields: hint, file, problem, statusCode, headers... (strings, numbers, plain objects). */
  fields: Record<string, unknown>;
}

/** Classes rebuilt by name; anything else comes back as a plain Error (a 500, logged with its stack). */
const KNOWN: Record<string, { prototype: Error }> = {
  ...Object.fromEntries(Object.entries(errors).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)),
  HttpError,
};

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    if (value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value) || (typeof value === 'object' && !(value instanceof Error))) fields[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

export function deserializeError(serialized: SerializedError): Error {
  const known = Object.hasOwn(KNOWN, serialized.name) ? KNOWN[serialized.name]! : Error;
  const error = Object.create(known.prototype) as Error;
  Object.assign(error, serialized.fields);
  Object.defineProperty(error, 'message', { value: serialized.message, writable: true, configurable: true });
  Object.defineProperty(error, 'name', { value: serialized.name, writable: true, configurable: true });
  Object.defineProperty(error, 'stack', { value: serialized.stack ?? `${serialized.name}: ${serialized.message}`, writable: true, configurable: true });
  return error;
}
