/**
 * The History page: every check this server remembers (the answers, never the
 * files), searchable by file name or by the file's sha256, newest first; a check
 * re-opens with its verdict card, faces and details (#/history/<id>).
 */
import { getJson, RequestError, type CheckList, type CheckRecord, type CheckSummary, type ImageDetection, type VideoDetection } from '../api.js';
import { clear, formatBytes, formatTime, formatWhen, h, percent, uid } from '../dom.js';
import { VERDICT_TEXT } from '../../../src/report/verdict-words.js';
import { facesTable, technicalDetails, verdictCard } from './check-verdict.js';

const PAGE_SIZE = 25;

export function renderHistory(root: HTMLElement, params: string[]): () => void {
  let live = true;
  const id = params[0];
  if (id) void showCheck(root, id, () => live);
  else showList(root, () => live);
  return () => {
    live = false;
  };
}

function errorCard(message: string, hint?: string): HTMLElement {
  return h('div', { class: 'card error', role: 'alert', 'data-testid': 'error' }, message, hint ? h('p', { class: 'hint' }, hint) : null);
}

function showList(root: HTMLElement, live: () => boolean): void {
  const searchId = uid('history-search');
  const search = h('input', { type: 'search', id: searchId, name: 'q', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. holiday.jpg or 3f9a2c…', 'data-testid': 'history-search' });
  const status = h('p', { class: 'hint', role: 'status', 'data-testid': 'history-status' }, 'Loading…');
  const list = h('div', { 'data-testid': 'history-list' });
  const newer = h('button', { type: 'button', class: 'secondary', disabled: true }, '← Newer');
  const older = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Older →');
  const paging = h('div', { class: 'actions', hidden: true }, newer, older);
  root.append(
    h('h1', {}, 'History'),
    h('p', { class: 'lead' }, 'Every photo and video checked on this server, newest first. Only the answers are kept, never the files. A file checked again is answered from here, and says so.'),
    h(
      'form',
      { class: 'card field', role: 'search', onsubmit: (event: Event) => event.preventDefault() },
      h('label', { for: searchId }, 'Search by file name, or by the file’s fingerprint (sha256)'),
      search,
    ),
    status,
    list,
    paging,
  );

  let offset = 0;
  let asked = 0;
  const load = async () => {
    const mine = ++asked;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
    if (search.value.trim()) query.set('q', search.value.trim());
    try {
      const page = await getJson<CheckList>(`/api/checks?${query}`);
      if (!live() || mine !== asked) return;
      clear(list);
      if (!page.history.enabled) {
        status.textContent = 'This server keeps no history: it was started with --no-history.';
      } else if (page.total === 0) {
        status.textContent = search.value.trim() ? 'No check matches that search.' : 'Nothing checked yet: answers appear here once you check a photo or a video.';
      } else {
        const last = Math.min(offset + page.checks.length, page.total);
        status.textContent = `${page.total} check${page.total === 1 ? '' : 's'}${search.value.trim() ? ' match' : ''} · showing ${offset + 1}–${last} · kept ${page.history.retentionDays} days`;
        list.append(checksTable(page.checks));
      }
      newer.disabled = offset === 0;
      older.disabled = offset + PAGE_SIZE >= page.total;
      paging.hidden = newer.disabled && older.disabled;
    } catch (error) {
      if (!live()) return;
      clear(list);
      status.textContent = '';
      const e = error as RequestError;
      list.append(errorCard(`Could not load the history: ${e.message}`, e.hint));
    }
  };
  let typing: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      offset = 0;
      void load();
    }, 250);
  });
  newer.addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    void load();
  });
  older.addEventListener('click', () => {
    offset += PAGE_SIZE;
    void load();
  });
  void load();
}

