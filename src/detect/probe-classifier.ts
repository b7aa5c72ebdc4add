/**
 * The probe detector folder (`probe.json`, written by scripts/train-probe-detector.ts)
 * as a FaceClassifier: calibrated p(fake), the range check, and the region map.
 * @internal
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointMismatchError } from '../errors.js';
import { BACKBONE_INPUT, loadBackbone, MAP_GRID } from './backbone.js';
import { applyPlatt } from './metrics.js';
import { checkProbe, effectiveLinear, probeLogit, rangeScore, sigmoid, standardise, type ProbeWeights } from './probe.js';
import type { DetectorAbout } from './types.js';

export const PROBE_FILE = 'probe.json';

/** One set's measured numbers, as the training script writes them. */
export interface MeasuredSummary {
  real: number;
  fake: number;
  auc: number | null;
  accuracy: number | null;
  accuracyDecided: number | null;
  tprAt5Fpr: number | null;
  uncertain: number | null;
  reasons: Record<string, number>;
}

export interface ProbeCard {
  name: string;
  createdAt: string;
  commandLine: string;
  backbone: string;
  inputSize: number;
  cropMargin: number;
  minFaceSide: number;
  training: { sources: { set: string; real?: number; fake?: number; provenance: Record<string, unknown> }[]; [key: string]: unknown };
  measured: {
    /** Per evaluation set, per "pipeline|crop/condition". */
    test: Record<string, Record<string, MeasuredSummary>>;
    leaveOneSetOut: Record<string, MeasuredSummary>;
  };
}

export type ProbeFolder = ProbeWeights & { card: ProbeCard };

export const isProbeFolder = (dir: string) => existsSync(join(dir, PROBE_FILE));

export async function readProbeFolder(dir: string): Promise<ProbeFolder> {
  const file = join(dir, PROBE_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CheckpointMismatchError(`${file}: unreadable probe detector (${(error as Error).message.split('\n')[0]})`);
  }
  try {
    const probe = checkProbe(parsed) as ProbeFolder;
    if (!probe.card || !(probe.card.inputSize > 0)) throw new RangeError('no card');
    return probe;
  } catch (error) {
    throw new CheckpointMismatchError(`${file}: not a probe detector (${(error as Error).message})`);
  }
}

export interface FaceAnalysis {
  pFake: number;
  /** The face's features lie outside what the detector was trained on. */
  outOfRange: boolean;
  rangeScore: number;
  /** p(fake) per region, MAP_GRID^2 row by row (when asked for). */
  map?: number[];
}

export interface ProbeScorer {
  analyse(crops: Uint8Array[], withMap: boolean): FaceAnalysis[];
}

/** A square RGB crop (size x size x 3 bytes) mirrored left to right. */
export function mirrorCrop(crop: Uint8Array, size = BACKBONE_INPUT): Uint8Array {
  const out = new Uint8Array(crop.length);
  const row = size * 3;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = y * row + (size - 1 - x) * 3;
      const to = y * row + x * 3;
      out[to] = crop[from]!;
      out[to + 1] = crop[from + 1]!;
      out[to + 2] = crop[from + 2]!;
    }
  }
  return out;
}

/** A MAP_GRID x MAP_GRID map (row by row) mirrored left to right. */
function mirrorMap(map: Float32Array): Float32Array {
  const out = new Float32Array(map.length);
  for (let r = 0; r < MAP_GRID; r++) for (let c = 0; c < MAP_GRID; c++) out[r * MAP_GRID + c] = map[r * MAP_GRID + (MAP_GRID - 1 - c)]!;
  return out;
}

/**
 * Scores each crop and its mirror image and averages the two (test-time flip, as the
 * probe was trained on flipped views too): the probe's logit, and the region map with
 * the mirror's map turned back. The range check reads the crop as it is. `flip: false`
 * scores the crop alone (half the time).
 */
