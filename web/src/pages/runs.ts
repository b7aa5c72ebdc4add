import { getJson, listen, RequestError, type MetricsPoint, type RunDetail, type RunEvents, type RunList, type RunSummary } from '../api.js';
import { lineChart, type LineChart } from '../charts.js';
import { commandBlock } from '../copy.js';
import { clear, formatAgo, h, percent } from '../dom.js';

/** A "running" run whose metrics have not moved for this long was probably killed. */
const STALE_MS = 10 * 60 * 1000;

const STATUS_TEXT: Record<string, string> = {
  running: 'training',
  finished: 'finished',
  interrupted: 'interrupted',
  'stopped-early': 'stopped early',
  failed: 'failed',
  unknown: 'unknown',
};

function statusBadge(run: RunSummary): HTMLElement {
  const stale = run.status === 'running' && run.lastActivityAt !== null && Date.now() - Date.parse(run.lastActivityAt) > STALE_MS;
  const text = stale ? 'running? (no progress lately)' : STATUS_TEXT[run.status] ?? run.status;
  return h('span', { class: `badge status-${stale ? 'stale' : run.status}`, 'data-testid': 'run-status' }, text);
}

/** What to show when there is no run yet: the one command that makes one, and the built-in models in use meanwhile. */
export function noRunsNotice(list: RunList): HTMLElement {
  const { builtInGenerator: generator, builtInDetector: detector } = list;
  const builtIn = [
    generator && `the generator ${generator.name} (${generator.resolution} px, iteration ${generator.iteration}) on the Generate page`,
    detector && `the detector ${detector.name} on the Check page`,
  ].filter((text): text is string => Boolean(text));
  return h(
    'section',
    { class: 'card notice', 'data-testid': 'no-runs' },
    h('h2', {}, 'No trained run yet'),
    builtIn.length ? h('p', { 'data-testid': 'builtin-models' }, `Meanwhile the built-in models that ship with fakeface are in use: ${builtIn.join(', and ')}.`) : null,
    h('p', {}, `There is no training run in ${list.runsDir}. Train a small one (a minute or two on a laptop) with:`),
    commandBlock(list.trainCommand),
    h('p', { class: 'hint' }, 'DIR is a folder of face photos (JPEG, PNG, WebP). Then reload this page.'),
  );
}

export function renderRuns(root: HTMLElement, params: string[]): () => void {
  return params[0] ? renderRun(root, params[0]) : renderRunList(root);
}

function renderRunList(root: HTMLElement): () => void {
  root.append(h('h1', {}, 'Training runs'), h('p', { class: 'lead' }, 'Every run in the server\'s runs folder, most recently active first. Open one to follow it live.'));
  const body = h('div', { class: 'stack' }, h('p', { class: 'hint' }, 'Loading…'));
  root.append(body);
  let shown = '';
  const load = () =>
    getJson<RunList>('/api/runs')
      .then((list) => {
        // Redraw only when something changed: a redraw would take the keyboard focus away.
        const key = JSON.stringify(list);
        if (key === shown) return;
        shown = key;
        clear(body);
        if (list.runs.length === 0) body.append(noRunsNotice(list));
        else body.append(runTable(list.runs));
        if (list.experiments.length) {
          body.append(
            h(
              'section',
              { class: 'card' },
              h('h2', {}, 'Experiment reports'),
              h('ul', { class: 'links' }, ...list.experiments.map((e) => h('li', {}, h('a', { href: e.url, target: '_blank', rel: 'noopener' }, e.title), ` (${e.id})`))),
            ),
          );
        }
      })
      .catch((error: RequestError) => {
        clear(body);
        body.append(h('div', { class: 'card error', role: 'alert' }, `Could not list the runs: ${error.message}`));
      });
  void load();
  // The list is cheap: refresh it while open, so a new or finished run shows up.
  const timer = setInterval(() => void load(), 10_000);
  return () => clearInterval(timer);
}

function runTable(runs: RunSummary[]): HTMLElement {
  const num = (v: number | undefined, digits = 3) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
  return h(
    'div',
    { class: 'card table-scroll' },
    h(
      'table',
      { class: 'runs-table', 'data-testid': 'runs-table' },
      h('caption', { class: 'visually-hidden' }, 'Training runs'),
      h(
        'thead',
        {},
        h('tr', {}, ...['Run', 'Status', 'Progress', 'D accuracy', 'G loss', 'Model', 'Last activity'].map((c) => h('th', { scope: 'col' }, c))),
      ),
      h(
        'tbody',
        {},
        ...runs.map((run) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, h('a', { href: `#/runs/${encodeURIComponent(run.id)}` }, run.id)),
            h('td', {}, statusBadge(run)),
            h(
              'td',
              { 'data-testid': 'run-progress' },
              h('span', { class: 'run-progress' }, h('progress', { max: Math.max(1, run.iterations), value: run.iteration, 'aria-label': `${run.iteration} of ${run.iterations} iterations` }), h('span', { class: 'run-progress-text' }, `${run.iteration}/${run.iterations}`)),
            ),
            h('td', { 'data-testid': 'run-d-accuracy' }, run.last ? percent(run.last.dAcc) : '–'),
            h('td', {}, num(run.last?.gLoss)),
            h('td', {}, [run.preset, run.architecture, run.resolution ? `${run.resolution} px` : null].filter(Boolean).join(', ') || '–'),
            h('td', {}, formatAgo(run.lastActivityAt)),
          ),
        ),
      ),
    ),
  );
}

