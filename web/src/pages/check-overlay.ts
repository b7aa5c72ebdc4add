/**
 * What the Check page draws over a checked image: face boxes with their numbers
 * and scores, the detector's region map and its legend, and the link between a
 * face's box and its row in the faces table.
 */
import type { DetectorInfo, FaceResult } from '../api.js';
import { h, percent, svg, uid } from '../dom.js';

/** Label text height on screen (CSS px), whatever the image's own size: a 200 px photo shown at 600 px must not get 30 px labels. */
const LABEL_PX = 13;

/** Red = looks generated, blue = looks real; a cell near the line between them is almost clear. */
function mapFill(pFake: number): { fill: string; opacity: number } {
  const strength = Math.min(1, Math.abs(pFake - 0.5) * 2);
  return { fill: pFake >= 0.5 ? '#e03131' : '#1c7ed6', opacity: Number((0.05 + 0.4 * strength).toFixed(3)) };
}

/**
 * Where the detector looks: each face's map cells over its crop square, drawn in
 * the image's own pixel coordinates (like faceOverlay). Null when no face has a map.
 */
export function regionMap(faces: FaceResult[], width: number, height: number): SVGSVGElement | null {
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
export function mapControls(map: SVGSVGElement): HTMLElement {
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

/** Boxes and scores drawn over an image, in the image's own pixel coordinates; labels keep one size on screen as the image is resized. */
export function faceOverlay(faces: FaceResult[], width: number, height: number, detector: DetectorInfo, labels = true): SVGSVGElement {
  const overlay = svg('svg', { class: 'overlay', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  const placed: Array<{ group: SVGGElement; rect: SVGRectElement; text: SVGTextElement; box: FaceResult['box']; chars: number }> = [];
  faces.forEach((face, i) => {
    const color = face.verdict === 'fake' ? '#e03131' : face.verdict === 'uncertain' ? '#e8590c' : face.pFake >= detector.threshold ? '#e03131' : '#2f9e44';
    const { x, y, width: w, height: bh } = face.box;
    const group = svg('g', { class: 'face', 'data-face': i });
    // Transparent fill: the whole box (not just its outline) answers the pointer.
    group.append(svg('rect', { class: 'face-box', x, y, width: w, height: bh, fill: 'transparent', stroke: color, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
    if (labels) {
      const content = `${i + 1} · ${percent(face.pFake)} fake`;
      const rect = svg('rect', { class: 'face-label-bg', fill: color, opacity: 0.85 });
      const text = svg('text', { class: 'face-label', fill: '#fff', 'font-family': 'system-ui, sans-serif' }, content);
      group.append(rect, text);
      placed.push({ group, rect, text, box: face.box, chars: content.length });
    }
    overlay.append(group);
  });
  if (placed.length) {
    // Image pixels per screen pixel, from the overlay's drawn width; redone whenever that changes.
    const layout = (shownWidth: number) => {
      if (shownWidth <= 0) return;
      const font = (LABEL_PX * width) / shownWidth;
      for (const { rect, text, box, chars } of placed) {
        const labelWidth = chars * font * 0.6 + font * 0.4;
        const x = Math.max(0, Math.min(box.x, width - labelWidth));
        // Above the box when there is room, else just inside its top: below it, it would land on the label of a face underneath.
        const baseline = box.y > font * 1.4 ? box.y - font * 0.35 : box.y + font * 1.05;
        rect.setAttribute('x', String(x));
        rect.setAttribute('y', String(baseline - font));
        rect.setAttribute('width', String(labelWidth));
        rect.setAttribute('height', String(font * 1.25));
        text.setAttribute('x', String(x + font * 0.2));
        text.setAttribute('y', String(baseline));
        text.setAttribute('font-size', String(font));
      }
    };
    layout(width); // until it is on screen
    new ResizeObserver((entries) => layout(entries[0]!.contentRect.width)).observe(overlay);
  }
  return overlay;
}

/**
 * Hovering or focusing a row of the faces table highlights that face's box, and
 * hovering a box highlights its row. Rows and boxes share the face's index.
 */
export function linkFacesToTable(overlay: SVGSVGElement, rows: readonly HTMLTableRowElement[]): void {
  const set = (index: number, on: boolean) => {
    overlay.querySelector(`[data-face="${index}"]`)?.classList.toggle('highlight', on);
    rows[index]?.classList.toggle('highlight', on);
  };
  rows.forEach((row, i) => {
    for (const [type, on] of [['mouseenter', true], ['mouseleave', false], ['focus', true], ['blur', false]] as const) row.addEventListener(type, () => set(i, on));
  });
  for (const group of overlay.querySelectorAll<SVGGElement>('g.face')) {
    const index = Number(group.dataset['face']);
    group.addEventListener('pointerenter', () => set(index, true));
    group.addEventListener('pointerleave', () => set(index, false));
  }
}
