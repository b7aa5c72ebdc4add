import type { TrainConfig } from '../defaults.js';
import { convPresets } from './conv.js';

/**
 * The recipe of the built-in conditional generator (models/faces64-utkface): dcgan64
 * plus what differs below, each for the reason beside it. Sized for one session's CPU
 * budget, about 1.5 CPU-hours (2.2-2.6 s an iteration on one shared core).
 */
export const faces64: Partial<TrainConfig> = {
  ...convPresets.dcgan64,
  // Half of DCGAN's 64 channels: about 4x fewer FLOPs, so 2,000 iterations fit the budget (as dcgan64-utkface did).
  baseFilters: 32,
  iterations: 2_000,
  // Mirror images are faces too: twice the photos for free (UTKFace has 9,780).
  flipAugment: true,
  // G's moving average for samples, generate and eval. Half-life ~140 iterations (9,000 images, StyleGAN's
  // 10k-image scale at batch 64): 0.999 would still average in the first, noisy third of a 2,000-iteration run.
  ema: 0.995,
  // DiffAugment on what D sees, real and fake: translation and cutout, Zhao et al.'s choice with little data.
  // Not colour: brightness and saturation jitter would blur skin tone and grey hair, which the race and age labels live in.
  diffAugment: ['translation', 'cutout'],
  // Faces on request: one-hot age bucket, gender and race appended to z, projection term in D.
  conditional: true,
  // AC-GAN's class head on D (Odena et al. 2017): G is also scored on whether D can name the labels it asked for.
  // Weight none / 0.5 / 1.0 / 2.0 (models/README.md): gender match 69.6% / 76.2% / 84.2% / 94.8%, age error
  // 10.0 / 5.1 / 4.5 / 3.7 years; FID 0.109 / 0.088 / 0.078 / 0.085, two-sample 0.977 / 0.927 / 0.937 / 0.970.
  // 2.0: the faces asked for (men drawn as men 93% of the time, against 68% at 1.0), at some cost in FID.
  auxClassifier: 2.0,
  // Grids and checkpoints as dcgan64-utkface's run had them.
  sampleEvery: 250,
  sampleCount: 64,
  checkpointEvery: 250,
};
