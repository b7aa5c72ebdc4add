/**
 * The shareable report of one check: a single self-contained HTML file (its
 * images inlined as data: URIs, its own Content-Security-Policy forbidding any
 * load from elsewhere) that opens offline and can be attached to an article.
 * It holds the verdict in words, the annotated picture (boxes and region map),
 * the per-face scores and maps, the detector and its measured limits, and the
 * file's SHA-256, size and time of check.
 *
 * One renderer for both makers: `fakeface detect --report DIR` (src/cli) and the
 * Check page's "Download report" (web/src). No Node imports; every string from
 * the detection or the file (a hostile file name included) is escaped.
 */
import { timelineSvg } from '../detect/charts.js';
import { readingOrder } from '../detect/face-order.js';
import type { Detection, FaceResult, ImageDetection, VideoDetection } from '../detect/types.js';
import { aboutDetector, howToRead, plainExplanation, VERDICT_TEXT } from './verdict-words.js';

/** The file that was checked. */
export interface CheckedFile {
  /** Its name as given (shown escaped, never used as a path here). */
  name: string;
  /** SHA-256 of its bytes, 64 hex digits. */
  sha256: string;
  bytes: number;
  /** When the check was made (ISO 8601). */
  checkedAt: string;
}

/** A video's key frame, for the report: which frame and its picture. */
export interface ReportKeyFrame {
  /** Index into detection.frames. */
  frame: number;
  /** data:image/jpeg or png URI. */
  image: string;
}

export interface CheckReportInput {
  detection: Detection;
  file: CheckedFile;
  /** fakeface's version (package.json). */
  version: string;
  /** The annotated picture (an image with boxes, labels and region map; a video's most suspicious frame), as a data:image/png URI. */
  annotated: string | null;
  /** The picture as uploaded (images), as a data: URI; left out when null. */
  original?: string | null;
  /** Video: the most suspicious frames. */
  keyFrames?: ReportKeyFrame[];
}

/** Escapes text for HTML text and attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Only base64 data: URIs of the image types a browser shows; anything else is dropped, never put in an attribute. */
const DATA_URI = /^data:image\/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+=*$/;
export const isImageDataUri = (uri: string | null | undefined): uri is string => typeof uri === 'string' && DATA_URI.test(uri);

const pct = (p: number, digits = 0) => `${(p * 100).toFixed(digits)}%`;
const clock = (seconds: number) => {
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - m * 60).toFixed(1).padStart(4, '0')}`;
};

/** The report's file name stem for a checked file: letters, digits, '_', '.', '-' only, no leading dot or dash, at most 80 characters. */
export function reportStem(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const stem = base.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_').replace(/^[.-]+/, '').slice(0, 80);
  return stem || 'file';
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 980px; margin: 0 auto; padding: 1.5em 1em 3em; color: #1f2328; line-height: 1.5; background: #fff; }
h1 { font-size: 1.5em; margin: 0.2em 0 0.6em; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; margin: 1.6em 0 0.5em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
h3 { font-size: 1em; margin: 1em 0 0.3em; }
.kicker { color: #59636e; margin: 0; text-transform: uppercase; letter-spacing: 0.06em; font-size: 0.8em; }
.verdict { border-left: 6px solid #6e7781; padding: 0.6em 1em; background: #f6f8fa; border-radius: 4px; }
.verdict-fake { border-color: #cf222e; } .verdict-real { border-color: #1a7f37; } .verdict-uncertain { border-color: #bc4c00; }
.verdict-label { font-size: 1.6em; font-weight: 700; margin: 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; display: block; }
figcaption { color: #59636e; font-size: 0.9em; margin-top: 0.3em; }
.pictures { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 1em; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f6f8fa; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; margin: 0.5em 0; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
.maps { display: flex; flex-wrap: wrap; gap: 1.5em; }
.maps svg { width: 180px; height: 180px; border: 1px solid #d0d7de; }
.timeline svg { max-width: 100%; height: auto; }
footer { margin-top: 2.5em; color: #59636e; font-size: 0.85em; border-top: 1px solid #d0d7de; padding-top: 0.6em; }
@media (max-width: 600px) { dl { grid-template-columns: 1fr; } dt { margin-top: 0.4em; } table { font-size: 0.8em; } th, td { padding: 3px 4px; } }
`;

