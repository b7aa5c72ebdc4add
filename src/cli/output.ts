import { FakefaceError } from '../errors.js';

/** Set by the global --debug flag: errors then print their stack. */
export const cliState = { debug: false };

/** Human-facing messages go to stderr; results (tables, JSON) go to stdout. */
export function info(message: string): void {
  process.stderr.write(message + '\n');
}

/** One clear line (plus an optional hint line) for any error; a stack only with --debug. */
export function reportError(error: unknown): number {
  if (error instanceof FakefaceError) {
    process.stderr.write(`fakeface: ${error.message}\n`);
    if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`fakeface: unexpected error: ${message.split('\n')[0]}${cliState.debug ? '' : ' (run with --debug for details)'}\n`);
  }
  if (cliState.debug && error instanceof Error && error.stack) process.stderr.write(error.stack + '\n');
  return 1;
}

/** Wraps a command action: errors become one line and exit code 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (error) {
      process.exitCode = reportError(error);
    }
  };
}

/** Fixed-width table with a header row. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