const LOSS_SERIES = [
  { key: 'dLossReal', label: 'D loss (real)', color: '#1971c2' },
  { key: 'dLossFake', label: 'D loss (fake)', color: '#74c0fc' },
  { key: 'gLoss', label: 'G loss', color: '#e8590c' },
] as const;
const ACC_SERIES = [
  { key: 'dAcc', label: 'D accuracy', color: '#2f9e44' },
  { key: 'dAccReal', label: 'on real', color: '#8ce99a' },
  { key: 'dAccFake', label: 'on fake', color: '#9c36b5' },
] as const;

/** What the charts and samples mean, for someone who has not trained a GAN before. */
const EXPLAIN_SAMPLES =
  'A new run\'s samples are colour noise: the generator starts from random weights, and it takes a few hundred iterations for blobs, then face shapes, then faces to appear.';
const EXPLAIN_LOSSES =
  'D loss is how wrong the discriminator (the judge) is on real photos and on generated faces; G loss is how badly the generator fails to fool it. In a healthy run they wobble around each other; if D loss falls to 0 and G loss climbs for long, the generator has stopped learning.';
const EXPLAIN_ACCURACY =
  'How often the discriminator tells real from generated. Near 50% means the generator\'s faces fool it about half the time; stuck near 100% means it sees through every fake.';

