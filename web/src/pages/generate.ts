import { AGE_BUCKETS, ageBucketName, GENDERS, RACES } from '../../../src/data/conditions.js';
import { getJson, postForImage, RequestError, type RunList } from '../api.js';
import { clear, h, uid } from '../dom.js';
import { sendToCheck } from '../handoff.js';
import { noRunsNotice } from './runs.js';

const MAX_SEED = 4294967295;
/** A generated image is shown at a whole multiple of its pixels, at most this many times (a 64 px face: 256 px, not 530). */
const MAX_ZOOM = 4;
/** ...and no wider than this (px), a grid's old fixed width. */
const MAX_SHOWN_WIDTH = 544;
/** The generator the user last picked (kept across visits); without one, the built-in generator. */
const PICKED_KEY = 'fakeface.generator';

const faces = (n: number) => `${n} face${n === 1 ? '' : 's'}`;

/**
 * The generator to start with: the one the user picked last time, if it is still
 * there; else the built-in one (a run still at its first iterations draws colour
 * noise, so a new run is not taken until the user picks it); else the newest run.
 */
function initialGenerator(list: RunList, choices: GeneratorChoice[]): string {
  let picked: string | null = null;
  try {
    picked = localStorage.getItem(PICKED_KEY);
  } catch {
    // Storage blocked: start from the default.
  }
  if (picked && choices.some((c) => c.value === picked)) return picked;
  return list.builtInGenerator?.id ?? list.defaultRun ?? choices[0]!.value;
}

/** Shows `img` at the largest whole zoom (up to MAX_ZOOM) that fits MAX_SHOWN_WIDTH; CSS keeps it within narrow screens. */
function zoomToFit(img: HTMLImageElement): void {
  const zoom = Math.max(1, Math.min(MAX_ZOOM, Math.floor(MAX_SHOWN_WIDTH / img.naturalWidth)));
  img.style.width = `${img.naturalWidth * zoom}px`;
  img.dataset['zoom'] = String(zoom);
}

/** An entry of the generator list: `value` is what POST /api/generate takes as `run`; `name` is for captions. */
interface GeneratorChoice {
  value: string;
  label: string;
  name: string;
  /** Takes age, gender and race (a run trained with --conditional). */
  conditional: boolean;
}

/** The labels a conditional generator is asked for: the API's field, its label, and its values ("any" first). */
const LABEL_FIELDS = [
  { key: 'age', label: 'Age', values: AGE_BUCKETS.map((_, i) => ageBucketName(i)) },
  { key: 'gender', label: 'Gender', values: [...GENDERS] },
  { key: 'race', label: 'Ethnicity', values: [...RACES] },
] as const;
type Labels = Partial<Record<(typeof LABEL_FIELDS)[number]['key'], string>>;

/** "women aged 60-80, asian": the labels asked for, in words; "" for none. */
function labelWords(labels: Labels): string {
  const who = labels.gender === 'female' ? 'women' : labels.gender === 'male' ? 'men' : 'faces';
  const parts = [labels.age ? `${who} aged ${labels.age}` : labels.gender ? who : null, labels.race ?? null].filter(Boolean);
  return parts.join(', ');
}

