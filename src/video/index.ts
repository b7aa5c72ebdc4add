/** Videos to frames with ffmpeg: find the binary, read the header, stream RGB frames. */
export { findFfmpeg } from './ffmpeg.js';
export { type VideoInfo, probeVideo } from './probe.js';
export { type VideoFrame, type ReadFramesOptions, readFrames } from './frames.js';
