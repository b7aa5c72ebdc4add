/** The server's pure parts: content sniffing, the bounded queue, jobs, run ids, interpolation, and the OpenAPI document against the types. */
import { readFileSync } from 'node:fs';
// fastify's own JSON-schema validator (a dependency of fastify), in its draft 2020-12 flavour, which OpenAPI 3.1 uses.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { DetectorAbout, DetectorInfo, FaceResult, FrameResult, ImageDetection, VideoDetection } from '../src/detect/types.js';
import type { Job, JobEvents, MetricsPoint } from '../src/server/api-types.js';
import { OPENAPI_FILE } from '../src/server/index.js';
import { slerp } from '../src/server/generate.js';
import { HttpError, toHttpResponse } from '../src/server/http-error.js';
import { JobStore, type JobOutcome } from '../src/server/jobs.js';
import { WorkQueue } from '../src/server/queue.js';
import { checkRunId, thinMetrics } from '../src/server/runs.js';
import { sniff } from '../src/server/sniff.js';
import { cleanFilename } from '../src/server/upload.js';
import { ImageDecodeError, RunNotFoundError } from '../src/errors.js';

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniff', () => {
  it('accepts the image and video formats by their first bytes', () => {
    const cases: Array<[Buffer, string, string]> = [
      [bytes([0xff, 0xd8, 0xff, 0xe0]), 'image', 'jpeg'],
      [bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'image', 'png'],
      [bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '), 'image', 'webp'],
      [bytes([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0]), 'video', 'mp4'],
      [bytes([0, 0, 0, 0x1c], 'ftypmp42'), 'video', 'mp4'],
      [bytes([0, 0, 0, 0x14], 'ftypqt  '), 'video', 'mov'],
      [bytes([0, 0, 0, 8], 'wide', [0, 0, 0, 0], 'mdat'), 'video', 'mov'],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm'), 'video', 'webm'],
    ];
    for (const [head, kind, format] of cases) expect(sniff(head)).toMatchObject({ accepted: true, kind, format });
  });

  it('names what it refuses', () => {
    const cases: Array<[Buffer, string]> = [
      [Buffer.alloc(0), 'an empty file'],
      [bytes('GIF89a'), 'a GIF image'],
      [bytes('BM', [0, 0, 0, 0]), 'a BMP image'],
      [bytes('%PDF-1.4'), 'a PDF document'],
      [bytes([0x50, 0x4b, 0x03, 0x04]), 'a ZIP archive'],
      [bytes('<!doctype html><html>'), 'an HTML or XML document'],
      [bytes('hello, world\n'), 'text'],
      [bytes([0, 0, 0, 0x18], 'ftypheic'), 'a HEIF/AVIF image (brand "heic")'],
      [bytes([0, 0, 0, 0x18], 'ftypM4A '), 'an audio file (MPEG-4 audio)'],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81], 'matroska'), 'a Matroska (.mkv) file'],
      [bytes('RIFF', [0, 0, 0, 0], 'AVI '), 'an AVI video'],
      [bytes([0x00, 0x01, 0x02, 0xfe, 0x03]), 'an unknown binary format'],
    ];
    for (const [head, looksLike] of cases) expect(sniff(head)).toEqual({ accepted: false, looksLike });
  });
});

