/** Quality metrics on feature vectors: FID, KID, a classifier two-sample test and the real-vs-real floor. */
export {
  featureStatistics,
  frechetDistance,
  frechetDistanceFromStatistics,
  type FeatureStatistics,
  type FrechetDistance,
} from './frechet.js';
export {
  kernelInceptionDistance,
  type KernelInceptionDistance,
  type KernelInceptionDistanceOptions,
} from './kid.js';
export { twoSampleTest, wilsonInterval, type TwoSampleTest, type TwoSampleTestOptions } from './two-sample.js';
export { realVsRealFloor, type RealVsRealFloorOptions } from './floor.js';
export * from './linalg.js';
