import fastifyCompress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * What is worth compressing: text (HTML, CSS, JS), JSON and SVG. Not the
 * event streams (text/event-stream: a compressor would hold events back until
 * its buffer fills; those routes hijack the reply anyway), and not PNG, JPEG or
 * video, which are compressed already.
 */
export const COMPRESSIBLE = /^text\/(?!event-stream)|^application\/(?:javascript|json)(?:;|$)|\+json(?:;|$)|\+xml(?:;|$)/;

/**
 * gzip and Brotli answers for clients that ask (Accept-Encoding). Register it
 * before any route: it hooks each route as it is added. Requests are not
 * decompressed: the JSON bodies are small, and uploads are multipart.
 */
export async function registerCompression(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCompress, {
    global: true,
    globalDecompression: false,
    encodings: ['br', 'gzip'],
    // Below 1 KB the headers cost more than compression saves.
    threshold: 1024,
    customTypes: COMPRESSIBLE,
  });
}
