/**
 * What an annotated picture shows, as an SVG the size of the picture: each face
 * boxed (red: called fake, green: real, orange: can't tell) with its p(fake)
 * above, the region map tinted over the face, and a verdict banner. Plain text
 * with no Node imports: sharp composites it for `detect --annotate` and
 * `--report`, the web page draws it onto a canvas for its report's PNG.
 */
import type { FaceResult, ImageDetection } from './types.js';

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';

export interface OverlayOptions {
  /** Start each face's label with its number (1, 2, ... in the order given), as a report's faces table does. */
  numbered?: boolean;
}

/**
 * Where the detector looks: each region of the face crop tinted red in proportion to
 * its p(fake) (none below 0.2: the face stays visible), blue where it looks real.
 */
export function mapCells(map: NonNullable<FaceResult['map']>): string {
  const cell = { w: map.region.width / map.grid, h: map.region.height / map.grid };
  const out: string[] = [];
  map.values.forEach((p, i) => {
    const x = map.region.x + (i % map.grid) * cell.w;
    const y = map.region.y + Math.floor(i / map.grid) * cell.h;
    const strength = Math.abs(p - 0.5) * 2;
    if (strength < 0.2) return;
    const fill = p >= 0.5 ? '#f22' : '#28f';
    out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${cell.w.toFixed(1)}" height="${cell.h.toFixed(1)}" fill="${fill}" fill-opacity="${(0.45 * strength).toFixed(2)}"/>`);
  });
  return out.join('');
}

/** The overlay: boxes, labels and a verdict banner, for a width x height picture. */
export function overlaySvg(width: number, height: number, faces: FaceResult[], banner: string, bannerFake: boolean | null, options: OverlayOptions = {}): string {
  const unit = Math.max(1, Math.min(width, height) / 240);
  const font = Math.round(11 * unit);
  const parts: string[] = [];
  faces.forEach((face, i) => {
    const colour = face.verdict === 'fake' ? '#e22' : face.verdict === 'uncertain' ? '#c80' : '#2b2';
    if (face.map) parts.push(mapCells(face.map));
    const { x, y, width: w, height: h } = face.box;
    parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${(2 * unit).toFixed(1)}"/>`);
    const label = `${options.numbered ? `${i + 1}: ` : ''}${face.verdict} ${face.pFake.toFixed(2)}`;
    const labelWidth = label.length * font * 0.62 + 6 * unit;
    // Above the box when there is room, else inside its top edge.
    const top = y >= font + 4 * unit ? y - font - 4 * unit : y;
    parts.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${labelWidth.toFixed(1)}" height="${(font + 4 * unit).toFixed(1)}" fill="${colour}"/>`);
    parts.push(`<text x="${(x + 3 * unit).toFixed(1)}" y="${(top + font).toFixed(1)}" font-size="${font}" ${FONT} fill="#fff">${escapeXml(label)}</text>`);
  });
  const bannerColour = bannerFake === null ? '#555' : bannerFake ? '#b11' : '#181';
  parts.push(`<rect x="0" y="${height - font - 8 * unit}" width="${width}" height="${font + 8 * unit}" fill="${bannerColour}" fill-opacity="0.8"/>`);
  parts.push(`<text x="${4 * unit}" y="${height - 5 * unit}" font-size="${font}" ${FONT} fill="#fff">${escapeXml(banner)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** The banner of an annotated image: the verdict in capitals, its confidence and the detector. */
export function imageBanner(d: ImageDetection): string {
  if (d.verdict === 'uncertain') return `CAN'T TELL: ${d.reason?.message ?? ''}`;
  const word = d.verdict === 'fake' ? 'LIKELY FAKE' : 'NO SIGN OF A FAKE';
  const confidence = d.confidence === null ? '' : `, confidence ${Math.round(d.confidence * 100)}%`;
  return `${word}${confidence}${d.faces.length === 0 ? ' (whole image)' : ''} - ${d.detector.name}`;
}

/** Whether the banner is drawn as fake (red), real (green) or neither (grey). */
export const bannerFake = (d: { verdict: ImageDetection['verdict'] }): boolean | null => (d.verdict === 'uncertain' ? null : d.verdict === 'fake');
