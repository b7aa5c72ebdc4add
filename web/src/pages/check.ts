import { deleteJson, getHealth, getJson, listen, RequestError, uploadFile, type DetectResponse, type Job, type JobAccepted, type JobEvents, type ImageDetection, type RunList, type VideoDetection } from '../api.js';
import { lineChart, type LineChart } from '../charts.js';
import { clear, formatBytes, formatTime, h, percent, uid } from '../dom.js';
import { readingOrder } from '../face-order.js';
import { takeHandedFiles } from '../handoff.js';
import { faceOverlay, linkFacesToTable, mapControls, regionMap } from './check-overlay.js';
import { batchSummary, type FileOutcome } from './check-summary.js';
import { reportButtons, type CheckedUpload } from './check-report-download.js';
import { facesTable, technicalDetails, verdictCard } from './check-verdict.js';
import { Eta } from '../eta.js';
import { noFaceStretches } from '../../../src/detect/no-face-stretches.js';

const ACCEPT = 'image/jpeg,image/png,image/webp,video/mp4,video/quicktime,video/webm,.jpg,.jpeg,.png,.webp,.mp4,.mov,.webm';

/** The Check page: drop, pick or paste files; an image is answered at once, a video becomes a job followed live; several files get a card each and a summary. */
export function renderCheck(root: HTMLElement): () => void {
  const cleanups: Array<() => void> = [];
  const cleanupResult: Array<() => void> = [];
  /** Bumped by each new check: a batch still running stops when it sees a newer one. */
  let generation = 0;
  const resetResult = () => {
    generation++;
    for (const undo of cleanupResult.splice(0)) undo();
    clear(result);
  };

  const hintId = uid('drop-hint');
  const detectorId = uid('detector');
  const input = h('input', { type: 'file', accept: ACCEPT, multiple: true, class: 'visually-hidden', tabindex: -1, 'aria-hidden': 'true', 'data-testid': 'file-input' });
  const detectorSelect = h('select', { id: detectorId, name: 'detector' }, h('option', { value: '' }, 'Default (the server picks)'));
  const dropTitle = h('span', { class: 'dropzone-title' }, 'Drop photos or videos here');
  const drop = h(
    'button',
    { type: 'button', class: 'dropzone', 'aria-describedby': hintId, 'data-testid': 'dropzone' },
    h('span', { class: 'dropzone-icon', 'aria-hidden': 'true' }, '⇪'),
    dropTitle,
    h('span', { class: 'dropzone-sub' }, 'or press to choose files, or paste an image (Ctrl+V)'),
  );
  const hintText = (limit: string) => `Images: JPEG, PNG, WebP. Videos: MP4, MOV, WebM.${limit} Several files at once are checked one after another. Each file is analysed by this fakeface server and deleted right after.`;
  const hint = h('p', { id: hintId, class: 'hint' }, hintText(''));
  const result = h('section', { class: 'result', 'aria-live': 'polite', 'data-testid': 'result' });
  const uploadCard = h(
    'section',
    { class: 'card upload-card' },
    drop,
    input,
    hint,
    h('div', { class: 'field inline' }, h('label', { for: detectorId }, 'Detector'), detectorSelect),
  );

  root.append(
    h('h1', {}, 'Check a photo or a video'),
    h('p', { class: 'lead' }, 'fakeface finds each face and judges whether it was made by an image generator rather than a camera. A video is judged from its frames.'),
    uploadCard,
    result,
  );

  getHealth()
    .then((health) => {
      hint.textContent = hintText(` Up to ${formatBytes(health.maxUploadBytes)} each.`);
      if (!health.detection.available) showError(result, `Checking is not available on this server: ${health.detection.reason}.`);
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

  /** Once there is an answer the drop zone steps back: the answer is what matters now. */
  const compactDropzone = () => {
    drop.classList.add('compact');
    dropTitle.textContent = 'Drop other photos or videos here';
  };

  const choose = () => input.click();
  drop.addEventListener('click', choose);
  input.addEventListener('change', () => {
    const files = [...(input.files ?? [])];
    if (files.length) void checkFiles(files);
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
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) void checkFiles(files);
  });
  // A file dropped next to the zone must not make the browser navigate away to it.
  const swallow = (event: DragEvent) => event.preventDefault();
  window.addEventListener('dragover', swallow);
  window.addEventListener('drop', swallow);
  // Ctrl+V anywhere on the page: the first image on the clipboard is checked (text pastes are left alone).
  const paste = (event: ClipboardEvent) => {
    const item = [...(event.clipboardData?.items ?? [])].find((i) => i.kind === 'file' && i.type.startsWith('image/'));
    const blob = item?.getAsFile();
    if (!blob) return;
    event.preventDefault();
    const extension = blob.type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'png';
    void checkFiles([new File([blob], `pasted-image.${extension}`, { type: blob.type })]);
  };
  document.addEventListener('paste', paste);
  cleanups.push(() => {
    window.removeEventListener('dragover', swallow);
    window.removeEventListener('drop', swallow);
    document.removeEventListener('paste', paste);
  });

  function showError(into: HTMLElement, message: string, hintText?: string): void {
    if (into === result) resetResult();
    else clear(into);
    into.append(h('div', { class: 'card error', role: 'alert', 'data-testid': 'error' }, h('strong', {}, 'Could not check the file. '), message, hintText ? h('p', { class: 'hint' }, hintText) : null));
  }

  /** One file: its answer fills the page. Several: a card each as it finishes, one after another, and a summary table. */
  async function checkFiles(files: File[]): Promise<void> {
    if (files.length === 1) {
      resetResult();
      await checkFile(files[0]!, result, { reveal: true });
      return;
    }
    resetResult();
    const mine = generation;
    const summary = batchSummary(files);
    result.append(summary.el);
    const slots = files.map((file) => {
      const slot = h('section', { class: 'batch-item', 'data-testid': 'batch-item', 'aria-label': file.name }, h('h2', { class: 'batch-file' }, file.name), h('p', { class: 'hint' }, 'Waiting for the files before it…'));
      result.append(slot);
      return slot;
    });
    for (const [i, file] of files.entries()) {
      if (generation !== mine) return; // a newer check started, or the page was left
      const outcome = await checkFile(file, slots[i]!, { reveal: false, heading: file.name });
      if (generation !== mine) return;
      summary.set(i, outcome);
    }
  }

  /** Uploads `file`, follows it to its answer and shows the answer in `into`; resolves to what it came to (never rejects). */
  async function checkFile(file: File, into: HTMLElement, view: ResultView, wholeImage = false): Promise<FileOutcome> {
    const failed = (message: string): FileOutcome => ({ file: file.name, kind: 'error', faces: null, verdict: null, topScore: null, error: message });
    const started = performance.now();
    const checkedAt = new Date();
    const health = await getHealth().catch(() => null);
    if (health && file.size > health.maxUploadBytes) {
      const message = `${file.name} is ${formatBytes(file.size)}; this server accepts up to ${formatBytes(health.maxUploadBytes)}.`;
      showError(into, message);
      return failed(message);
    }
    const controller = new AbortController();
    cleanupResult.push(() => controller.abort());
    const uploadBar = progressBlock('Uploading', file.name);
    keepHeading(into, view);
    into.append(uploadBar.el);
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
        const job = await followJob((response.body as JobAccepted).job, file, into);
        keepHeading(into, view);
        showVideo(job, job.result!, { file, checkedAt }, started, into, view);
        const video = job.result!;
        return { file: file.name, kind: 'video', faces: Math.max(0, ...video.frames.map((f) => f.faces.length)), verdict: video.verdict, topScore: video.pFake, error: null };
      }
      const detection = response.body as DetectResponse;
      keepHeading(into, view);
      showImage(detection, { file, checkedAt }, started, into, view);
      const top = detection.faces.length ? Math.max(...detection.faces.map((f) => f.pFake)) : (detection.wholeImage?.pFake ?? null);
      return { file: file.name, kind: 'image', faces: detection.faces.length, verdict: detection.verdict, topScore: top, error: null };
    } catch (error) {
      if (error instanceof JobCancelled) {
        keepHeading(into, view);
        into.append(h('div', { class: 'card notice', role: 'status', 'data-testid': 'cancelled' }, h('strong', {}, 'Analysis cancelled. '), `${file.name} was not checked; the server stopped and deleted it.`));
        return failed('cancelled');
      }
      const e = error as RequestError;
      if (!controller.signal.aborted) showError(into, e.message, e.hint);
      return failed(e.message);
    } finally {
      drop.disabled = false;
    }
  }

  /** Clears `into` for the next stage of a check; a batch card keeps its file name on top. */
  function keepHeading(into: HTMLElement, view: ResultView): void {
    clear(into);
    if (view.heading) into.append(h('h2', { class: 'batch-file' }, view.heading));
  }

  /** Follows a video job by its event stream (polling if the stream drops) until it is done; rejects with the job's error. */
  function followJob(job: Job, file: File, into: HTMLElement): Promise<Job> {
    const analysis = progressBlock('Analysing', file.name);
    const eta = new Eta();
    const progressText = (done: number, total: number | null) => [frameText(done, total), eta.update(done, total, performance.now())].filter(Boolean).join(' · ');
    const cancel = h('button', { type: 'button', class: 'secondary', 'data-testid': 'cancel-job' }, 'Cancel');
    analysis.el.append(h('div', { class: 'actions' }, cancel));
    into.append(analysis.el);
    const describe = (j: Job) => {
      if (j.status === 'queued') analysis.update(0, 1, j.position ? `waiting in the queue (position ${j.position})` : 'waiting in the queue');
      else if (j.status === 'running') analysis.update(j.progress.done, j.progress.total, progressText(j.progress.done, j.progress.total));
    };
    describe(job);
    return new Promise((resolve, reject) => {
      let finished = false;
      const stop = () => {
        finished = true;
        source.close();
        clearInterval(poll);
      };
      const finish = (j: Job) => {
        if (finished) return;
        stop();
        if (j.status === 'done' && j.result) resolve(j);
        else if (j.status === 'cancelled') reject(new JobCancelled());
        else reject(new RequestError(0, j.error ?? 'the analysis failed'));
      };
      const isFinal = (j: Job) => j.status === 'done' || j.status === 'failed' || j.status === 'cancelled';
      // The server stops the job and deletes the upload; its answer is the stopped job.
      cancel.addEventListener('click', () => {
        cancel.disabled = true;
        cancel.textContent = 'Cancelling…';
        deleteJson<Job>(`/api/jobs/${job.id}`)
          .then(finish)
          .catch((error: RequestError) => {
            cancel.disabled = false;
            cancel.textContent = 'Cancel';
            analysis.update(0, null, `Could not cancel: ${error.message}`);
          });
      });
      const source = listen<JobEvents>(`/api/jobs/${job.id}/events`, {
        job: (j) => (isFinal(j) ? finish(j) : describe(j)),
        progress: (p) => analysis.update(p.done, p.total, progressText(p.done, p.total)),
      });
      // If the event stream drops (a proxy, a sleeping laptop), polling still gets the answer.
      const poll = setInterval(() => {
        if (source.readyState !== EventSource.CLOSED) return;
        getJson<Job>(`/api/jobs/${job.id}`)
          .then((j) => (isFinal(j) ? finish(j) : describe(j)))
          .catch((error: RequestError) => {
            if (error.status === 404 && !finished) {
              stop();
              reject(error);
            }
          });
      }, 2000);
      cleanupResult.push(() => {
        if (finished) return;
        stop();
        // Nobody will see this answer now (another check started, or the page was left): free the server.
        void fetch(`/api/jobs/${job.id}`, { method: 'DELETE', keepalive: true }).catch(() => undefined);
        reject(new RequestError(0, 'cancelled'));
      });
    });
  }

  function showImage(detection: DetectResponse, upload: CheckedUpload, started: number, into: HTMLElement, view: ResultView): void {
    const { file } = upload;
    const elapsed = performance.now() - started;
    const url = URL.createObjectURL(file);
    cleanupResult.push(() => URL.revokeObjectURL(url));
    // Numbered as a reader scans: rows top to bottom, each left to right.
    const faces = readingOrder(detection.faces);
    const figure = h('figure', { class: 'photo' });
    const img = h('img', { src: url, alt: `The checked image, ${file.name}, with ${faces.length} face${faces.length === 1 ? '' : 's'} outlined` });
    const frame = h('div', { class: 'photo-frame' }, img);
    const map = regionMap(faces, detection.width, detection.height);
    if (map) frame.append(map);
    const overlay = faceOverlay(faces, detection.width, detection.height, detection.detector);
    frame.append(overlay);
    figure.append(frame, h('figcaption', {}, `${file.name} · ${detection.width}×${detection.height}`));
    if (map) figure.append(mapControls(map));
    // No face and nothing scored: offer to score the whole picture (it then decides, unless it too cannot be judged).
    const scoreWhole =
      faces.length === 0 && !detection.wholeImage
        ? h('button', { type: 'button', class: 'secondary', 'data-testid': 'score-whole-image', onclick: () => void checkFile(file, into, view, true) }, 'Score the whole image instead')
        : null;
    const card = verdictCard({ ...detection, wholeImage: faces.length === 0 ? detection.wholeImage : null, action: scoreWhole, elapsedMs: elapsed });
    const side = h('div', { class: 'stack' }, card, reportButtons({ detection }, upload));
    if (faces.length > 0) {
      const table = facesTable(faces);
      side.append(table);
      linkFacesToTable(overlay, [...table.querySelectorAll('tbody tr')] as HTMLTableRowElement[]);
    }
    side.append(technicalDetails(detection.detector, detection.note));
    into.append(h('div', { class: 'result-grid', 'data-kind': 'image', 'data-elapsed-ms': Math.round(elapsed) }, figure, side));
    compactDropzone();
    if (view.reveal) revealVerdict(card);
  }

  function showVideo(job: Job, video: VideoDetection, upload: CheckedUpload, started: number, into: HTMLElement, view: ResultView): void {
    const { file } = upload;
    const elapsed = performance.now() - started;
    const card = verdictCard({ ...video, wholeImage: null, action: null, elapsedMs: elapsed, check: job.check });
    const facts = h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Duration'), h('dd', {}, formatTime(video.durationSeconds)),
      h('dt', {}, 'Frames analysed'), h('dd', {}, String(video.framesAnalysed)),
      h('dt', {}, 'Frames with a face'), h('dd', {}, String(video.framesWithFaces)),
      h('dt', {}, 'Video score (fake)'), h('dd', {}, video.pFake === null ? '–' : percent(video.pFake, 1)),
    );
    if (video.sampling) facts.append(h('dt', {}, 'Sampling'), h('dd', {}, video.sampling));

    // The video itself, from the file on this computer (the server has deleted its copy); the timeline follows it and seeks it.
    const url = URL.createObjectURL(file);
    cleanupResult.push(() => URL.revokeObjectURL(url));
    const player = h('video', { src: url, controls: true, playsinline: true, preload: 'metadata', class: 'player', 'data-testid': 'video-player', 'aria-label': `The checked video, ${file.name}` });
    const seek = (seconds: number) => {
      player.currentTime = Math.max(0, Math.min(seconds, Number.isFinite(player.duration) ? player.duration : seconds));
      chart.mark(seconds);
    };
    const readout = h('p', { class: 'timeline-readout', role: 'status', 'data-testid': 'timeline-readout' }, 'Click or tap the timeline to see a frame\'s values and jump the video there.');
    const nearestFrame = (seconds: number) => video.frames.reduce((best, f) => (Math.abs(f.timeSeconds - seconds) < Math.abs(best.timeSeconds - seconds) ? f : best), video.frames[0]!);
    const pick = (seconds: number) => {
      seek(seconds);
      if (video.frames.length === 0) return;
      const f = nearestFrame(seconds);
      readout.textContent = `${formatTime(f.timeSeconds)}: ${f.faces.length === 0 ? 'no face' : `${f.faces.length} face${f.faces.length === 1 ? '' : 's'}`}, looks generated ${f.pFake === null ? '–' : percent(f.pFake, 1)}`;
    };

    const stretches = noFaceStretches(video.frames, video.durationSeconds);
    const chartBox = h('div', { class: 'chart', 'data-testid': 'timeline', role: 'img', 'aria-label': `Timeline of p(fake) over ${video.framesAnalysed} frames; the table below lists the same numbers` });
    const stretchList = stretches.length
      ? h('p', { class: 'hint no-face-stretches', 'data-testid': 'no-face-stretches' }, h('span', { class: 'legend-swatch legend-none', 'aria-hidden': 'true' }), `Shaded: no face found (${stretches.map((st) => `${formatTime(st.from)}–${formatTime(st.to)}`).join(', ')}); nothing there was judged.`)
      : null;
    const thumbs = h('div', { class: 'thumbs' });
    for (const key of job.keyFrames) {
      const frame = video.frames[key.frame];
      const frameBox = h('div', { class: 'photo-frame' }, h('img', { src: key.url, alt: '', loading: 'lazy' }));
      if (frame) frameBox.append(faceOverlay(readingOrder(frame.faces), video.width, video.height, video.detector, false));
      const caption = `${formatTime(key.timeSeconds)} · p(fake) ${key.pFake === null ? '–' : percent(key.pFake)}`;
      // The whole thumbnail is a button: it plays the video from that frame.
      const button = h('button', { type: 'button', class: 'thumb-button', 'data-testid': 'key-frame', 'data-time': key.timeSeconds, 'aria-label': `Show the video at ${formatTime(key.timeSeconds)} (p(fake) ${key.pFake === null ? 'none' : percent(key.pFake)})` }, frameBox);
      button.addEventListener('click', () => {
        pick(key.timeSeconds);
        player.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      });
      thumbs.append(h('figure', { class: 'thumb' }, button, h('figcaption', {}, caption)));
    }
    const table = h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Faces'), h('th', { scope: 'col' }, 'p(fake)'))),
      h('tbody', {}, ...video.frames.map((f) => h('tr', {}, h('td', {}, formatTime(f.timeSeconds)), h('td', {}, String(f.faces.length)), h('td', {}, f.pFake === null ? '–' : percent(f.pFake, 1))))),
    );
    into.append(
      h(
        'div',
        { class: 'stack', 'data-kind': 'video', 'data-elapsed-ms': Math.round(elapsed) },
        h('div', { class: 'result-grid' }, h('div', { class: 'stack' }, card, reportButtons({ detection: video, job }, upload)), h('div', { class: 'stack' }, facts, h('p', { class: 'hint' }, `How the frames add up: ${video.rule}`), technicalDetails(video.detector, video.note))),
        h(
          'section',
          { class: 'card' },
          h('h2', {}, 'Timeline'),
          player,
          chartBox,
          readout,
          stretchList,
          h('details', {}, h('summary', {}, 'Per-frame scores as a table'), h('div', { class: 'table-scroll' }, table)),
        ),
        job.keyFrames.length ? h('section', { class: 'card' }, h('h2', {}, 'Most suspicious frames'), h('p', { class: 'hint' }, 'Press a frame to see it in the video.'), thumbs) : null,
      ),
    );
    compactDropzone();
    if (view.reveal) revealVerdict(card);
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
        shaded: stretches.map((st) => ({ from: st.from, to: st.to, label: 'no face' })),
        onPick: pick,
      },
      // The video's ends as x points without values: the timeline spans the whole video, like the player.
      withEnds(video),
    );
    // The playhead follows the video as it plays or is scrubbed.
    const follow = () => {
      chart.mark(player.currentTime);
      chartBox.dataset['playhead'] = player.currentTime.toFixed(2);
    };
    player.addEventListener('timeupdate', follow);
    player.addEventListener('seeked', follow);
    cleanupResult.push(() => chart.destroy());
  }

  // "Check this face" on the Generate page: check it now.
  const handed = takeHandedFiles();
  if (handed.length) void checkFiles(handed);

  return () => {
    for (const undo of [...cleanupResult, ...cleanups]) undo();
    generation++;
  };
}

