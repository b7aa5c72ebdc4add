/**
 * The detection task's results, shared by the library (`detectImage`,
 * `detectVideo` in src/detect/index.ts), the CLI (`fakeface detect`) and the
 * web app (`POST /api/detect`). Probabilities are p(fake) in [0, 1].
 */
export type Verdict = 'real' | 'fake' | 'uncertain' | 'no-face';

/** Which classifier scored the faces. */
export interface DetectorInfo {
  /** `detector` (a trained real-vs-fake CNN) or `discriminator` (a GAN run's D, the paper's approach). */
  kind: 'detector' | 'discriminator';
  /** Folder of the detector or run, or `builtin:<name>` for a shipped model. */
  source: string;
  /** Human-readable name, e.g. "detector d1 (held-out AUC 0.97)". */
  name: string;
  /** p(fake) at or above which a face is called fake. */
  threshold: number;
  /** Side of the square face crop the classifier reads. */
  inputSize: number;
}

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Face detector confidence. */
  score: number;
}

export interface FaceResult {
  box: FaceBox;
  pFake: number;
  verdict: 'real' | 'fake';
}

export interface ImageDetection {
  kind: 'image';
  file: string;
  width: number;
  height: number;
  faces: FaceResult[];
  /** Whole-image score, when no face was found and `wholeImage` was asked for (or the classifier reads whole images). */
  wholeImage: { pFake: number; verdict: 'real' | 'fake' } | null;
  /** Overall verdict: fake if any face is fake (with the highest p(fake) as confidence), no-face when none was found. */
  verdict: Verdict;
  /** Confidence of the overall verdict, in [0.5, 1] (|p - 0.5| + 0.5 of the deciding score), null for no-face. */
  confidence: number | null;
  detector: DetectorInfo;
  ms: number;
}

export interface FrameResult {
  index: number;
  timeSeconds: number;
  faces: FaceResult[];
  /** Highest p(fake) over the frame's faces; null when the frame has no face. */
  pFake: number | null;
}

export interface VideoDetection {
  kind: 'video';
  file: string;
  durationSeconds: number;
  width: number;
  height: number;
  framesAnalysed: number;
  framesWithFaces: number;
  /** Per-frame timeline. */
  frames: FrameResult[];
  /** Video-level p(fake), from the aggregation rule below. */
  pFake: number | null;
  verdict: Verdict;
  confidence: number | null;
  /** The documented aggregation rule, in words (e.g. the DFDC "confident strategy"). */
  rule: string;
  /** Indices (into `frames`) of the frames that drove the decision, most suspicious first. */
  keyFrames: number[];
  detector: DetectorInfo;
  ms: number;
}

export type Detection = ImageDetection | VideoDetection;

export interface DetectOptions {
  /** Detector folder (from `fakeface detector train`); default: the shipped one when present. */
  detector?: string;
  /** Or: score with a GAN run's discriminator (the paper's detector). */
  run?: string;
  /** Score the whole image when no face is found. */
  wholeImage?: boolean;
  /** Video: frames per second to sample, or a number of frames spread over the video. */
  fps?: number;
  frames?: number;
  /** Progress of long work (video frames), for progress bars and the web app's job status. */
  onProgress?: (done: number, total: number | null) => void;
}

// ---------------------------------------------------------------------------
// Optional additions (interface merging keeps the fields above untouched).

export interface DetectOptions {
  /**
   * tfjs backend for face finding and scoring. Face detection wants wasm (an SSD pass
   * takes ~0.4 s there, ~40 s on the pure-JS cpu backend).
   * @default the engine already running when it is wasm, else 'wasm'
   */
  backend?: 'auto' | 'wasm' | 'cpu' | 'node';
  /** Threads for the backend. @default all cores */
  threads?: number;
  /**
   * Video: called after each analysed frame with its pixels (RGB bytes as delivered,
   * at most 640 px on the longer side) and its result, e.g. to keep key frames for
   * annotation. The pixels are not kept by detectVideo.
   */
  onFrame?: (frame: { index: number; timeSeconds: number; pixels: Uint8Array; width: number; height: number }, result: FrameResult) => void | Promise<void>;
}

export interface FrameResult {
  /** True when the frame had no face and `pFake` scores the whole frame (`wholeImage`). */
  wholeFrame?: boolean;
}

export interface ImageDetection {
  /** Why the verdict is what it is, when that needs saying (e.g. no face found). */
  note?: string;
}

export interface VideoDetection {
  /** Which branch of the aggregation rule decided (see `rule`). */
  strategy?: 'confident-fake' | 'confident-real' | 'mean';
  /** How frames were sampled, e.g. "2 fps" or "120 frames spread over the video". */
  sampling?: string;
  note?: string;
}
