import type { Verdict } from '../api.js';
import { h, percent, uid } from '../dom.js';
import { downloadText } from '../download.js';

/** What one file of a batch came to: its faces, its verdict and its highest p(fake); or why it could not be checked. */
export interface FileOutcome {
  file: string;
  kind: 'image' | 'video' | 'error';
  faces: number | null;
  verdict: Verdict | null;
  /** Highest p(fake) over its faces (for a video, the video's score); null when nothing was scored. */
  topScore: number | null;
  error: string | null;
}

const VERDICT_WORDS: Record<Verdict, string> = { fake: 'Likely fake', real: 'No sign of a fake', uncertain: "Can't tell" };

/** A CSV field: quoted when needed, and never read as a formula by a spreadsheet (a file may be named "=cmd|..."). */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function outcomesCsv(outcomes: readonly FileOutcome[]): string {
  const rows = outcomes.map((o) => [o.file, o.faces, o.verdict ?? (o.error ? 'error' : null), o.topScore === null ? null : Number(o.topScore.toFixed(4)), o.error]);
  return [['file', 'faces', 'verdict', 'top_score', 'error'], ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function outcomesJson(outcomes: readonly FileOutcome[]): string {
  return JSON.stringify(outcomes, null, 2) + '\n';
}

/**
 * The table of a batch: one row per file, filled in as each finishes, and CSV
 * and JSON exports of what is done.
 */
export function batchSummary(files: readonly File[]): { el: HTMLElement; set(index: number, outcome: FileOutcome): void } {
  const outcomes: Array<FileOutcome | null> = files.map(() => null);
  const rows = files.map((file) =>
    h('tr', { 'data-state': 'waiting' }, h('th', { scope: 'row', class: 'wrap' }, file.name), h('td', {}, '…'), h('td', {}, h('span', { class: 'badge' }, 'waiting')), h('td', {}, '–')),
  );
  const done = () => outcomes.filter((o): o is FileOutcome => o !== null);
  const status = h('p', { class: 'hint', role: 'status', 'data-testid': 'batch-status' }, `Checking ${files.length} files, one after another…`);
  const stamp = () => new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const csv = h('button', { type: 'button', class: 'secondary', 'data-testid': 'export-csv', disabled: true }, 'Export CSV');
  const json = h('button', { type: 'button', class: 'secondary', 'data-testid': 'export-json', disabled: true }, 'Export JSON');
  csv.addEventListener('click', () => downloadText(`fakeface-check-${stamp()}.csv`, 'text/csv;charset=utf-8', outcomesCsv(done())));
  json.addEventListener('click', () => downloadText(`fakeface-check-${stamp()}.json`, 'application/json', outcomesJson(done())));
  const titleId = uid('batch-summary');
  const el = h(
    'section',
    { class: 'card batch-summary', 'data-testid': 'batch-summary', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Summary'),
    status,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { 'data-testid': 'batch-table' },
        h('caption', { class: 'visually-hidden' }, 'One row per file: faces found, verdict and highest score'),
        h('thead', {}, h('tr', {}, ...['File', 'Faces', 'Verdict', 'Top score (fake)'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows),
      ),
    ),
    h('div', { class: 'actions' }, csv, json),
  );
  return {
    el,
    set(index, outcome) {
      outcomes[index] = outcome;
      const row = rows[index]!;
      const [, faces, verdict, score] = row.children as unknown as HTMLElement[];
      row.dataset['state'] = outcome.kind === 'error' ? 'error' : 'done';
      faces!.textContent = outcome.faces === null ? '–' : String(outcome.faces);
      verdict!.replaceChildren(
        outcome.verdict ? h('span', { class: `badge badge-${outcome.verdict}` }, VERDICT_WORDS[outcome.verdict]) : h('span', { class: 'badge badge-error', title: outcome.error ?? '' }, 'not checked'),
      );
      score!.textContent = outcome.topScore === null ? '–' : percent(outcome.topScore, 1);
      const finished = done().length;
      csv.disabled = json.disabled = finished === 0;
      status.textContent = finished === files.length ? `All ${files.length} files checked.` : `${finished} of ${files.length} files checked…`;
    },
  };
}
