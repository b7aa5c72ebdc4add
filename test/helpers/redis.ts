/**
 * A real redis-server for the queue tests (Debian's /usr/bin/redis-server), on a
 * free loopback port, with its data (AOF) in a temporary folder so that a restart
 * keeps the queued jobs. Tests skip with REDIS_MISSING where it is absent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? null;
export const REDIS_MISSING = 'redis-server not found: skipping the Redis queue tests (sudo apt-get install redis-server)';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  /** Stops it (SIGTERM: Redis writes its AOF and exits). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
}

export async function startRedis(port: number, dir: string): Promise<TestRedis> {
  let child: ChildProcess | null = null;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn(REDIS_SERVER!, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let out = '';
      proc.stdout!.on('data', (chunk) => {
        out += chunk;
        if (/Ready to accept connections/.test(out)) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const proc = child;
      if (!proc || proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop };
}
