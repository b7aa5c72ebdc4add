// Paths that are no regular file (a FIFO, a device, a folder) given to the CLI: refused
// by their type before anything opens them. Opening a FIFO would block until a writer
// comes, i.e. forever; reading /dev/zero would never end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, startCli } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'fakeface-special-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the CLI, killing it (and failing) if it takes longer than `ms`: a hang must not pass. */
async function runWithin(args: string[], ms: number) {
  const child = startCli(args);
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const result = await collect(child);
  clearTimeout(timer);
  expect(result.signal, `fakeface ${args.join(' ')} hung`).toBeNull();
  return result;
}

describe('special files given to the CLI', () => {
  it('detect: a FIFO fails at once with one line naming it, "not a regular file"', async () => {
    const fifo = join(work, 'clip.mp4');
    execFileSync('mkfifo', [fifo]);
    const result = await runWithin(['detect', fifo], 60_000);
    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((line) => line.includes(fifo));
    expect(errors).toEqual([`fakeface: ${fifo}: a FIFO, not a regular file`]);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);

  it('detect: a FIFO, a device and a folder among other files are one error row each', async () => {
    const fifo = join(work, 'photo.jpg');
    execFileSync('mkfifo', [fifo]);
    const result = await runWithin(['detect', fifo, '/dev/zero', work, '--json'], 60_000);
    expect(result.code).toBe(1);
    const rows = (JSON.parse(result.stdout) as { results: { file: string; error: string }[] }).results.map((r) => [r.file, r.error]);
    expect(rows).toEqual([
      [fifo, 'a FIFO, not a regular file'],
      ['/dev/zero', 'a character device, not a regular file'],
      [work, 'a folder, not a regular file'],
    ]);
  }, 90_000);
});

describe('special files given to the library', () => {
  it('sniffMedia (and so detect) refuses a FIFO by its type instead of blocking on it', async () => {
    const { sniffMedia } = await import('../src/detect/sniff.js');
    const fifo = join(work, 'library.jpg');
    execFileSync('mkfifo', [fifo]);
    const outcome = await Promise.race([
      sniffMedia(fifo).then(
        () => 'resolved',
        (error: Error) => error.message,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 5_000).unref()),
    ]);
    expect(outcome).toBe(`${fifo}: a FIFO, not a regular file`);
  });
});
