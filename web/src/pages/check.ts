import { getHealth, getJson, listen, RequestError, uploadFile, type Job, type JobAccepted, type JobEvents, type ImageDetection, type RunList, type VideoDetection, type FaceResult, type DetectorInfo, type Verdict } from '../api.js';
import type { DetectorAbout, UncertainReason } from '../../../src/detect/types.js';
import { lineChart, type LineChart } from '../charts.js';
import { clear, formatBytes, formatTime, h, percent, svg, uid } from '../dom.js';

const ACCEPT = 'image/jpeg,image/png,image/webp,video/mp4,video/quicktime,video/webm,.jpg,.jpeg,.png,.webp,.mp4,.mov,.webm';

/** The three answers, in the words a fact-checker would use. */
const VERDICT_TEXT: Record<Verdict, string> = {
  fake: 'Likely fake',
  real: 'No sign of a fake',
  uncertain: "Can't tell",
};

/** The Check page: drop or pick a file; an image is answered at once, a video becomes a job followed live. */
export function renderCheck(root: HTMLElement): () => void {
  const cleanups: Array<() => void> = [];
  const cleanupResult: Array<() => void> = [];
  const resetResult = () => {
    for (const undo of cleanupResult.splice(0)) undo();
    clear(result);
  };

  const hintId = uid('drop-hint');
  const detectorId = uid('detector');
  const input = h('input', { type: 'file', accept: ACCEPT, class: 'visually-hidden', tabindex: -1, 'aria-hidden': 'true', 'data-testid': 'file-input' });
  const detectorSelect = h('select', { id: detectorId, name: 'detector' }, h('option', { value: '' }, 'Default (the server picks)'));
  const drop = h(
    'button',
    { type: 'button', class: 'dropzone', 'aria-describedby': hintId, 'data-testid': 'dropzone' },
    h('span', { class: 'dropzone-icon', 'aria-hidden': 'true' }, '⇪'),
    h('span', { class: 'dropzone-title' }, 'Drop a photo or video here'),
    h('span', { class: 'dropzone-sub' }, 'or press to choose a file'),
  );
  const hint = h('p', { id: hintId, class: 'hint' }, 'Images: JPEG, PNG, WebP. Videos: MP4, MOV, WebM. The file is analysed by this fakeface server and deleted right after.');
  const result = h('section', { class: 'result', 'aria-live': 'polite', 'data-testid': 'result' });

  root.append(
    h('h1', {}, 'Check a photo or a video'),
    h('p', { class: 'lead' }, 'fakeface finds each face and judges whether it was made by an image generator rather than a camera. A video is judged from its frames.'),
    h(
      'section',
      { class: 'card upload-card' },
      drop,
      input,
      hint,
      h('div', { class: 'field inline' }, h('label', { for: detectorId }, 'Detector'), detectorSelect),
    ),
    result,
  );

  getHealth()
    .then((health) => {
      hint.textContent = `Images: JPEG, PNG, WebP. Videos: MP4, MOV, WebM. Up to ${formatBytes(health.maxUploadBytes)}. The file is analysed by this fakeface server and deleted right after.`;
      if (!health.detection.available) showError(`Checking is not available on this server: ${health.detection.reason}.`);
    })
    .catch(() => undefined);
  getJson<RunList>('/api/runs')
    .then((list) => {
      // Say what "Default" means on this server: its --detector, the built-in detector, or the newest run's discriminator.
      if (list.defaultDetector) detectorSelect.options[0]!.textContent = `Default (${list.defaultDetector})`;
      for (const run of list.runs.filter((r) => r.hasCheckpoint)) {
        detectorSelect.append(h('option', { value: run.id }, `Run ${run.id}'s discriminator (the paper's detector)`));
      }
    })
    .catch(() => undefined);

  const choose = () => input.click();
  drop.addEventListener('click', choose);
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) void check(file);
    input.value = '';
  });
  for (const type of ['dragenter', 'dragover'] as const) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add('dragging');
    });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file) void check(file);
  });
  // A file dropped next to the zone must not make the browser navigate away to it.
  const swallow = (event: DragEvent) => event.preventDefault();
  window.addEventListener('dragover', swallow);
  window.addEventListener('drop', swallow);
  cleanups.push(() => {
    window.removeEventListener('dragover', swallow);
    window.removeEventListener('drop', swallow);
  });

  function showError(message: string, hintText?: string): void {
    resetResult();
    result.append(h('div', { class: 'card error', role: 'alert', 'data-testid': 'error' }, h('strong', {}, 'Could not check the file. '), message, hintText ? h('p', { class: 'hint' }, hintText) : null));
  }

  async function check(file: File, wholeImage = false): Promise<void> {
    resetResult();
    const started = performance.now();
    const health = await getHealth().catch(() => null);
    if (health && file.size > health.maxUploadBytes) {
      showError(`${file.name} is ${formatBytes(file.size)}; this server accepts up to ${formatBytes(health.maxUploadBytes)}.`);
      return;
    }
    const controller = new AbortController();
    cleanupResult.push(() => controller.abort());
    const uploadBar = progressBlock('Uploading', file.name);
    result.append(uploadBar.el);
    const params = new URLSearchParams();
    if (detectorSelect.value) params.set('run', detectorSelect.value);
    if (wholeImage) params.set('wholeImage', 'true');
    const query = params.size ? `?${params}` : '';
    drop.disabled = true;
    try {
      const response = await uploadFile<ImageDetection | JobAccepted>(
        `/api/detect${query}`,
        file,
        (sent, total) => uploadBar.update(sent, total, `${formatBytes(sent)} of ${formatBytes(total)}`),
        controller.signal,
      );
      uploadBar.update(1, 1, 'uploaded');
      if (response.status === 202) {
        followJob((response.body as JobAccepted).job, file, started);
      } else {
        resetResult();
        showImage(response.body as ImageDetection, file, started);
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      const e = error as RequestError;
      showError(e.message, e.hint);
    } finally {
      drop.disabled = false;
    }
  }

  function followJob(job: Job, file: File, started: number): void {
    const analysis = progressBlock('Analysing', file.name);
    result.append(analysis.el);
    const describe = (j: Job) => {
      if (j.status === 'queued') analysis.update(0, 1, j.position ? `waiting in the queue (position ${j.position})` : 'waiting in the queue');
      else if (j.status === 'running') analysis.update(j.progress.done, j.progress.total, frameText(j.progress.done, j.progress.total));
    };
    describe(job);
    let finished = false;
    const finish = (j: Job) => {
      if (finished) return;
      finished = true;
      source.close();
      clearInterval(poll);
      if (j.status === 'done' && j.result) {
        resetResult();
        showVideo(j, j.result, file, started);
      } else {
        showError(j.error ?? 'the analysis failed');
      }
    };
    const source = listen<JobEvents>(`/api/jobs/${job.id}/events`, {
      job: (j) => (j.status === 'done' || j.status === 'failed' ? finish(j) : describe(j)),
      progress: (p) => analysis.update(p.done, p.total, frameText(p.done, p.total)),
    });
    // If the event stream drops (a proxy, a sleeping laptop), polling still gets the answer.
    const poll = setInterval(() => {
      if (source.readyState !== EventSource.CLOSED) return;
      getJson<Job>(`/api/jobs/${job.id}`)
        .then((j) => (j.status === 'done' || j.status === 'failed' ? finish(j) : describe(j)))
        .catch((error: RequestError) => {
          if (error.status === 404) {
            finished = true;
            clearInterval(poll);
            showError(error.message);
          }
        });
    }, 2000);
    cleanupResult.push(() => {
      source.close();
      clearInterval(poll);
    });
  }

  function showImage(detection: ImageDetection, file: File, started: number): void {
    const elapsed = performance.now() - started;
    const url = URL.createObjectURL(file);
    cleanupResult.push(() => URL.revokeObjectURL(url));
    const figure = h('figure', { class: 'photo' });
    const img = h('img', { src: url, alt: `The checked image, ${file.name}, with ${detection.faces.length} face${detection.faces.length === 1 ? '' : 's'} outlined` });
    const frame = h('div', { class: 'photo-frame' }, img);
    const map = regionMap(detection.faces, detection.width, detection.height);
    if (map) frame.append(map);
    frame.append(faceOverlay(detection.faces, detection.width, detection.height, detection.detector));
    figure.append(frame, h('figcaption', {}, `${file.name} · ${detection.width}×${detection.height}`));
    if (map) figure.append(mapControls(map));
    // No face and nothing scored: offer to score the whole picture (it then decides, unless it too cannot be judged).
    const scoreWhole =
      detection.faces.length === 0 && !detection.wholeImage
        ? h('button', { type: 'button', class: 'secondary', 'data-testid': 'score-whole-image', onclick: () => void check(file, true) }, 'Score the whole image instead')
        : null;
    const card = verdictCard({ ...detection, wholeImage: detection.faces.length === 0 ? detection.wholeImage : null, action: scoreWhole, elapsedMs: elapsed });
    const side = h('div', { class: 'stack' }, card);
    if (detection.faces.length > 0) side.append(facesTable(detection.faces));
    side.append(technicalDetails(detection.detector, detection.note));
    result.append(h('div', { class: 'result-grid', 'data-kind': 'image', 'data-elapsed-ms': Math.round(elapsed) }, figure, side));
    revealVerdict(card);
  }

  function showVideo(job: Job, video: VideoDetection, file: File, started: number): void {
    const elapsed = performance.now() - started;
    const card = verdictCard({ ...video, wholeImage: null, action: null, elapsedMs: elapsed });
    const facts = h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Duration'), h('dd', {}, formatTime(video.durationSeconds)),
      h('dt', {}, 'Frames analysed'), h('dd', {}, String(video.framesAnalysed)),
      h('dt', {}, 'Frames with a face'), h('dd', {}, String(video.framesWithFaces)),
      h('dt', {}, 'Video score (fake)'), h('dd', {}, video.pFake === null ? '–' : percent(video.pFake, 1)),
    );
    if (video.sampling) facts.append(h('dt', {}, 'Sampling'), h('dd', {}, video.sampling));
    const chartBox = h('div', { class: 'chart', 'data-testid': 'timeline', role: 'img', 'aria-label': `Timeline of p(fake) over ${video.framesAnalysed} frames; the table below lists the same numbers` });
    const thumbs = h('div', { class: 'thumbs' });
    for (const key of job.keyFrames) {
      const frame = video.frames[key.frame];
      const thumb = h('figure', { class: 'thumb' });
      const frameBox = h('div', { class: 'photo-frame' }, h('img', { src: key.url, alt: `Frame at ${formatTime(key.timeSeconds)}`, loading: 'lazy' }));
      if (frame) frameBox.append(faceOverlay(frame.faces, video.width, video.height, video.detector, false));
      thumb.append(frameBox, h('figcaption', {}, `${formatTime(key.timeSeconds)} · p(fake) ${key.pFake === null ? '–' : percent(key.pFake)}`));
      thumbs.append(thumb);
    }
    const table = h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Faces'), h('th', { scope: 'col' }, 'p(fake)'))),
      h('tbody', {}, ...video.frames.map((f) => h('tr', {}, h('td', {}, formatTime(f.timeSeconds)), h('td', {}, String(f.faces.length)), h('td', {}, f.pFake === null ? '–' : percent(f.pFake, 1))))),
    );
    result.append(
      h(
        'div',
        { class: 'stack', 'data-kind': 'video', 'data-elapsed-ms': Math.round(elapsed) },
        h('div', { class: 'result-grid' }, h('div', { class: 'stack' }, card), h('div', { class: 'stack' }, facts, h('p', { class: 'hint' }, `How the frames add up: ${video.rule}`), technicalDetails(video.detector, video.note))),
        h('section', { class: 'card' }, h('h2', {}, 'Timeline'), chartBox, h('details', {}, h('summary', {}, 'Per-frame scores as a table'), h('div', { class: 'table-scroll' }, table))),
        job.keyFrames.length ? h('section', { class: 'card' }, h('h2', {}, 'Most suspicious frames'), thumbs) : null,
      ),
    );
    revealVerdict(card);
    const chart: LineChart = lineChart(
      chartBox,
      {
        title: `p(fake) per frame — ${file.name}`,
        xLabel: 'time (s)',
        yLabel: 'p(fake)',
        yRange: [0, 1],
        xFormat: (x) => formatTime(x),
        series: [
          { label: 'p(fake)', color: '#d9480f', points: true },
          { label: 'threshold', color: '#868e96', dash: true },
        ],
      },
      [video.frames.map((f) => f.timeSeconds), video.frames.map((f) => f.pFake), video.frames.map(() => video.detector.threshold)],
    );
    cleanupResult.push(() => chart.destroy());
  }

  return () => {
    for (const undo of [...cleanupResult, ...cleanups]) undo();
  };
}