/** The timeline's data: the frames' times and scores, plus the video's start and end (no score) so the x axis spans the whole video. */
function withEnds(video: VideoDetection): [number[], (number | null)[], (number | null)[]] {
  const xs = video.frames.map((f) => f.timeSeconds);
  const ps: (number | null)[] = video.frames.map((f) => f.pFake);
  const ts: (number | null)[] = video.frames.map(() => video.detector.threshold);
  if (xs.length === 0 || xs[0]! > 0) {
    xs.unshift(0);
    ps.unshift(null);
    ts.unshift(video.detector.threshold);
  }
  if (video.durationSeconds > xs[xs.length - 1]!) {
    xs.push(video.durationSeconds);
    ps.push(null);
    ts.push(video.detector.threshold);
  }
  return [xs, ps, ts];
}

/** A video job stopped by the Cancel button. */
class JobCancelled extends Error {
  constructor() {
    super('the analysis was cancelled');
  }
}

/** Where a result goes: alone on the page (scrolled to and focused), or as a card of a batch under its file name. */
interface ResultView {
  reveal: boolean;
  heading?: string;
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

/** Brings the answer into view once it is there (smoothly, unless the reader asked for less motion). */
function revealVerdict(card: HTMLElement): void {
  const smooth = !window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  // Focused too, so a keyboard or screen reader user is taken to the answer (tabindex -1: not a tab stop).
  card.tabIndex = -1;
  card.focus({ preventScroll: true });
  card.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
}

