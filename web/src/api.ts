/** The server's JSON API, typed with the server's own types. */
import type { ApiError, Health } from '../../src/server/api-types.js';

export type * from '../../src/server/api-types.js';

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

async function errorFrom(response: Response): Promise<RequestError> {
  let body: Partial<ApiError> = {};
  try {
    body = (await response.json()) as ApiError;
  } catch {
    // Not JSON (a proxy's page?): the status says enough.
  }
  return new RequestError(response.status, body.error ?? `${response.status} ${response.statusText}`, body.hint);
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}

/** Sends DELETE and returns the JSON answer. */
export async function deleteJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { method: 'DELETE', headers: { Accept: 'application/json' } });
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}

/** POSTs JSON and returns the PNG the server answers with, plus its headers. */
export async function postForImage(path: string, body: unknown): Promise<{ blob: Blob; headers: Headers }> {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw await errorFrom(response);
  return { blob: await response.blob(), headers: response.headers };
}

/**
 * Uploads one file as multipart/form-data with XMLHttpRequest, which (unlike
 * fetch) reports upload progress.
 */
export function uploadFile<T>(path: string, file: File, onProgress: (sent: number, total: number) => void, signal?: AbortSignal): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size));
    xhr.addEventListener('load', () => {
      const body = xhr.response as unknown;
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, body: body as T });
      else {
        const error = (body ?? {}) as Partial<ApiError>;
        reject(new RequestError(xhr.status, error.error ?? `upload failed (${xhr.status} ${xhr.statusText})`, error.hint));
      }
    });
    xhr.addEventListener('error', () => reject(new RequestError(0, 'the upload failed: the server could not be reached')));
    xhr.addEventListener('abort', () => reject(new RequestError(0, 'upload cancelled')));
    signal?.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** Server-sent events with typed handlers; returns the EventSource (close it when done). */
export function listen<E>(path: string, handlers: { [K in keyof E]?: (data: E[K]) => void }, onError?: () => void): EventSource {
  const source = new EventSource(path);
  for (const name of Object.keys(handlers) as Array<keyof E & string>) {
    source.addEventListener(name, (event) => handlers[name]!(JSON.parse((event as MessageEvent<string>).data) as E[typeof name]));
  }
  if (onError) source.addEventListener('error', onError);
  return source;
}

let health: Promise<Health> | null = null;
/** The server's health, fetched once per page load (refresh with force). */
export function getHealth(force = false): Promise<Health> {
  if (force || !health) {
    health = getJson<Health>('/api/health');
    health.catch(() => (health = null));
  }
  return health;
}