function frameText(done: number, total: number | null): string {
  return total ? `frame ${done} of ${total}` : `${done} frames`;
}

function progressBlock(label: string, name: string): { el: HTMLElement; update(done: number, total: number | null, text: string): void } {
  const id = uid('progress');
  const bar = h('progress', { id, max: 1, value: 0 });
  const text = h('span', { class: 'progress-text' }, '');
  const el = h('div', { class: 'card progress-card', 'data-testid': `progress-${label.toLowerCase()}` }, h('label', { for: id }, `${label} ${name}`), bar, text);
  return {
    el,
    update(done, total, message) {
      if (total) {
        bar.max = total;
        bar.value = Math.min(done, total);
      } else {
        bar.removeAttribute('value'); // indeterminate
      }
      text.textContent = message;
    },
  };
}

interface VerdictCardInput {
  verdict: Verdict;
  reason: UncertainReason | null;
  confidence: number | null;
  explanation: string;
  detector: DetectorInfo;
  /** The whole-image score when no face was found and it was asked for (images only). */
  wholeImage: ImageDetection['wholeImage'];
  /** A button to offer under the answer (e.g. score the whole image). */
  action: HTMLElement | null;
  elapsedMs: number;
  ms: number;
}

/**
 * The answer in plain words: the verdict, why when it cannot tell, what it means,
 * how sure it is and how to read that, and what the detector can and cannot do.
 * Technical names and numbers (detector name, threshold) live in technicalDetails.
 */
