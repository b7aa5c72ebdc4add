import { getJson, postForImage, RequestError, type RunList } from '../api.js';
import { clear, h, uid } from '../dom.js';
import { noRunsNotice } from './runs.js';

const MAX_SEED = 4294967295;

/** An entry of the generator list: `value` is what POST /api/generate takes as `run`; `name` is for captions. */
interface GeneratorChoice {
  value: string;
  label: string;
  name: string;
}

/** The runs that can generate (newest first), then the built-in generator. */
function generatorChoices(list: RunList): GeneratorChoice[] {
  const choices: GeneratorChoice[] = list.runs
    .filter((r) => r.hasCheckpoint)
    .map((r) => ({ value: r.id, label: `${r.id} (${r.resolution ?? '?'} px, iteration ${r.iteration})`, name: `run ${r.id}` }));
  const builtIn = list.builtInGenerator;
  if (builtIn) choices.push({ value: builtIn.id, label: `${builtIn.label} (${builtIn.resolution} px, iteration ${builtIn.iteration})`, name: `the built-in generator ${builtIn.name}` });
  return choices;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const randomSeed = () => Math.floor(Math.random() * 1_000_000);

/** The Generate page: a grid of faces from a seed, and the interpolation strip between two seeds. */
export function renderGenerate(root: HTMLElement): () => void {
  const urls: string[] = [];
  const heading = h('h1', {}, 'Generate faces');
  root.append(heading, h('p', { class: 'lead' }, 'Faces from a trained generator: one of your runs, or the built-in one that ships with fakeface. The same generator, checkpoint and seed always give the same faces.'));
  const body = h('div', { class: 'stack' }, h('p', { class: 'hint' }, 'Loading runs…'));
  root.append(body);

  getJson<RunList>('/api/runs')
    .then((list) => {
      clear(body);
      const choices = generatorChoices(list);
      if (choices.length === 0) {
        body.append(noRunsNotice(list));
        return;
      }
      // Your newest run first; with none, the built-in generator.
      const selected = list.defaultRun ?? choices[0]!.value;
      if (!list.runs.some((r) => r.hasCheckpoint) && list.builtInGenerator) {
        body.append(h('p', { class: 'hint', 'data-testid': 'builtin-note' }, `No trained run yet, so the built-in generator ${list.builtInGenerator.name} draws the faces. Train your own with `, h('code', {}, list.trainCommand), '.'));
      }
      body.append(gridForm(choices, selected), stripForm(choices, selected));
    })
    .catch((error: RequestError) => {
      clear(body);
      body.append(h('div', { class: 'card error', role: 'alert' }, `Could not list the runs: ${error.message}`));
    });

  function runSelect(choices: GeneratorChoice[], selected: string): { field: HTMLElement; select: HTMLSelectElement; name(): string } {
    const id = uid('run');
    const select = h('select', { id, name: 'run' }, ...choices.map((c) => h('option', { value: c.value, selected: c.value === selected }, c.label)));
    const name = () => choices.find((c) => c.value === select.value)?.name ?? select.value;
    // A row of its own: "built-in: dcgan64-utkface (64 px, iteration 30000)" does not fit a grid cell.
    return { field: h('div', { class: 'field full generator-field' }, h('label', { for: id }, 'Generator'), select), select, name };
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

  function gridForm(choices: GeneratorChoice[], selected: string): HTMLElement {
    const run = runSelect(choices, selected);
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
      const generator = run.name();
      out.busy();
      submit.disabled = true;
      postForImage('/api/generate', body)
        .then(({ blob, headers }) =>
          out.show(blob, headers, `${body.count} generated faces from ${generator}, seed ${body.seed}`, `${capitalize(generator)}, checkpoint at iteration ${headers.get('x-fakeface-iteration') ?? '?'}, seed ${body.seed}.`),
        )
        .catch((e: RequestError) => out.error(e))
        .finally(() => (submit.disabled = false));
    });
    return h('div', { class: 'stack' }, form, out.el);
  }

  function stripForm(choices: GeneratorChoice[], selected: string): HTMLElement {
    const run = runSelect(choices, selected);
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
      const generator = run.name();
      out.busy();
      submit.disabled = true;
      postForImage('/api/generate', body)
        .then(({ blob, headers }) =>
          out.show(blob, headers, `${body.steps} faces morphing from seed ${body.seedA} to seed ${body.seedB}`, `${capitalize(generator)}, iteration ${headers.get('x-fakeface-iteration') ?? '?'}: seed ${body.seedA} → seed ${body.seedB} in ${body.steps} steps.`),
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