/** A run's page: checks that the run exists first, so a wrong link gets a plain "no such run" and not an empty dashboard. */
function renderRun(root: HTMLElement, id: string): () => void {
  const title = h('h1', {}, `Run ${id}`);
  const titleRow = h('div', { class: 'title-row' }, title);
  const body = h('div', { class: 'stack' }, h('p', { class: 'hint' }, 'Loading…'));
  root.append(h('p', {}, h('a', { href: '#/runs' }, '← All runs')), titleRow, body);
  let left = false;
  let leave: (() => void) | null = null;
  getJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`)
    .then(() => {
      if (left) return;
      clear(body);
      leave = renderRunDetail(body, titleRow, id);
    })
    .catch((error: RequestError) => {
      if (left) return;
      clear(body);
      if (error.status === 404 || error.status === 400) {
        title.textContent = 'Run not found';
        document.title = 'Run not found · fakeface';
        body.append(
          h(
            'section',
            { class: 'card notice', 'data-testid': 'run-not-found' },
            h('p', {}, `There is no training run called “${id}” on this server. The link may be mistyped, or the run was renamed or deleted.`),
            h('p', {}, h('a', { href: '#/runs', class: 'button secondary' }, 'See all runs')),
          ),
        );
      } else {
        body.append(h('div', { class: 'card error', role: 'alert' }, `Could not load the run: ${error.message}`));
      }
    });
  return () => {
    left = true;
    leave?.();
  };
}

/** The charts, samples and configuration of a run that exists, followed live; the badge and live mark go into `titleRow`. */
function renderRunDetail(root: HTMLElement, titleRow: HTMLElement, id: string): () => void {
  const badgeSlot = h('span', {});
  const live = h('span', { class: 'live', 'aria-live': 'polite' }, 'connecting…');
  const summary = h('p', { class: 'lead' }, '');
  const lossBox = h('div', { class: 'chart', 'data-testid': 'loss-chart', role: 'img', 'aria-label': 'Losses per iteration' });
  const accBox = h('div', { class: 'chart', 'data-testid': 'accuracy-chart', role: 'img', 'aria-label': 'Discriminator accuracy per iteration' });
  // No <img> until there is a sample: an image without a source shows as broken.
  const sampleImg = h('img', { alt: `Newest sample grid of run ${id}`, class: 'pixelated', 'data-testid': 'latest-sample' });
  const sampleCaption = h('figcaption', {}, '');
  const sampleFigure = h('figure', { class: 'generated' }, sampleImg, sampleCaption);
  const sampleSlot = h('div', {}, h('p', { class: 'hint', 'data-testid': 'no-sample' }, 'No sample grid yet: the run writes one every few hundred iterations.'));
  const config = h('details', {}, h('summary', {}, 'Configuration'));
  const errorBox = h('div', {});
  titleRow.append(badgeSlot, live);
  root.append(
    summary,
    errorBox,
    h(
      'div',
      { class: 'run-grid' },
      h('section', { class: 'card' }, h('h2', {}, 'Losses'), h('p', { class: 'hint', 'data-testid': 'explain-losses' }, EXPLAIN_LOSSES), lossBox),
      h('section', { class: 'card' }, h('h2', {}, 'Discriminator accuracy'), h('p', { class: 'hint', 'data-testid': 'explain-accuracy' }, EXPLAIN_ACCURACY), accBox),
      h('section', { class: 'card' }, h('h2', {}, 'Latest samples'), h('p', { class: 'hint', 'data-testid': 'explain-samples' }, EXPLAIN_SAMPLES), sampleSlot),
      h('section', { class: 'card' }, config),
    ),
  );

  let metrics: MetricsPoint[] = [];
  let lossChart: LineChart | null = null;
  let accChart: LineChart | null = null;
  let current: RunSummary | null = null;

  const columns = (series: ReadonlyArray<{ key: string }>) =>
    [metrics.map((m) => m.iteration), ...series.map((s) => metrics.map((m) => (Number.isFinite(m[s.key]) ? m[s.key]! : null)))] as [number[], ...(number | null)[][]];
  const draw = () => {
    if (!lossChart) {
      lossChart = lineChart(lossBox, { title: '', xLabel: 'iteration', yLabel: 'loss', series: LOSS_SERIES.map((s) => ({ label: s.label, color: s.color })) }, columns(LOSS_SERIES));
      accChart = lineChart(accBox, { title: '', xLabel: 'iteration', yLabel: 'accuracy', yRange: [0, 1], series: ACC_SERIES.map((s) => ({ label: s.label, color: s.color })) }, columns(ACC_SERIES));
    } else {
      lossChart.setData(columns(LOSS_SERIES));
      accChart!.setData(columns(ACC_SERIES));
    }
  };
  const showSummary = (run: RunSummary) => {
    current = run;
    clear(badgeSlot);
    badgeSlot.append(statusBadge(run));
    const last = run.last;
    summary.textContent =
      `Iteration ${run.iteration} of ${run.iterations}` +
      (last ? ` · D accuracy ${percent(last.dAcc)} · G loss ${last.gLoss.toFixed(3)} · ${Math.round(last.ms)} ms/iteration` : '') +
      (run.engine ? ` · ${run.engine}` : '') +
      (run.stopReason ? ` · ${run.stopReason}` : '');
  };
  const showSample = (iteration: number, url: string) => {
    if (!sampleFigure.isConnected) {
      clear(sampleSlot);
      sampleSlot.append(sampleFigure);
    }
    sampleImg.src = url;
    sampleCaption.textContent = `Fixed noise at iteration ${iteration}: the same faces every time, so grids compare.`;
  };

  const source = listen<RunEvents>(
    `/api/runs/${encodeURIComponent(id)}/events`,
    {
      snapshot: (run: RunDetail) => {
        clear(errorBox);
        metrics = run.metrics;
        showSummary(run);
        draw();
        const last = run.samples[run.samples.length - 1];
        if (last) showSample(last.iteration, last.url);
        clear(config);
        config.append(h('summary', {}, 'Configuration'), h('pre', { class: 'config' }, JSON.stringify(run.config, null, 2)));
        if (run.metricsTotal > run.metrics.length) config.append(h('p', { class: 'hint' }, `Charts show ${run.metrics.length} of ${run.metricsTotal} iterations, evenly spaced.`));
        live.textContent = run.status === 'running' ? '● live' : '';
      },
      metrics: (points) => {
        metrics = metrics.concat(points);
        if (current) showSummary({ ...current, iteration: points[points.length - 1]!.iteration, last: points[points.length - 1]! });
        draw();
      },
      sample: (sample) => showSample(sample.iteration, sample.url),
      state: (run) => {
        showSummary(run);
        live.textContent = run.status === 'running' ? '● live' : '';
      },
    },
    () => {
      if (source.readyState === EventSource.CLOSED) {
        live.textContent = '';
        // The stream was refused: say why (404 for an unknown run, 400 for a bad id).
        getJson(`/api/runs/${encodeURIComponent(id)}`).catch((error: RequestError) => {
          clear(errorBox);
          errorBox.append(h('div', { class: 'card error', role: 'alert' }, error.message, error.hint ? h('p', { class: 'hint' }, error.hint) : null));
        });
      } else {
        live.textContent = 'reconnecting…';
      }
    },
  );

  return () => {
    source.close();
    lossChart?.destroy();
    accChart?.destroy();
  };
}