function verdictCard(input: VerdictCardInput): HTMLElement {
  const { verdict, reason, confidence, detector } = input;
  const about = aboutDetector(detector);
  const labelId = uid('verdict');
  const card = h(
    'section',
    { class: `card verdict verdict-${verdict}`, 'data-testid': 'verdict-card', 'aria-labelledby': labelId },
    h('p', { class: 'verdict-label', id: labelId, 'data-testid': 'verdict', 'data-verdict': verdict }, VERDICT_TEXT[verdict]),
  );
  if (reason) card.append(h('p', { class: 'verdict-reason', 'data-testid': 'verdict-reason', 'data-code': reason.code }, reason.message));
  const whole = input.wholeImage;
  if (whole && whole.verdict !== 'uncertain' && whole.verdict === verdict) {
    card.append(h('p', { class: 'whole-image', 'data-testid': 'whole-image' }, `No face was found, so the whole image was judged: it looks ${percent(whole.pFake)} likely to be generated.`));
  }
  const explanation = plainExplanation(input.explanation, reason);
  if (explanation) card.append(h('p', { class: 'explanation', 'data-testid': 'explanation' }, explanation));
  if (confidence !== null) {
    card.append(h('p', { class: 'confidence' }, h('meter', { min: 0.5, max: 1, value: confidence, 'aria-label': 'confidence' }), ` Confidence ${percent(confidence)}`));
  }
  if (input.action) card.append(h('p', {}, input.action));
  card.append(
    h('div', { class: 'how-to-read', 'data-testid': 'how-to-read' }, h('p', { class: 'card-subhead' }, 'How to read this'), h('p', {}, howToRead(verdict, confidence, about))),
    h('div', { class: 'limits', 'data-testid': 'limits' }, h('p', { class: 'card-subhead' }, 'What this detector cannot tell'), h('ul', {}, ...about.limits.map((limit) => h('li', {}, limit)))),
    h(
      'details',
      { class: 'about', 'data-testid': 'about-detector' },
      h('summary', {}, 'About this detector'),
      h('p', {}, about.summary),
      h('dl', { class: 'about-facts' }, h('dt', {}, 'Trained on'), h('dd', {}, about.trainedOn), h('dt', {}, 'Tested on photos and fakes it never saw'), h('dd', {}, about.outsideResults), h('dt', {}, 'Confidence'), h('dd', {}, about.calibratedOn)),
    ),
    h('p', { class: 'hint' }, `Answered in ${(input.elapsedMs / 1000).toFixed(1)} s.`),
  );
  return card;
}

