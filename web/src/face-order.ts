/** Faces in reading order (shared with the CLI's reports, which number faces the same way). */
export { readingOrder } from '../../src/detect/face-order.js';
