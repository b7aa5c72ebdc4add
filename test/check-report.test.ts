/** The check report's renderer on its own: every string escaped, only inline images, the page's verdict words. */
import { describe, expect, it } from 'vitest';
import type { ImageDetection } from '../src/detect/types.js';
import { checkReportHtml, reportStem } from '../src/report/check-report.js';

const EVIL = '<script>alert(1)</script>"\'&';

function detection(): ImageDetection {
  return {
    kind: 'image',
    file: EVIL,
    width: 320,
    height: 240,
    faces: [
      { box: { x: 200, y: 20, width: 80, height: 80, score: 0.9 }, pFake: 0.91, verdict: 'fake', map: { grid: 2, values: [0.9, 0.8, 0.1, 0.5], region: { x: 190, y: 10, width: 100, height: 100 } } },
      { box: { x: 20, y: 30, width: 30, height: 30, score: 0.8 }, pFake: 0.4, verdict: 'uncertain', reason: { code: 'face-too-small', message: `too small ${EVIL}` } },
    ],
    wholeImage: null,
    verdict: 'fake',
    reason: null,
    confidence: 0.91,
    explanation: `Likely generated: ${EVIL}`,
    detector: { kind: 'detector', source: `builtin:${EVIL}`, name: `detector ${EVIL}`, threshold: 0.42, inputSize: 224, about: { summary: EVIL, trainedOn: EVIL, outsideResults: `right on 75% ${EVIL}`, limits: [EVIL], calibratedOn: EVIL } },
    ms: 1234,
  };
}

describe('checkReportHtml', () => {
  it('escapes every string, keeps only inline images, and numbers faces in reading order', () => {
    const html = checkReportHtml({
      detection: detection(),
      file: { name: EVIL, sha256: 'ab'.repeat(32), bytes: 123456, checkedAt: '2026-12-07T03:00:00.000Z' },
      version: '0.1.0',
      annotated: 'data:image/png;base64,iVBORw0KGgo=',
      original: 'data:image/png;base64,AAAA" onerror="alert(1)',
    });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('"\'&');
    expect(html.match(/&#60;script&#62;alert\(1\)&#60;\/script&#62;&#34;&#39;&#38;/g)!.length).toBeGreaterThanOrEqual(8);
    // The well-formed data: URI is shown; the one that tries to break out of its attribute is dropped.
    expect(html).toContain('<img src="data:image/png;base64,iVBORw0KGgo="');
    expect(html).not.toContain('onerror');
    expect([...html.matchAll(/src="([^"]*)"/g)].map((m) => m[1])).toEqual(['data:image/png;base64,iVBORw0KGgo=']);
    expect(html).toContain(`content="default-src 'none'; img-src data:;`);
    expect(html).toContain(`<code data-sha256>${'ab'.repeat(32)}</code>`);
    expect(html).toContain('123,456 bytes');
    expect(html).toContain('<p class="verdict-label">Likely fake</p>');
    expect(html).toContain('<strong>Confidence 91%</strong>');
    // Reading order: the face on the left (x 20) is face 1, though it came second.
    expect(html).toMatch(/<tr><td>1<\/td><td>Can&#39;t tell<\/td><td>40\.0%<\/td><td>20, 30; 30×30<\/td><td>too small/);
    expect(html).toMatch(/<tr><td>2<\/td><td>Likely fake<\/td><td>91\.0%/);
    expect(html).toContain('aria-label="Region map of face 2"');
    expect(html).toContain('from 10% to 90% looking generated');
  });

  it('names report files safely', () => {
    expect(reportStem('/tmp/x/photo.final.jpg')).toBe('photo.final');
    expect(reportStem('..\\..\\evil<b>.png')).toBe('evil_b_');
    expect(reportStem('.hidden.jpg')).toBe('hidden');
    expect(reportStem('-rf.jpg')).toBe('rf');
    expect(reportStem('...')).toBe('file');
    expect(reportStem(`${'a'.repeat(300)}.jpg`)).toHaveLength(80);
  });
});
