/** Face folders to float32 pixels: decode, resize, scale to [-1, 1], cache. */
export { type FaceLabels, parseUtkfaceName } from './labels.js';
export { decodeImage, encodePng, tileGrid, writeFileAtomic, MIN_IMAGE_SIDE } from './images.js';
export {
  type FaceDataset,
  type LoadOptions,
  loadFaceFolder,
  defaultCacheDir,
  copyBatch,
  IMAGE_EXTENSIONS,
} from './dataset.js';
