/** Face boxes, face crops and face descriptors, with @vladmandic/face-api on the project's tfjs-core. */
export { type FaceBox, type FindFacesOptions, findFaces, cropFace } from './detect.js';
export { faceDescriptors, FACE_FEATURE_NETWORK } from './descriptors.js';
export { loadFaceModels } from './models.js';
export { type RgbImage, type ImageInput } from './image.js';
