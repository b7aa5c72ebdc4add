import { getJson, postForImage, RequestError, type RunList, type RunSummary } from '../api.js';
import { clear, h, uid } from '../dom.js';
import { noRunsNotice } from './runs.js';

const MAX_SEED = 4294967295;
const randomSeed = () => Math.floor(Math.random() * 1_000_000);

/** The Generate page: a grid of faces from a seed, and the interpolation strip between two seeds. */
export function renderGenerate(root: HTMLElement): () => void {
  const urls: string[] = [];
  const heading = h('h1', {}, 'Generate faces');
  root.append(heading, h('p', { class: 'lead' }, 'Faces from a trained generator. The same run, checkpoint and seed always give the same faces.'));
  const body = h('div', { class: 'stack' }, h('p', { class: 'hint' }, 'Loading runs…'));
  root.append(body);

  getJson<RunList>('/api/runs')
    .then((list) => {
      clear(body);
      const runs = list.runs.filter((r) => r.hasCheckpoint);
      if (runs.length === 0) {
        body.append(noRunsNotice(list));
        return;
      }
      body.append(gridForm(runs, list.defaultRun ?? runs[0]!.id), stripForm(runs, list.defaultRun ?? runs[0]!.id));
    })
    .catch((error: RequestError) => {
      clear(body);
      body.append(h('div', { class: 'card error', role: 'alert' }, `Could not list the runs: ${error.message}`));
    });

  function runSelect(runs: RunSummary[], selected: string): { field: HTMLElement; select: HTMLSelectElement } {
    const id = uid('run');
    const select = h('select', { id, name: 'run' }, ...runs.map((r) => h('option', { value: r.id, selected: r.id === selected }, `${r.id} (${r.resolution ?? '?'} px, iteration ${r.iteration})`)));
    return { field: h('div', { class: 'field' }, h('label', { for: id }, 'Run'), select), select };
  }

  function numberField(label: string, name: string, value: number, min: number, max: number, extra?: HTMLElement): { field: HTMLElement; input: HTMLInputElement } {
    const id = uid(name);
    const input = h('input', { id, name, type: 'number', inputmode: 'numeric', min, max, step: 1, value, required: true });
    return { field: h('div', { class: 'field' }, h('label', { for: id }, label), h('div', { class: 'input-row' }, input, extra ?? null)), input };
  }

  function seedField(label: string, name: string, value: number): { field: HTMLElement; input: HTMLInputElement } {
    const dice = h('button', { type: 'button', class: 'secondary', title: 'Pick a random seed' }, 'Random');
    const field = numberField(label, name, value, 0, MAX_SEED, dice);
    dice.addEventListener('click', () => (field.input.value = String(randomSeed())));
    return field;
  }

  function output(testid: string, strip = false): { el: HTMLElement; show(blob: Blob, headers: Headers, alt: string, caption: string): void; error(e: RequestError): void; busy(): void } {
    const el = h('div', { class: 'gen-output', 'aria-live': 'polite', 'data-testid': testid });
    return {
      el,
      busy() {
        clear(el);
        el.append(h('p', { class: 'hint' }, 'Generating…'));
      },
      show(blob, headers, alt, caption) {
        clear(el);
        const url = URL.createObjectURL(blob);
        urls.push(url);
        const name = /filename="([^"]+)"/.exec(headers.get('content-disposition') ?? '')?.[1] ?? 'fakeface.png';
        el.append(
          h('figure', { class: strip ? 'generated strip' : 'generated' }, h('img', { src: url, alt, class: 'pixelated' }), h('figcaption', {}, caption)),
          h('a', { class: 'button secondary', href: url, download: name }, 'Download PNG'),
        );
      },
      error(e) {
        clear(el);
        el.append(h('div', { class: 'card error', role: 'alert' }, e.message, e.hint ? h('p', { class: 'hint' }, e.hint) : null));
      },
    };
  }

  function gridForm(runs: RunSummary[], selected: string): HTMLElement {
    const run = runSelect(runs, selected);
    const seed = seedField('Seed', 'seed', 1);
    const countId = uid('count');
    const count = h('select', { id: countId, name: 'count' }, ...[1, 4, 9, 16, 25, 36, 49, 64].map((n) => h('option', { value: n, selected: n === 16 }, `${n} faces`)));
    const out = output('grid-output');
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Generate');
    const form = h('form', { class: 'card form-grid' }, h('h2', {}, 'A grid from a seed'), run.field, seed.field, h('div', { class: 'field' }, h('label', { for: countId }, 'How many'), count), h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const body = { run: run.select.value, seed: Number(seed.input.value), count: Number(count.value) };
      out.busy();
      submit.disabled = true;
      postForImage('/api/generate', body)
        .then(({ blob, headers }) =>
          out.show(blob, headers, `${body.count} generated faces from run ${body.run}, seed ${body.seed}`, `Run ${body.run}, checkpoint at iteration ${headers.get('x-fakeface-iteration') ?? '?'}, seed ${body.seed}.`),
        )
        .catch((e: RequestError) => out.error(e))
        .finally(() => (submit.disabled = false));
    });
    return h('div', { class: 'stack' }, form, out.el);
  }

  function stripForm(runs: RunSummary[], selected: string): HTMLElement {
    const run = runSelect(runs, selected);
    const seedA = seedField('From seed', 'seedA', 1);
    const seedB = seedField('To seed', 'seedB', 2);
    const steps = numberField('Steps', 'steps', 8, 2, 16);
    const out = output('strip-output', true);
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Interpolate');
    const form = h(
      'form',
      { class: 'card form-grid' },
      h('h2', {}, 'Morph between two faces'),
      h('p', { class: 'hint full' }, 'Walks the generator\'s latent space from the first face of one seed to the first face of another (spherical interpolation).'),
      run.field,
      seedA.field,
      seedB.field,
      steps.field,
      h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const body = { run: run.select.value, seedA: Number(seedA.input.value), seedB: Number(seedB.input.value), steps: Number(steps.input.value) };
      out.busy();
      submit.disabled = true;
      postForImage('/api/generate', body)
        .then(({ blob, headers }) =>
          out.show(blob, headers, `${body.steps} faces morphing from seed ${body.seedA} to seed ${body.seedB}`, `Run ${body.run}, iteration ${headers.get('x-fakeface-iteration') ?? '?'}: seed ${body.seedA} → seed ${body.seedB} in ${body.steps} steps.`),
        )
        .catch((e: RequestError) => out.error(e))
        .finally(() => (submit.disabled = false));
    });
    return h('div', { class: 'stack' }, form, out.el);
  }

  return () => {
    for (const url of urls) URL.revokeObjectURL(url);
  };
}
