/**
 * How `fakeface detect` shows one checked file: a table row (file, kind, faces,
 * p(fake), verdict, detail), the same whether the file was checked here or on a
 * queue worker.
 */
import type { Detection, FailedInput } from '../detect/index.js';

export const DETECTION_HEADER = ['file', 'kind', 'faces', 'p(fake)', 'verdict', 'detail'];

const pct = (p: number | null) => (p === null ? '-' : p.toFixed(3));

/** One table row per input: what was found, the deciding p(fake), the verdict, and why. */
export function detectionRow(result: Detection | FailedInput): string[] {
  if (result.kind === 'error') return [result.file, '-', '-', '-', 'error', result.error];
  if (result.kind === 'image') {
    const p = result.faces.length > 0 ? Math.max(...result.faces.map((f) => f.pFake)) : (result.wholeImage?.pFake ?? null);
    const faces = result.faces.map((f, i) => `face ${i + 1}: ${f.pFake.toFixed(2)} ${f.verdict} at ${Math.round(f.box.x)},${Math.round(f.box.y)} ${Math.round(f.box.width)}x${Math.round(f.box.height)}`);
    const detail = [result.reason?.message, result.note, faces.join('; ')].filter(Boolean).join(' ');
    return [result.file, 'image', String(result.faces.length), pct(p), result.verdict, detail];
  }
  return [
    result.file,
    'video',
    `${result.framesWithFaces}/${result.framesAnalysed} frames`,
    pct(result.pFake),
    result.verdict,
    result.reason?.message ?? result.note ?? `${result.rule}; key frames at ${result.keyFrames.map((k) => `${result.frames[k]!.timeSeconds.toFixed(1)}s`).join(', ')}`,
  ];
}

/**
 * Rows printed one by one as results come in, aligned without knowing them all:
 * the file column as wide as the longest name, the others as wide as their
 * usual content ("120/120 frames", "uncertain").
 */
export function streamingRowFormat(fileNames: readonly string[]): (cells: string[]) => string {
  const widths = [Math.max(4, ...fileNames.map((f) => f.length)), 5, 14, 7, 9];
  return (cells) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
}