export async function probeScorer(probe: ProbeWeights, opts: { flip?: boolean } = {}): Promise<ProbeScorer> {
  const flip = opts.flip ?? true;
  const backbone = await loadBackbone();
  if (backbone.featureLength !== probe.featureLength) {
    throw new CheckpointMismatchError(`the probe reads ${probe.featureLength} features, the backbone gives ${backbone.featureLength}`);
  }
  const linear = effectiveLinear(probe);
  return {
    analyse(crops, withMap) {
      const n = flip ? crops.length : 0;
      const { features, maps } = backbone.features(flip ? [...crops, ...crops.map((crop) => mirrorCrop(crop))] : crops, withMap ? linear.weights : undefined);
      return crops.map((_, i) => {
        const original = features[i]!;
        const logit = flip ? (probeLogit(original, probe) + probeLogit(features[n + i]!, probe)) / 2 : probeLogit(original, probe);
        const range = rangeScore(standardise(original, probe), probe.range);
        const analysis: FaceAnalysis = { pFake: applyPlatt(sigmoid(logit), probe.platt), outOfRange: range > probe.range.threshold, rangeScore: range };
        if (maps) {
          const mirrored = flip ? mirrorMap(maps[n + i]!) : null;
          analysis.map = Array.from(maps[i]!, (cell, k) => applyPlatt(sigmoid((mirrored ? (cell + mirrored[k]!) / 2 : cell) + linear.bias), probe.platt));
        }
        return analysis;
      });
    },
  };
}

const percent = (x: number | null | undefined) => (x === null || x === undefined ? 'unknown' : `${Math.round(x * 100)}%`);

/** The card's numbers in words a layperson can read (no "AUC", no "p(fake)"). */
export function describeProbe(card: ProbeCard): DetectorAbout {
  const outside = card.training.sources.filter((s) => s.set !== 'own' && s.set !== 'utkface');
  const generators = [...new Set(outside.filter((s) => s.fake).map((s) => String(s.provenance.generator ?? s.set)))];
  const test = card.measured.test;
  const parts: string[] = [];
  for (const [family, words] of [['gan', 'GAN faces (such as StyleGAN)'], ['diffusion', 'diffusion portraits (such as Stable Diffusion)']] as const) {
    const m = test[`all outside ${family}`]?.['pipeline/clean'];
    if (m) parts.push(`${words}: right on ${percent(m.accuracy)} of ${m.real + m.fake} test photos (fakes and real photos it never saw), unsure on ${percent(m.uncertain)}`);
  }
  const own = test['own-generator vs utkface']?.['pipeline/clean'];
  if (own) parts.push(`fakeface's own generated faces: right on ${percent(own.accuracy)}`);
  const worst = Object.entries(card.measured.leaveOneSetOut).sort((a, b) => (a[1].accuracy ?? 1) - (b[1].accuracy ?? 1))[0];
  const limits = [
    'It looks only at faces; a photo without a face cannot be judged.',
    'Faces under 40 pixels across, heavily compressed or unusual images (drawings, screenshots) are marked unsure.',
    'It was measured on fakes from a few public sets; new generators it has never seen can fool it.',
    'A "real" result means it found no sign of a fake, not that the photo is genuine.',
  ];
  if (worst) limits.splice(2, 1, `On a kind of fake left out of its training it did much worse: right on ${percent(worst[1].accuracy)} (${worst[0]}); new generators it has never seen can fool it.`);
  return {
    summary: "fakeface's built-in detector: a pretrained image network that looks at the face, with a layer trained to tell real faces from generated ones.",
    trainedOn: `Real photos (UTKFace and ${outside.filter((s) => s.real).length} public sets) and generated faces from ${generators.length > 0 ? generators.join(', ') : 'public sets'} and fakeface's own generator, shrunk and re-compressed the way social media does.`,
    outsideResults: parts.join('; ') + '.',
    limits,
    calibratedOn: 'Its confidence is calibrated on photos and fakes made by others, not on fakeface\'s own faces.',
  };
}