/** The explanation without what the card already says (an uncertain one is "Can't tell." plus the reason). */
function plainExplanation(explanation: string, reason: UncertainReason | null): string {
  let text = explanation.trim();
  if (reason) text = text.replace(reason.message, '').trim();
  return /^can't tell\.?$/i.test(text) || text === '' ? '' : text;
}

function howToRead(verdict: Verdict, confidence: number | null, about: DetectorAbout): string {
  const notProof = '"No sign of a fake" is not proof that a photo is genuine: it only means the detector found nothing that looks generated. Treat any answer as one clue beside the source, the date and other copies of the picture.';
  if (verdict === 'uncertain' || confidence === null) {
    return `"Can't tell" means the detector could not judge this file fairly, so it gives no confidence; it is no hint either way. ${notProof}`;
  }
  const inHundred = Math.round(confidence * 100);
  return `Confidence is the chance that this answer is right: of many answers given with ${inHundred}% confidence, about ${inHundred} in 100 were right. ${about.calibratedOn} ${notProof}`;
}

/** The detector's own plain-words card, or what can honestly be said of one that has none (a run's discriminator, an older detector). */
function aboutDetector(detector: DetectorInfo): DetectorAbout {
  if (detector.about) return detector.about;
  const gan = detector.kind === 'discriminator';
  return {
    summary: gan
      ? 'The judge half of a face generator trained with fakeface (the approach of the original paper): it learned to tell its own generator\'s faces from real photos.'
      : 'A detector trained with fakeface to tell real faces from generated ones.',
    trainedOn: gan ? 'The real photos of its training run and the faces its own generator made.' : 'Real face photos and faces made by fakeface\'s own generators.',
    outsideResults: 'Not measured on photos and fakes made by others.',
    limits: [
      'It looks only at faces; a photo without a face cannot be judged.',
      'It learned from faces made by fakeface\'s own generators; fakes from other generators (diffusion models, face swaps) may pass as real.',
      'A "no sign of a fake" result means it found no sign of a fake, not that the photo is genuine.',
    ],
    calibratedOn: 'Its confidence is not calibrated on outside data, so read it as a rough score.',
  };
}

