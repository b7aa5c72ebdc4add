/** `fakeface serve`: prints its URL, serves, stops on SIGTERM; bad flags are one-line errors. */
import { afterAll, describe, expect, it } from 'vitest';
import type { Health } from '../src/server/api-types.js';
import { collect, runCli, startCli } from './helpers/cli.js';
import { tempFolder } from './helpers/data.js';

const work = tempFolder('fakeface-serve-cli-');
afterAll(() => work.cleanup());

describe('fakeface serve', () => {
  it('prints the URL, answers on it, and stops cleanly on SIGTERM', async () => {
    const child = startCli(['serve', '--port', '0', '--runs', work.dir, '--experiments', work.dir, '--max-upload-mb', '2']);
    const done = collect(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        const match = /fakeface is running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${out}`)));
    });
    const health = (await (await fetch(`${url}/api/health`)).json()) as Health;
    expect(health).toMatchObject({ status: 'ok', runsDir: work.dir, maxUploadBytes: 2 * 1024 * 1024 });
    // npm start: the embedded in-process queue, as before.
    expect(health.queue).toMatchObject({ mode: 'in-process', url: null, connected: true, waiting: 0, active: 0 });
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/engine (wasm|cpu \(native OpenBLAS)/);
    expect(result.stderr).toMatch(/stopping/);
  });

  it('refuses bad flags with one line', async () => {
    const port = await runCli(['serve', '--port', 'http']);
    expect(port.code).toBe(1);
    expect(port.stderr).toBe('fakeface: --port must be an integer from 0 to 65535, not "http"\n');
    const size = await runCli(['serve', '--max-upload-mb', '0']);
    expect(size.code).toBe(1);
    expect(size.stderr).toBe('fakeface: --max-upload-mb must be a number above 0 and at most 4096, not "0"\n');
    const queue = await runCli(['serve', '--queue', 'http://127.0.0.1:6379']);
    expect(queue.code).toBe(1);
    expect(queue.stderr).toBe('fakeface: --queue must be a redis:// or rediss:// URL, not "http://127.0.0.1:6379"\n');
    const worker = await runCli(['worker', '--queue', 'redis://127.0.0.1:6379', '--concurrency', '0']);
    expect(worker.code).toBe(1);
    expect(worker.stderr).toBe('fakeface: --concurrency must be an integer from 1 to 64, not "0"\n');
  });
});
