/**
 * A report as a list of blocks, rendered twice: to Markdown (images written
 * as files beside it) and to one self-contained HTML page (PNGs as data URIs,
 * SVGs inline). Text is plain: no Markdown inside it, so both renderings say
 * the same.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../data/index.js';
import { escapeXml } from './chart.js';

/** An image of the report: a PNG's bytes or an SVG's text, with the file name it gets beside report.md. */
export type ReportImage = { file: string; alt: string; caption?: string } & ({ png: Buffer } | { svg: string });

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; caption?: string }
  | { kind: 'images'; images: ReportImage[] };

const mdCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown; images refer to `${filesDir}/${file}`. */
export function renderMarkdown(blocks: readonly Block[], filesDir: string): string {
  const out: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        out.push(`${'#'.repeat(block.level)} ${block.text}`);
        break;
      case 'paragraph':
        out.push(block.text);
        break;
      case 'list':
        out.push(block.items.map((item) => `- ${item}`).join('\n'));
        break;
      case 'table': {
        const lines = [
          `| ${block.header.map(mdCell).join(' | ')} |`,
          `|${block.header.map(() => '---').join('|')}|`,
          ...block.rows.map((row) => `| ${row.map(mdCell).join(' | ')} |`),
        ];
        if (block.caption) lines.push('', block.caption);
        out.push(lines.join('\n'));
        break;
      }
      case 'images':
        out.push(block.images.map((image) => `![${image.alt}](${filesDir}/${image.file})${image.caption ? `  \n${image.caption}` : ''}`).join('\n\n'));
        break;
    }
  }
  return out.join('\n\n') + '\n';
}

const STYLE = `
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.images { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
figcaption { font-size: 0.85em; color: #555; max-width: 640px; }
img.grid { image-rendering: pixelated; }
.caption { font-size: 0.85em; color: #555; }
`;

/** Small sample grids are shown enlarged by a whole factor (pixelated), to about 360 px. */
function displayWidth(png: Buffer): number {
  const width = png.length >= 24 ? png.readUInt32BE(16) : 0; // IHDR: width at byte 16
  return width > 0 ? width * Math.max(1, Math.floor(360 / width)) : 360;
}

/** One HTML page with everything embedded. */
export function renderHtml(blocks: readonly Block[], title: string): string {
  const out: string[] = [`<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeXml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>`];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        out.push(`<h${block.level}>${escapeXml(block.text)}</h${block.level}>`);
        break;
      case 'paragraph':
        out.push(`<p>${escapeXml(block.text)}</p>`);
        break;
      case 'list':
        out.push(`<ul>${block.items.map((item) => `<li>${escapeXml(item)}</li>`).join('')}</ul>`);
        break;
      case 'table':
        out.push(
          `<table><thead><tr>${block.header.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>` +
            block.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeXml(cell)}</td>`).join('')}</tr>`).join('') +
            '</tbody></table>' +
            (block.caption ? `<p class="caption">${escapeXml(block.caption)}</p>` : ''),
        );
        break;
      case 'images':
        out.push(
          `<div class="images">${block.images
            .map((image) => {
              const body =
                'png' in image
                  ? `<img class="grid" alt="${escapeXml(image.alt)}" width="${displayWidth(image.png)}" src="data:image/png;base64,${image.png.toString('base64')}">`
                  : image.svg.replace(/^<\?xml[^>]*>\s*/, '');
              return `<figure>${body}${image.caption ? `<figcaption>${escapeXml(image.caption)}</figcaption>` : ''}</figure>`;
            })
            .join('')}</div>`,
        );
        break;
    }
  }
  out.push('</body>\n</html>\n');
  return out.join('\n');
}

/** Writes report.md, its image files under `filesDir`, and report.html; returns their paths. */
export async function writeReport(outDir: string, blocks: readonly Block[], title: string, filesDir = 'report-files'): Promise<{ html: string; md: string }> {
  await mkdir(join(outDir, filesDir), { recursive: true });
  for (const block of blocks) {
    if (block.kind !== 'images') continue;
    for (const image of block.images) await writeFileAtomic(join(outDir, filesDir, image.file), 'png' in image ? image.png : image.svg);
  }
  const md = join(outDir, 'report.md');
  const html = join(outDir, 'report.html');
  await writeFileAtomic(md, renderMarkdown(blocks, filesDir));
  await writeFileAtomic(html, renderHtml(blocks, title));
  return { html, md };
}