/** The runs that can generate (newest first), then the built-in generators. */
function generatorChoices(list: RunList): GeneratorChoice[] {
  const choices: GeneratorChoice[] = list.runs
    .filter((r) => r.hasCheckpoint)
    .map((r) => ({ value: r.id, label: `${r.id} (${r.resolution ?? '?'} px, iteration ${r.iteration}${r.conditional ? ', conditional' : ''})`, name: `run ${r.id}`, conditional: r.conditional }));
  // Every shipped generator, the default first (an older server lists only the default).
  const builtIns = list.builtInGenerators ?? (list.builtInGenerator ? [list.builtInGenerator] : []);
  for (const builtIn of builtIns) {
    choices.push({
      value: builtIn.id,
      label: `${builtIn.label} (${builtIn.resolution} px, iteration ${builtIn.iteration}${builtIn.conditional ? ', conditional' : ''})`,
      name: `the built-in generator ${builtIn.name}`,
      conditional: builtIn.conditional,
    });
  }
  return choices;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const fileName = (headers: Headers) => /filename="([^"]+)"/.exec(headers.get('content-disposition') ?? '')?.[1] ?? 'fakeface.png';
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
      const run = runSelect(choices, initialGenerator(list, choices));
      const picker = h('section', { class: 'card form-grid', 'aria-label': 'Generator' }, run.field, run.labelsField);
      if (!list.runs.some((r) => r.hasCheckpoint) && list.builtInGenerator) {
        picker.append(h('p', { class: 'hint full', 'data-testid': 'builtin-note' }, `No trained run yet, so the built-in generator ${list.builtInGenerator.name} draws the faces. Train your own with `, h('code', {}, list.trainCommand), '.'));
      } else {
        const young = list.builtInGenerator ? ' A run draws colour noise for its first few hundred iterations, so the built-in generator stays selected until you pick a run.' : '';
        picker.append(h('p', { class: 'hint full' }, `Both the grid and the morph below use this generator.${young}`));
      }
      body.append(picker, gridForm(run), stripForm(run));
    })
    .catch((error: RequestError) => {
      clear(body);
      body.append(h('div', { class: 'card error', role: 'alert' }, `Could not list the runs: ${error.message}`));
    });

  type RunSelect = { field: HTMLElement; labelsField: HTMLElement; select: HTMLSelectElement; name(): string; labels(): Labels };

  function runSelect(choices: GeneratorChoice[], selected: string): RunSelect {
    const id = uid('run');
    const select = h('select', { id, name: 'run' }, ...choices.map((c) => h('option', { value: c.value, selected: c.value === selected }, c.label)));
    const chosen = () => choices.find((c) => c.value === select.value);
    const name = () => chosen()?.name ?? select.value;
    // Age, gender and ethnicity: only for a conditional generator, "any" by default; both forms below use them.
    const labelSelects = LABEL_FIELDS.map((field) => {
      const selectId = uid(field.key);
      const labelSelect = h('select', { id: selectId, name: field.key, 'data-testid': `label-${field.key}` }, h('option', { value: 'any' }, 'any'), ...field.values.map((v) => h('option', { value: v }, v)));
      return { key: field.key, select: labelSelect, field: h('div', { class: 'field' }, h('label', { for: selectId }, field.label), labelSelect) };
    });
    const labelsField = h(
      'fieldset',
      { class: 'full form-grid labels-field', 'data-testid': 'labels' },
      h('legend', {}, 'Kind of face'),
      ...labelSelects.map((l) => l.field),
      h('p', { class: 'hint full' }, 'This generator was trained on UTKFace\'s labels: ask for an age range, a gender and an ethnicity, or leave "any".'),
    );
    const showLabels = () => (labelsField.hidden = !chosen()?.conditional);
    showLabels();
    const labels = (): Labels => (chosen()?.conditional ? Object.fromEntries(labelSelects.filter((l) => l.select.value !== 'any').map((l) => [l.key, l.select.value])) : {});
    select.addEventListener('change', () => {
      showLabels();
      try {
        localStorage.setItem(PICKED_KEY, select.value);
      } catch {
        // Storage blocked: the pick lasts as long as the page.
      }
    });
    // A row of its own: "built-in: dcgan64-utkface (64 px, iteration 30000)" does not fit a grid cell.
    return { field: h('div', { class: 'field full generator-field' }, h('label', { for: id }, 'Generator'), select), labelsField, select, name, labels };
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

  function output(testid: string, strip = false): { el: HTMLElement; show(blob: Blob, headers: Headers, alt: string, caption: string, ...actions: HTMLElement[]): void; error(e: RequestError): void; busy(): void } {
    const el = h('div', { class: 'gen-output', 'aria-live': 'polite', 'data-testid': testid });
    return {
      el,
      busy() {
        clear(el);
        el.append(h('p', { class: 'hint' }, 'Generating…'));
      },
      show(blob, headers, alt, caption, ...actions) {
        clear(el);
        const url = URL.createObjectURL(blob);
        urls.push(url);
        const img = h('img', { src: url, alt, class: 'pixelated' });
        if (!strip) img.addEventListener('load', () => zoomToFit(img), { once: true });
        el.append(
          h('figure', { class: strip ? 'generated strip' : 'generated' }, img, h('figcaption', {}, caption)),
          h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: url, download: fileName(headers) }, 'Download PNG'), ...actions),
        );
      },
      error(e) {
        clear(el);
        el.append(h('div', { class: 'card error', role: 'alert' }, e.message, e.hint ? h('p', { class: 'hint' }, e.hint) : null));
      },
    };
  }

  function gridForm(run: RunSelect): HTMLElement {
    const seed = seedField('Seed', 'seed', 1);
    const countId = uid('count');
    const count = h('select', { id: countId, name: 'count' }, ...[1, 4, 9, 16, 25, 36, 49, 64].map((n) => h('option', { value: n, selected: n === 16 }, faces(n))));
    const out = output('grid-output');
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Generate');
    const form = h('form', { class: 'card form-grid' }, h('h2', {}, 'A grid from a seed'), seed.field, h('div', { class: 'field' }, h('label', { for: countId }, 'How many'), count), h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const n = Number(count.value);
      // One face comes bare (exactly the generator's pixels); a grid keeps the black lines between its faces.
      const labels = run.labels();
      const body = { run: run.select.value, seed: Number(seed.input.value), count: n, ...(n === 1 ? { padding: 0 } : {}), ...labels };
      const generator = run.name();
      const asked = labelWords(labels);
      out.busy();
      submit.disabled = true;
      postForImage('/api/generate', body)
        .then(({ blob, headers }) => {
          const check = h('button', { type: 'button', class: 'secondary', 'data-testid': 'check-generated' }, n === 1 ? 'Check this face' : 'Check these faces');
          check.addEventListener('click', () => sendToCheck(new File([blob], fileName(headers), { type: 'image/png' })));
          out.show(
            blob,
            headers,
            `${faces(n)} generated from ${generator}, seed ${body.seed}${asked ? `: ${asked}` : ''}`,
            `${capitalize(generator)}, checkpoint at iteration ${headers.get('x-fakeface-iteration') ?? '?'}, seed ${body.seed}${asked ? `; asked for ${asked}` : ''}.`,
            check,
          );
        })
        .catch((e: RequestError) => out.error(e))
        .finally(() => (submit.disabled = false));
    });
    return h('div', { class: 'stack' }, form, out.el);
  }

  function stripForm(run: RunSelect): HTMLElement {
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
      seedA.field,
      seedB.field,
      steps.field,
      h('div', { class: 'actions' }, submit),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const labels = run.labels();
      const body = { run: run.select.value, seedA: Number(seedA.input.value), seedB: Number(seedB.input.value), steps: Number(steps.input.value), ...labels };
      const generator = run.name();
      const asked = labelWords(labels);
      out.busy();
      submit.disabled = true;
      postForImage('/api/generate', body)
        .then(({ blob, headers }) =>
          out.show(blob, headers, `${body.steps} faces morphing from seed ${body.seedA} to seed ${body.seedB}`, `${capitalize(generator)}, iteration ${headers.get('x-fakeface-iteration') ?? '?'}: seed ${body.seedA} → seed ${body.seedB} in ${body.steps} steps${asked ? `, ${asked}` : ''}.`),
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
