/**
 * The detection task's results, shared by the library (`detectImage`,
 * `detectVideo` in src/detect/index.ts), the CLI (`fakeface detect`) and the
 * web app (`POST /api/detect`). Probabilities are p(fake) in [0, 1].
 */
export type Verdict = 'real' | 'fake' | 'uncertain';

/** Why a face, an image or a video could not be judged. */
export type UncertainCode = 'no-face' | 'face-too-small' | 'out-of-range' | 'near-threshold';

export interface UncertainReason {
  code: UncertainCode;
  /** In plain words, e.g. "The face is too small to judge (24 pixels across; at least 40 are needed)." */
  message: string;
}

/** What a person needs to know about the detector that decided, in plain words. */
export interface DetectorAbout {
  /** e.g. "fakeface's built-in detector (a pretrained image network with a real-vs-fake layer on top)". */
  summary: string;
  /** What it learned from. */
  trainedOn: string;
  /** How it did on photos and fakes made by others that it never saw, e.g. "right on 91 of 100 ...". */
  outsideResults: string;
  /** Where it is known to fail. */
  limits: string[];
  /** Whether the confidence shown is calibrated on outside data. */
  calibratedOn: string;
}

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
  /** Plain-words description (detectors with a card that says so: the built-in one). */
  about?: DetectorAbout;
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
  /** Calibrated p(fake). */
  pFake: number;
  verdict: Verdict;
  /** Set when verdict is 'uncertain'. */
  reason?: UncertainReason;
  /**
   * Where the detector looks (detectors that can say): p(fake) of each region of the
   * face crop, `grid` x `grid` cells row by row, over the crop square `region`
   * (image pixels; it may reach past the face box by the crop margin).
   */
  map?: { grid: number; values: number[]; region: { x: number; y: number; width: number; height: number } };
}

export interface ImageDetection {
  kind: 'image';
  file: string;
  width: number;
  height: number;
  faces: FaceResult[];
  /** Whole-image score, when no face was found and `wholeImage` was asked for; it decides the verdict unless uncertain. */
  wholeImage: { pFake: number; verdict: Verdict; reason?: UncertainReason } | null;
  /**
   * Overall verdict: fake if any face is called fake; else uncertain if any face
   * could not be judged (or none was found); else real.
   */
  verdict: Verdict;
  /** Why the verdict is uncertain (null otherwise). */
  reason: UncertainReason | null;
  /** Calibrated probability that the verdict is right (p(fake) for fake, 1 - p(fake) for real); null when uncertain. */
  confidence: number | null;
  /** The verdict in one or two plain sentences, for people. */
  explanation: string;
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
  reason: UncertainReason | null;
  confidence: number | null;
  explanation: string;
  /** The documented aggregation rule, in words (e.g. the DFDC "confident strategy"). */
  rule: string;
  /** Indices (into `frames`) of the frames that drove the decision, most suspicious first. */
  keyFrames: number[];
  detector: DetectorInfo;
  ms: number;
}

export type Detection = ImageDetection | VideoDetection;

/** A file that could not be checked (missing, corrupt, neither image nor video): its one line. */
export interface FailedInput {
  kind: 'error';
  file: string;
  verdict: 'error';
  error: string;
}

export interface DetectOptions {
  /** Detector folder (from `fakeface detector train`); default: the shipped one when present. */
  detector?: string;
  /** Or: score with a GAN run's discriminator (the paper's detector). */
  run?: string;
  /** Score the whole image when no face is found. */
  wholeImage?: boolean;
  /** Images: give each face's region map (detectors that can). @default true */
  maps?: boolean;
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
   * tfjs backend for face finding and scoring. `auto` (or none): the cpu backend where
   * the native addon has the detection kernels (depthwise conv, relu6, resize; faster
   * than wasm), else wasm (the pure-JS cpu backend takes ~40 s per SSD pass).
   * @default 'auto' (a running engine of the chosen backend is kept)
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
  /** Video: stops the analysis between frames (ffmpeg is killed) with a CancelledError once it fires. */
  signal?: AbortSignal;
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