describe('WorkQueue', () => {
  const deferred = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };

  it('runs `concurrency` tasks, queues `maxWaiting` in order, and refuses more with 503 and Retry-After', async () => {
    const queue = new WorkQueue('analyses', 1, 2, 7);
    const order: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = ['a', 'b', 'c'].map((name, i) => queue.add(async () => { order.push(name); await gates[i]!.promise; return name; }));
    expect([queue.running, queue.waiting, queue.full]).toEqual([1, 2, true]);
    let refused: unknown;
    try {
      void queue.add(async () => 'd');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HttpError);
    expect(toHttpResponse(refused)).toEqual({
      status: 503,
      body: { error: 'the server is busy: 1 analyses running and 2 waiting (the limit)', hint: 'try again in 7 s' },
      headers: { 'Retry-After': '7' },
    });
    gates.forEach((g) => g.resolve());
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c']);
    expect(order).toEqual(['a', 'b', 'c']);
    expect([queue.running, queue.waiting]).toEqual([0, 0]);
    // Once tasks have finished, Retry-After comes from their durations (at least 1 s).
    expect(queue.retryAfterSeconds()).toBe(1);
  });

  it('frees the slot when a task fails', async () => {
    const queue = new WorkQueue('requests', 1, 0, 5);
    await expect(queue.add(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(queue.add(async () => 42)).resolves.toBe(42);
  });
});

describe('JobStore', () => {
  it('reports queue positions, progress and the outcome to subscribers, then cleans up', async () => {
    const store = new JobStore(new WorkQueue('analyses', 1, 4, 30), 60_000, () => undefined);
    const releases: Array<() => void> = [];
    const cleaned: string[] = [];
    const submit = (name: string, fail = false) =>
      store.submit(
        name,
        async (progress) => {
          progress(1, 2);
          await new Promise<void>((resolve) => releases.push(resolve));
          progress(2, 2);
          if (fail) throw new ImageDecodeError('/tmp/upload-123.mp4', 'corrupt data');
          return { result: { kind: 'video' } as JobOutcome['result'], thumbnails: [{ frame: 0, timeSeconds: 0.5, pFake: 0.9, jpeg: Buffer.from('jpeg') }] };
        },
        async () => void cleaned.push(name),
      );
    const first = submit('one.mp4');
    const second = submit('two.mp4', true);
    expect(store.get(second.id)).toMatchObject({ status: 'queued', position: 1 });
    const events: Array<[keyof JobEvents, unknown]> = [];
    store.subscribe(second.id, (event, data) => events.push([event, structuredClone(data)]));
    await new Promise((r) => setTimeout(r, 0));
    expect(store.get(first.id)).toMatchObject({ status: 'running', progress: { done: 1, total: 2 } });
    releases.shift()!();
    await new Promise((r) => setTimeout(r, 10));
    expect(store.get(first.id)).toMatchObject({ status: 'done', keyFrames: [{ frame: 0, pFake: 0.9, url: `/api/jobs/${first.id}/frames/0.jpg` }] });
    expect(store.thumbnail(first.id, 0)).toEqual(Buffer.from('jpeg'));
    releases.shift()!();
    await new Promise((r) => setTimeout(r, 10));
    const final = store.get(second.id) as Job;
    // The error names the problem, not the temporary file.
    expect(final).toMatchObject({ status: 'failed', error: 'corrupt data', result: null });
    expect(events.map(([e]) => e)).toEqual(['job', 'progress', 'progress', 'job']);
    expect(cleaned).toEqual(['one.mp4', 'two.mp4']);
    store.close();
  });
});

describe('run ids and metrics', () => {
  it('accepts folder names and refuses paths', () => {
    for (const id of ['tiny', 'model2', 'dcgan64.v2', 'a_b-c', 'table1:model1']) expect(checkRunId(id)).toBe(id);
    for (const id of ['..', '.', '../x', 'a/b', 'a\\b', 'a b', 'a\0b', '%2e%2e', '', 'a:b:c', 'a:..', ':a', 'a:']) expect(() => checkRunId(id)).toThrow(HttpError);
    expect(toHttpResponse(new RunNotFoundError('run folder not found: runs/x')).status).toBe(404);
  });

  it('thins long metrics evenly and keeps the last line', () => {
    const metrics = Array.from({ length: 5001 }, (_, i) => ({ iteration: i + 1 }) as MetricsPoint);
    const thin = thinMetrics(metrics, 2000);
    expect(thin.length).toBeLessThanOrEqual(2001);
    expect(thin[0]!.iteration).toBe(1);
    expect(thin[thin.length - 1]!.iteration).toBe(5001);
    expect(thinMetrics(metrics.slice(0, 10), 2000)).toHaveLength(10);
  });

  it('cleans upload names for display', () => {
    expect(cleanFilename('C:\\Users\\me\\photo.jpg')).toBe('photo.jpg');
    expect(cleanFilename('../../etc/passwd')).toBe('passwd');
    expect(cleanFilename('a\u0000b\nc.png')).toBe('abc.png');
    expect(cleanFilename(undefined)).toBe('upload');
  });
});

describe('slerp', () => {
  it('starts and ends at the two vectors and keeps the norm of equal-norm ends', () => {
    const a = Float32Array.from([3, 0, 0]);
    const b = Float32Array.from([0, 3, 0]);
    expect(Array.from(slerp(a, b, 0))).toEqual([3, 0, 0]);
    expect(Array.from(slerp(a, b, 1))).toEqual([0, 3, 0]);
    const mid = slerp(a, b, 0.5);
    expect(Math.hypot(...mid)).toBeCloseTo(3, 5);
    expect(mid[0]).toBeCloseTo(mid[1]!, 6);
    // Parallel vectors: a straight line.
    expect(Array.from(slerp(a, Float32Array.from([6, 0, 0]), 0.5))).toEqual([4.5, 0, 0]);
  });
});

describe('openapi.json against the detection types', () => {
  const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as { components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[]; enum?: string[] }> } };
  const schemas = doc.components.schemas;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
  const validate = (name: string, value: unknown) => {
    const check = ajv.getSchema(`openapi.json#/components/schemas/${name}`)!;
    expect(check(value), `${name}: ${ajv.errorsText(check.errors)}`).toBe(true);
  };

  // Every field of each type, optional ones included (Required<> makes tsc insist on them all).
  const about = {
    summary: 'a pretrained image network with a real-vs-fake layer on top',
    trainedOn: 'real photos and generated faces',
    outsideResults: 'right on 91 of 100 outside photos',
    limits: ['It looks only at faces.'],
    calibratedOn: 'calibrated on photos and fakes made by others',
  } satisfies Required<DetectorAbout>;
  const detector = { kind: 'detector', source: 'builtin:detector-probe', name: 'detector detector-probe', threshold: 0.5, inputSize: 224, about } satisfies Required<DetectorInfo>;
  const face = {
    box: { x: 10, y: 12, width: 80, height: 90, score: 0.99 },
    pFake: 0.5,
    verdict: 'uncertain',
    reason: { code: 'near-threshold', message: 'The score is too close to the line between real and fake to call either way.' },
    map: { grid: 2, values: [0.1, 0.9, 0.5, 0.4], region: { x: 0, y: 0, width: 100, height: 100 } },
  } satisfies Required<FaceResult>;
  const image = {
    kind: 'image',
    file: 'a.jpg',
    width: 200,
    height: 200,
    faces: [face],
    wholeImage: null,
    verdict: 'uncertain',
    reason: face.reason,
    confidence: null,
    explanation: "Can't tell. The score is too close to the line between real and fake to call either way.",
    detector,
    ms: 40,
    note: 'one face',
  } satisfies Required<ImageDetection>;
  const frame = { index: 0, timeSeconds: 0, faces: [{ box: face.box, pFake: 0.9, verdict: 'fake' }], pFake: 0.9, wholeFrame: false } satisfies Required<FrameResult>;
  const video = {
    kind: 'video',
    file: 'a.mp4',
    durationSeconds: 2,
    width: 640,
    height: 480,
    framesAnalysed: 1,
    framesWithFaces: 1,
    frames: [frame],
    pFake: 0.9,
    verdict: 'fake',
    reason: null,
    confidence: 0.9,
    explanation: 'Likely generated.',
    rule: 'the confident strategy',
    keyFrames: [0],
    detector,
    ms: 900,
    strategy: 'confident-fake',
    sampling: '2 fps',
    note: 'a note',
  } satisfies Required<VideoDetection>;

  it('documents exactly the fields of each type', () => {
    const cases: Array<[string, object]> = [['DetectorAbout', about], ['DetectorInfo', detector], ['FaceResult', face], ['ImageDetection', image], ['FrameResult', frame], ['VideoDetection', video]];
    for (const [name, value] of cases) expect(Object.keys(schemas[name]!.properties!).sort(), name).toEqual(Object.keys(value).sort());
  });

  it('accepts results of every shape: uncertain with a reason, fake, no face with the whole image scored', () => {
    validate('ImageDetection', image);
    validate('VideoDetection', video);
    validate('ImageDetection', { ...image, faces: [], wholeImage: { pFake: 0.8, verdict: 'fake' }, verdict: 'fake', reason: null, confidence: 0.8 } satisfies ImageDetection);
    validate('ImageDetection', { ...image, faces: [], verdict: 'uncertain', reason: { code: 'no-face', message: 'No face was found.' } } satisfies ImageDetection);
    const { about: _about, ...withoutAbout } = detector;
    validate('DetectorInfo', withoutAbout);
  });

  it("has no 'no-face' verdict: the three verdicts, and no-face as a reason", () => {
    expect(schemas['Verdict']!.enum).toEqual(['real', 'fake', 'uncertain']);
    const check = ajv.getSchema('openapi.json#/components/schemas/ImageDetection')!;
    expect(check({ ...image, verdict: 'no-face' })).toBe(false);
    expect(check({ ...image, reason: { code: 'too-blurry', message: 'x' } })).toBe(false);
    expect(check({ ...image, faces: [{ ...face, map: { grid: 2, values: [2], region: face.map.region } }] })).toBe(false);
  });
});
