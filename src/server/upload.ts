import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './http-error.js';
import { ACCEPTED_TYPES, SNIFF_BYTES, sniff, type Sniffed } from './sniff.js';

export interface Upload {
  /** The temporary file (inside the server's upload folder). */
  path: string;
  /** The client's name for it, cleaned for display. */
  filename: string;
  type: Extract<Sniffed, { accepted: true }>;
  bytes: number;
  /** sha256 of the file's bytes, hex (the history's key). */
  sha256: string;
  /** Deletes the temporary file; safe to call more than once. */
  remove(): Promise<void>;
}

/** Room for the multipart framing around the file when judging Content-Length. */
const MULTIPART_OVERHEAD = 64 * 1024;

export const formatMiB = (bytes: number) => `${Number((bytes / 1024 / 1024).toFixed(2))} MiB`;

function tooLarge(maxBytes: number, size?: number): HttpError {
  const what = size === undefined ? 'the file is larger than' : `${formatMiB(size)} is more than`;
  return new HttpError(413, `upload too large: ${what} the ${formatMiB(maxBytes)} limit`, 'send a smaller file, or start the server with a larger --max-upload-mb');
}

/** A display name: no folders, no control characters, not too long. */
export function cleanFilename(name: string | undefined): string {
  const base = basename((name ?? '').replace(/\\/g, '/'))
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim();
  return (base || 'upload').slice(0, 200);
}

/**
 * Streams the request's file part (multipart/form-data, field "file") into a
 * fresh temporary file, refusing (413) past `maxBytes` and (415) anything whose
 * first bytes are not an accepted image or video. On any failure the
 * temporary file is already gone when this throws.
 */
export async function receiveUpload(request: FastifyRequest, tmpDir: string, maxBytes: number): Promise<Upload> {
  if (!request.isMultipart()) {
    throw new HttpError(400, 'expected a multipart/form-data upload with the file in a field named "file"', 'e.g. curl -F file=@photo.jpg http://127.0.0.1:5170/api/detect');
  }
  const declared = Number(request.headers['content-length']);
  // Refuse before reading a byte when the body is bound to be too large.
  if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD) throw tooLarge(maxBytes, declared);

  const part = await request.file({ limits: { fileSize: maxBytes, files: 1 } }).catch((error: unknown) => {
    throw mapMultipartError(error, maxBytes);
  });
  if (!part) throw new HttpError(400, 'no file in the upload: send it in a form field named "file"');

  const stem = join(tmpDir, `upload-${randomUUID()}`);
  let path = `${stem}.part`;
  const remove = () => rm(path, { force: true });
  let head = Buffer.alloc(0);
  let bytes = 0;
  const hash = createHash('sha256');
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
      bytes += chunk.length;
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(part.file, counter, createWriteStream(path, { flags: 'wx' }));
    if (part.file.truncated) throw tooLarge(maxBytes);
    const type = sniff(head);
    if (!type.accepted) {
      throw new HttpError(415, `unsupported file type: this looks like ${type.looksLike}; send ${ACCEPTED_TYPES}`, 'the type is read from the file\'s first bytes, not from its name');
    }
    // The extension tells tools that go by name (ffmpeg's muxer guess, sharp) what to expect.
    const finalPath = stem + type.extension;
    await rename(path, finalPath);
    path = finalPath;
    return { path, filename: cleanFilename(part.filename), type, bytes, sha256: hash.digest('hex'), remove };
  } catch (error) {
    await remove();
    throw mapMultipartError(error, maxBytes);
  }
}

function mapMultipartError(error: unknown, maxBytes: number): unknown {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxBytes);
  if (code === 'FST_FILES_LIMIT') return new HttpError(413, 'send one file per request');
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return new HttpError(413, 'too many form fields');
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return new HttpError(400, 'expected a multipart/form-data upload with the file in a field named "file"');
  if (error instanceof Error && /Unexpected end of form|Malformed part header|Part terminated early|Multipart: Boundary not found/i.test(error.message)) {
    return new HttpError(400, `malformed multipart upload: ${error.message}`);
  }
  return error;
}
