import 'uplot/dist/uPlot.min.css';
import './style.css';
import { getHealth } from './api.js';
import { clear } from './dom.js';
import { renderCheck } from './pages/check.js';
import { renderGenerate } from './pages/generate.js';
import { renderHistory } from './pages/history.js';
import { renderRuns } from './pages/runs.js';

/** A page draws itself into `root` and returns what to undo when the user leaves it. */
export type Page = (root: HTMLElement, params: string[]) => (() => void) | void;

const pages: Record<string, { title: string; render: Page }> = {
  check: { title: 'Check', render: renderCheck },
  generate: { title: 'Generate', render: renderGenerate },
  runs: { title: 'Runs', render: renderRuns },
  history: { title: 'History', render: renderHistory },
};

const main = document.getElementById('main')!;
let leave: (() => void) | void;

function route(): void {
  const [name = 'check', ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = pages[name] ?? pages['check']!;
  const key = pages[name] ? name : 'check';
  leave?.();
  clear(main);
  document.title = `${page.title} · fakeface`;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
    if (link.dataset['nav'] === key) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  leave = page.render(main, params);
  // Move focus to the new page's heading, so keyboard and screen reader users start there.
  const heading = main.querySelector<HTMLElement>('h1');
  if (heading && document.activeElement !== document.body && routedOnce) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
  }
  routedOnce = true;
}
let routedOnce = false;

window.addEventListener('hashchange', route);
route();

// The skip link must not change the hash: that is the router's.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

const status = document.getElementById('server-status')!;
getHealth()
  .then((health) => {
    const detection = health.detection.available ? 'detection ready' : `detection unavailable (${health.detection.reason})`;
    status.textContent = `fakeface ${health.version} · engine ${health.engine} · ${detection} · uploads up to ${Math.round(health.maxUploadBytes / 1024 / 1024)} MB`;
  })
  .catch(() => {
    status.textContent = 'The fakeface server is not answering: is `fakeface serve` running?';
    status.classList.add('error-text');
  });
