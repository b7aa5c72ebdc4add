/**
 * Typed errors. Each carries a one-line message that names the file or option at
 * fault, and an optional hint. The CLI prints `fakeface: <message>` (plus the hint)
 * and exits 1; a stack trace only with --debug.
 */
export class FakefaceError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line usage or an invalid option value. */
export class UsageError extends FakefaceError {}

/** An unknown preset, an unknown config key or a value of the wrong type. */
export class ConfigError extends FakefaceError {}

/** The data folder does not exist or is not a folder. */
export class DatasetNotFoundError extends FakefaceError {}

/** The data folder holds no readable image. */
export class EmptyDatasetError extends FakefaceError {}

/** One image file could not be decoded (corrupt, empty, not an image, too small). */
export class ImageDecodeError extends FakefaceError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A run folder does not exist or holds no checkpoint. */
export class RunNotFoundError extends FakefaceError {}

/** Another live trainer holds the run folder's lock. */
export class RunLockedError extends FakefaceError {}

/** A checkpoint does not match the model or config it is loaded into. */
export class CheckpointMismatchError extends FakefaceError {}

/** The chosen backend is not available on this machine. */
export class BackendUnavailableError extends FakefaceError {}

/** Feature vectors a metric cannot use: none, too few, ragged, non-finite, or two sets of different dimension. */
export class FeatureMatrixError extends FakefaceError {}

/** No ffmpeg binary: not in $FAKEFACE_FFMPEG, not on PATH, not from an npm package. */
export class FfmpegNotFoundError extends FakefaceError {}

/** A video file could not be read: missing, not a video, truncated or corrupt, or no decodable frame. */
export class VideoDecodeError extends FakefaceError {
  constructor(
    readonly file: string,
    readonly problem: string,
    hint?: string,
  ) {
    super(`${file}: ${problem}`, hint);
  }
}

/** A file given to `detect` that cannot be used: missing, empty, or neither an image nor a video we read. */
export class MediaFileError extends FakefaceError {
  constructor(
    readonly file: string,
    readonly problem: string,
    hint?: string,
  ) {
    super(`${file}: ${problem}`, hint);
  }
}

/** Work stopped because its caller asked (an AbortSignal fired), e.g. a video job cancelled in the web app. */
export class CancelledError extends FakefaceError {}

/** A queued job whose payload is not a well-formed task (src/queue/job-payload.ts): it fails alone. */
export class InvalidJobError extends FakefaceError {}