/** The report, as one HTML document. */
export function checkReportHtml(input: CheckReportInput): string {
  const { detection: d, file, version } = input;
  const e = escapeHtml;
  const title = `${VERDICT_TEXT[d.verdict]}: ${file.name}`;
  const body = [
    `<header><p class="kicker">fakeface check report</p><h1>${e(file.name)}</h1></header>`,
    verdictSection(d),
    d.kind === 'image' ? imageSections(d, input) : videoSections(d, input),
    detectorSection(d),
    fileSection(d, file, version),
    `<footer><p>Made by fakeface ${e(version)} on ${e(file.checkedAt)}. This report is a single file: everything it shows is inside it, and it loads nothing from the internet. The SHA-256 above identifies the exact file that was checked: anyone can compute it from their copy (for example <code>sha256sum FILE</code>) to see that it is the same file.</p></footer>`,
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="generator" content="fakeface ${e(version)}">
<title>${e(title)} · fakeface report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function verdictSection(d: Detection): string {
  const e = escapeHtml;
  const about = aboutDetector(d.detector);
  const explanation = plainExplanation(d.explanation, d.reason);
  return [
    `<section class="verdict verdict-${e(d.verdict)}" aria-labelledby="verdict" data-verdict="${e(d.verdict)}">`,
    `<h2 id="verdict">Verdict</h2>`,
    `<p class="verdict-label">${e(VERDICT_TEXT[d.verdict])}</p>`,
    d.reason ? `<p class="verdict-reason">${e(d.reason.message)}</p>` : '',
    explanation ? `<p>${e(explanation)}</p>` : '',
    d.confidence !== null ? `<p><strong>Confidence ${pct(d.confidence)}</strong></p>` : '',
    `<h3>How to read this</h3><p>${e(howToRead(d.verdict, d.confidence, about))}</p>`,
    '</section>',
  ].join('\n');
}

function faceRow(face: FaceResult, i: number): string {
  const e = escapeHtml;
  const b = face.box;
  return `<tr><td>${i + 1}</td><td>${e(VERDICT_TEXT[face.verdict])}</td><td>${pct(face.pFake, 1)}</td><td>${Math.round(b.x)}, ${Math.round(b.y)}; ${Math.round(b.width)}×${Math.round(b.height)}</td><td>${face.reason ? e(face.reason.message) : ''}</td></tr>`;
}

/** A face's region map as a small grid, each cell coloured and titled with its p(fake). */
function mapSvg(face: FaceResult, n: number): string {
  const map = face.map!;
  const cell = 100 / map.grid;
  const cells = map.values.map((p, i) => {
    const strength = Math.min(1, Math.abs(p - 0.5) * 2);
    const fill = p >= 0.5 ? '#e03131' : '#1c7ed6';
    const x = (i % map.grid) * cell;
    const y = Math.floor(i / map.grid) * cell;
    return `<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${cell.toFixed(2)}" height="${cell.toFixed(2)}" fill="${fill}" fill-opacity="${(0.08 + 0.8 * strength).toFixed(2)}"><title>${pct(p)} looks generated</title></rect>`;
  });
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" role="img" aria-label="Region map of face ${n}">${cells.join('')}</svg><figcaption>Face ${n}: ${map.grid}×${map.grid} regions, from ${pct(Math.min(...map.values))} to ${pct(Math.max(...map.values))} looking generated</figcaption></figure>`;
}

function imageSections(d: ImageDetection, input: CheckReportInput): string {
  const e = escapeHtml;
  const faces = readingOrder(d.faces);
  const pictures: string[] = [];
  if (isImageDataUri(input.annotated)) {
    pictures.push(
      `<figure><img src="${input.annotated}" alt="${e(`The checked picture with ${faces.length} face${faces.length === 1 ? '' : 's'} boxed and numbered`)}" width="${d.width}" height="${d.height}"><figcaption>Each face is boxed (red: likely fake, green: no sign of a fake, orange: can't tell) and numbered as in the table; inside it, red regions look generated and blue ones look real.</figcaption></figure>`,
    );
  }
  if (isImageDataUri(input.original)) pictures.push(`<figure><img src="${input.original}" alt="The picture as it was checked" width="${d.width}" height="${d.height}"><figcaption>The picture as it was checked, ${d.width}×${d.height} pixels.</figcaption></figure>`);
  const out = [`<section aria-labelledby="picture"><h2 id="picture">The picture</h2><div class="pictures">${pictures.join('')}</div>`];
  if (faces.length === 0) out.push(`<p>No face was found.${d.wholeImage ? ` The whole image was judged instead: it looks ${pct(d.wholeImage.pFake)} likely to be generated.` : ''}</p>`);
  out.push('</section>');
  if (faces.length > 0) {
    out.push(
      `<section aria-labelledby="faces"><h2 id="faces">Faces</h2><table><caption>${faces.length} face${faces.length === 1 ? '' : 's'} found, in reading order</caption><thead><tr><th scope="col">Face</th><th scope="col">Verdict</th><th scope="col">Looks generated (p(fake))</th><th scope="col">Where (x, y; size in pixels)</th><th scope="col">Why it cannot tell</th></tr></thead><tbody>${faces.map(faceRow).join('')}</tbody></table></section>`,
    );
    const withMaps = faces.map((f, i) => ({ f, n: i + 1 })).filter(({ f }) => f.map && f.map.grid > 0 && f.map.values.length === f.map.grid * f.map.grid);
    if (withMaps.length > 0) {
      out.push(`<section aria-labelledby="maps"><h2 id="maps">Where the detector looks</h2><p>Each face's crop split into regions, each judged on its own: red looks generated, blue looks real, pale is no strong sign either way.</p><div class="maps">${withMaps.map(({ f, n }) => mapSvg(f, n)).join('')}</div></section>`);
    }
  }
  return out.join('\n');
}

function videoSections(d: VideoDetection, input: CheckReportInput): string {
  const e = escapeHtml;
  const out = [
    `<section aria-labelledby="video"><h2 id="video">The video</h2><dl><dt>Duration</dt><dd>${clock(d.durationSeconds)}</dd><dt>Frame size</dt><dd>${d.width}×${d.height}</dd><dt>Frames analysed</dt><dd>${d.framesAnalysed}${d.sampling ? ` (${e(d.sampling)})` : ''}</dd><dt>Frames with a face</dt><dd>${d.framesWithFaces}</dd><dt>Video score</dt><dd>${d.pFake === null ? '–' : `${pct(d.pFake, 1)} looks generated`}</dd><dt>How the frames add up</dt><dd>${e(d.rule)}</dd></dl>`,
  ];
  if (isImageDataUri(input.annotated)) out.push(`<figure><img src="${input.annotated}" alt="The most suspicious frame with its faces boxed"><figcaption>The most suspicious frame, its faces boxed.</figcaption></figure>`);
  out.push('</section>');
  // timelineSvg escapes its own text (the file name is in its title).
  out.push(`<section aria-labelledby="timeline"><h2 id="timeline">Timeline</h2><div class="timeline" role="img" aria-label="p(fake) of each analysed frame over time; the table below lists the same numbers">${timelineSvg(d)}</div></section>`);
  const keys = (input.keyFrames ?? []).filter((k) => isImageDataUri(k.image) && d.frames[k.frame]);
  if (keys.length > 0) {
    out.push(
      `<section aria-labelledby="key-frames"><h2 id="key-frames">Most suspicious frames</h2><div class="pictures">${keys
        .map((k) => {
          const f = d.frames[k.frame]!;
          return `<figure><img src="${k.image}" alt="${e(`Frame at ${clock(f.timeSeconds)}`)}"><figcaption>${clock(f.timeSeconds)} · ${f.pFake === null ? 'no score' : `${pct(f.pFake)} looks generated`}</figcaption></figure>`;
        })
        .join('')}</div></section>`,
    );
  }
  const rows = d.frames.map((f) => `<tr><td>${clock(f.timeSeconds)}</td><td>${f.faces.length}</td><td>${f.pFake === null ? '–' : pct(f.pFake, 1)}</td></tr>`).join('');
  out.push(`<section aria-labelledby="frames"><h2 id="frames">Every analysed frame</h2><table><thead><tr><th scope="col">Time</th><th scope="col">Faces</th><th scope="col">Looks generated (p(fake))</th></tr></thead><tbody>${rows}</tbody></table></section>`);
  return out.join('\n');
}

function detectorSection(d: Detection): string {
  const e = escapeHtml;
  const info = d.detector;
  const about = aboutDetector(info);
  return [
    `<section aria-labelledby="detector"><h2 id="detector">The detector</h2>`,
    `<p>${e(about.summary)}</p>`,
    `<dl><dt>Name</dt><dd>${e(info.name)}</dd><dt>Kind</dt><dd>${info.kind === 'discriminator' ? "a GAN run's discriminator (the paper's detector)" : 'a trained real-vs-fake detector'}</dd><dt>Source</dt><dd><code>${e(info.source)}</code></dd><dt>Called fake at</dt><dd>p(fake) ≥ ${info.threshold.toFixed(3)}</dd><dt>Reads faces at</dt><dd>${info.inputSize}×${info.inputSize} pixels</dd>`,
    `<dt>Trained on</dt><dd>${e(about.trainedOn)}</dd><dt>Measured on photos and fakes it never saw</dt><dd>${e(about.outsideResults)}</dd><dt>Confidence</dt><dd>${e(about.calibratedOn)}</dd></dl>`,
    `<h3>What this detector cannot tell</h3><ul>${about.limits.map((l) => `<li>${e(l)}</li>`).join('')}</ul>`,
    '</section>',
  ].join('\n');
}

function fileSection(d: Detection, file: CheckedFile, version: string): string {
  const e = escapeHtml;
  const size = d.kind === 'image' ? `${d.width}×${d.height} pixels` : `${d.width}×${d.height} pixels, ${clock(d.durationSeconds)}`;
  return `<section aria-labelledby="file"><h2 id="file">The file and the check</h2><dl><dt>File name</dt><dd>${e(file.name)}</dd><dt>SHA-256</dt><dd><code data-sha256>${e(file.sha256)}</code></dd><dt>Size</dt><dd>${file.bytes.toLocaleString('en-US')} bytes; ${size}</dd><dt>Checked at</dt><dd><time datetime="${e(file.checkedAt)}">${e(file.checkedAt)}</time></dd><dt>Time taken</dt><dd>${(d.ms / 1000).toFixed(1)} s</dd><dt>fakeface version</dt><dd>${e(version)}</dd></dl></section>`;
}