/** Brings the answer into view once it is there (smoothly, unless the reader asked for less motion). */
function revealVerdict(card: HTMLElement): void {
  const smooth = !window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  card.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
}

/** The names and numbers behind the answer, for people who want them. */
function technicalDetails(detector: DetectorInfo, note: string | undefined): HTMLElement {
  return h(
    'details',
    { class: 'card technical', 'data-testid': 'technical' },
    h('summary', {}, 'Technical details'),
    h('p', { class: 'decided-by', 'data-testid': 'detector' }, 'Decided by ', h('strong', {}, detector.name), ` — ${detectorKind(detector)}; a face counts as fake at p(fake) ≥ ${detector.threshold.toFixed(2)}.`),
    h('p', { class: 'hint' }, `Source: ${detector.source}; it reads faces at ${detector.inputSize}×${detector.inputSize} pixels.`),
    note ? h('p', { class: 'hint' }, `Note: ${note}.`) : null,
  );
}

/** What kind of classifier decided, in words: the built-in detector's source is `builtin:<name>`. */
function detectorKind(detector: DetectorInfo): string {
  if (detector.kind === 'discriminator') return "a GAN run's discriminator";
  return detector.source.startsWith('builtin:') ? 'the built-in detector that ships with fakeface' : 'a trained detector';
}