function checksTable(checks: CheckSummary[]): HTMLElement {
  const table = h(
    'table',
    { 'data-testid': 'history-table' },
    h('caption', { class: 'visually-hidden' }, 'Checks, newest first'),
    h(
      'thead',
      {},
      h('tr', {}, ...['Checked', 'File', 'Verdict', 'Confidence', 'Faces', 'Fingerprint'].map((name) => h('th', { scope: 'col' }, name))),
    ),
    h(
      'tbody',
      {},
      ...checks.map((check) =>
        h(
          'tr',
          { 'data-check': check.id, 'data-verdict': check.verdict },
          h('td', {}, formatWhen(check.checkedAt)),
          h('td', { class: 'file-name' }, h('a', { href: `#/history/${check.id}`, 'data-testid': 'history-open' }, check.file), check.kind === 'video' ? ' (video)' : ''),
          h('td', {}, h('span', { class: `badge badge-${check.verdict}` }, VERDICT_TEXT[check.verdict])),
          h('td', {}, check.confidence === null ? '–' : percent(check.confidence)),
          h('td', {}, String(check.faces.length)),
          h('td', {}, h('code', { title: check.sha256 }, `${check.sha256.slice(0, 12)}…`)),
        ),
      ),
    ),
  );
  return h('div', { class: 'table-scroll' }, table);
}

async function showCheck(root: HTMLElement, id: string, live: () => boolean): Promise<void> {
  const back = h('p', {}, h('a', { href: '#/history' }, '← All checks'));
  const heading = h('h1', { class: 'file-name' }, 'A past check');
  root.append(back, heading);
  let record: CheckRecord;
  try {
    record = await getJson<CheckRecord>(`/api/checks/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!live()) return;
    const e = error as RequestError;
    root.append(errorCard(e.status === 404 ? 'This check is no longer in the history.' : `Could not load the check: ${e.message}`, e.hint));
    return;
  }
  if (!live()) return;
  heading.textContent = record.file;
  const { result } = record;
  const facts = h(
    'dl',
    { class: 'facts', 'data-testid': 'check-facts' },
    h('dt', {}, 'Checked'), h('dd', {}, formatWhen(record.checkedAt)),
    h('dt', {}, 'Size'), h('dd', {}, formatBytes(record.bytes)),
    h('dt', {}, 'Fingerprint (sha256)'), h('dd', {}, h('code', { class: 'fingerprint', 'data-testid': 'check-sha256' }, record.sha256)),
    ...(result.kind === 'image'
      ? [h('dt', {}, 'Picture'), h('dd', {}, `${result.width}×${result.height}`)]
      : [h('dt', {}, 'Duration'), h('dd', {}, formatTime(result.durationSeconds)), h('dt', {}, 'Frames with a face'), h('dd', {}, `${result.framesWithFaces} of ${result.framesAnalysed}`)]),
  );
  const card = verdictCard({ ...result, wholeImage: result.kind === 'image' && result.faces.length === 0 ? result.wholeImage : null, action: null, elapsedMs: null });
  const side = h('div', { class: 'stack' }, facts, h('p', { class: 'hint' }, 'The file itself was not kept. Drop it on the Check page again to see it with its faces outlined: it will be answered from this check.'));
  if (result.kind === 'image' && result.faces.length > 0) side.append(facesTable(result.faces));
  if (result.kind === 'video') side.append(framesTable(result));
  side.append(technicalDetails(result.detector, (result as ImageDetection | VideoDetection).note));
  root.append(h('div', { class: 'result-grid', 'data-kind': result.kind, 'data-testid': 'history-check' }, card, side));
}

function framesTable(video: VideoDetection): HTMLElement {
  const table = h(
    'table',
    {},
    h('caption', {}, `${video.framesAnalysed} frames analysed · video score ${video.pFake === null ? '–' : percent(video.pFake, 1)}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Faces'), h('th', { scope: 'col' }, 'p(fake)'))),
    h('tbody', {}, ...video.frames.map((f) => h('tr', {}, h('td', {}, formatTime(f.timeSeconds)), h('td', {}, String(f.faces.length)), h('td', {}, f.pFake === null ? '–' : percent(f.pFake, 1))))),
  );
  return h('details', { class: 'card' }, h('summary', {}, 'Per-frame scores'), h('div', { class: 'table-scroll' }, table));
}
