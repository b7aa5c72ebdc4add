import type { FastifyReply } from 'fastify';

export interface EventStream {
  send(event: string, data: unknown): void;
  /** Ends the stream from the server side. */
  close(): void;
  /** Called once when the client goes away or close() is called. */
  onClose(callback: () => void): void;
  readonly closed: boolean;
}

/** A comment line every 15 s keeps proxies and idle timeouts from cutting the stream. */
const HEARTBEAT_MS = 15_000;

/**
 * Turns the reply into a server-sent event stream (text/event-stream). Fastify
 * hands the raw response over (reply.hijack), so nothing else may be sent.
 */
export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  // Tells EventSource to wait 2 s before reconnecting after a drop.
  res.write('retry: 2000\n\n');
  let closed = false;
  const callbacks: Array<() => void> = [];
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS).unref();
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const callback of callbacks) callback();
  };
  // Not request.raw's 'close': Node emits that once a GET has been read, while the client is still there.
  res.on('close', finish);
  return {
    send(event, data) {
      if (closed) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    close() {
      if (!closed) res.end();
      finish();
    },
    onClose(callback) {
      if (closed) callback();
      else callbacks.push(callback);
    },
    get closed() {
      return closed;
    },
  };
}