function facesTable(faces: FaceResult[]): HTMLElement {
  const table = h(
    'table',
    { 'data-testid': 'faces' },
    h('caption', {}, `${faces.length} face${faces.length === 1 ? '' : 's'} found`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Face'), h('th', { scope: 'col' }, 'Verdict'), h('th', { scope: 'col' }, 'Looks generated'))),
    h(
      'tbody',
      {},
      ...faces.map((face, i) =>
        h(
          'tr',
          { 'data-verdict': face.verdict },
          h('td', {}, String(i + 1)),
          h(
            'td',
            { class: 'wrap' },
            h('span', { class: `badge badge-${face.verdict}` }, VERDICT_TEXT[face.verdict]),
            // With one face its reason is the verdict card's; with several, each says its own.
            face.reason && faces.length > 1 ? h('span', { class: 'face-reason', 'data-testid': 'face-reason' }, face.reason.message) : null,
          ),
          h('td', {}, percent(face.pFake)),
        ),
      ),
    ),
  );
  return h('div', { class: 'table-scroll' }, table);
}

/** Red = looks generated, blue = looks real; a cell near the line between them is almost clear. */
function mapFill(pFake: number): { fill: string; opacity: number } {
  const strength = Math.min(1, Math.abs(pFake - 0.5) * 2);
  return { fill: pFake >= 0.5 ? '#e03131' : '#1c7ed6', opacity: Number((0.05 + 0.4 * strength).toFixed(3)) };
}

/**
 * Where the detector looks: each face's map cells over its crop square, drawn in
 * the image's own pixel coordinates (like faceOverlay). Null when no face has a map.
 */
function regionMap(faces: FaceResult[], width: number, height: number): SVGSVGElement | null {
  const withMap = faces.filter((f) => f.map && f.map.grid > 0 && f.map.values.length === f.map.grid * f.map.grid);
  if (withMap.length === 0) return null;
  // crispEdges: no anti-aliased seams between neighbouring cells.
  const layer = svg('svg', { class: 'overlay region-map', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', 'shape-rendering': 'crispEdges', 'data-testid': 'region-map', role: 'img', 'aria-label': 'Map of where the detector looks: red areas look generated, blue areas look real' });
  for (const face of withMap) {
    const { grid, values, region } = face.map!;
    const cw = region.width / grid;
    const ch = region.height / grid;
    values.forEach((value, i) => {
      const { fill, opacity } = mapFill(value);
      layer.append(svg('rect', { x: region.x + (i % grid) * cw, y: region.y + Math.floor(i / grid) * ch, width: cw, height: ch, fill, 'fill-opacity': opacity, 'data-p-fake': value }));
    });
  }
  return layer;
}

/** The map's legend and its show/hide switch. */
function mapControls(map: SVGSVGElement): HTMLElement {
  const id = uid('show-map');
  const toggle = h('input', { type: 'checkbox', id, checked: true, 'data-testid': 'region-map-toggle' });
  toggle.addEventListener('change', () => map.classList.toggle('off', !toggle.checked));
  return h(
    'div',
    { class: 'map-controls' },
    h('label', { for: id, class: 'map-toggle' }, toggle, ' Show where the detector looks'),
    h(
      'p',
      { class: 'map-legend', 'data-testid': 'region-map-legend' },
      h('span', { class: 'legend-swatch legend-fake', 'aria-hidden': 'true' }),
      'red: looks generated',
      h('span', { class: 'legend-swatch legend-real', 'aria-hidden': 'true' }),
      'blue: looks real',
      h('span', { class: 'hint' }, '(clear: no strong sign either way)'),
    ),
  );
}

/** Boxes and scores drawn over an image, in the image's own pixel coordinates. */
function faceOverlay(faces: FaceResult[], width: number, height: number, detector: DetectorInfo, labels = true): SVGSVGElement {
  const overlay = svg('svg', { class: 'overlay', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  const font = Math.max(10, Math.round(Math.min(width, height) / 22));
  faces.forEach((face, i) => {
    const color = face.verdict === 'fake' ? '#e03131' : face.verdict === 'uncertain' ? '#e8590c' : face.pFake >= detector.threshold ? '#e03131' : '#2f9e44';
    const { x, y, width: w, height: bh } = face.box;
    overlay.append(svg('rect', { x, y, width: w, height: bh, fill: 'none', stroke: color, 'stroke-width': Math.max(2, font / 5), 'vector-effect': 'non-scaling-stroke' }));
    if (labels) {
      const text = `${i + 1} · ${percent(face.pFake)} fake`;
      const labelY = y > font * 1.4 ? y - font * 0.35 : y + bh + font;
      overlay.append(
        svg('rect', { x, y: labelY - font, width: text.length * font * 0.58, height: font * 1.25, fill: color, opacity: 0.85 }),
        svg('text', { x: x + font * 0.2, y: labelY, fill: '#fff', 'font-size': font, 'font-family': 'system-ui, sans-serif' }, text),
      );
    }
  });
  return overlay;
}
