/**
 * Every training option, with its default. A preset lists only what differs
 * (src/config/presets/*.ts); command-line flags override the preset. The
 * resolved config is stored in each run folder and in every checkpoint.
 */
export type Activation = 'leakyrelu' | 'relu';
export type Architecture = 'mlp' | 'dcgan' | 'paper-cnn';
export type GanLoss = 'nonsaturating' | 'hinge';
export type DiffAugmentOp = 'color' | 'translation' | 'cutout';

export interface TrainConfig {
  /** Name of the preset the run started from (informational). */
  preset: string;
  /**
   * Network family: `mlp` is the paper's fully connected GAN; `dcgan` the DCGAN of
   * Radford et al. (transposed convolutions, BatchNorm); `paper-cnn` the paper's
   * convolutional variant (upsampling + 3x3 convolutions, dropout 0.25 in D).
   */
  architecture: Architecture;
  /** Square image side in pixels. The paper: 120 (120x120x3 = 43,200 values). */
  resolution: number;
  /** Length of the generator's input noise vector. The paper (Keras-GAN): 100. */
  latentDim: number;
  /** Hidden Dense widths of the generator, in order. The paper doubles from 256 to 2048. */
  generatorUnits: number[];
  /** Hidden Dense widths of the discriminator, in order. The paper: 1024, 512, 256. */
  discriminatorUnits: number[];
  /** Hidden activation: of both networks in `mlp` (Table 1 compares LeakyReLU with ReLU); of G in the conv nets, whose D always uses LeakyReLU. */
  activation: Activation;
  /** Negative slope of LeakyReLU (Keras-GAN and Radford et al.: 0.2). */
  leakyAlpha: number;
  /** BatchNormalization momentum in the generator (the paper: 0.8, as in Keras-GAN). */
  batchNormMomentum: number;
  /** Conv nets: channels of G's last hidden layer and D's first (DCGAN's ngf = ndf = 64); they double per stage. */
  baseFilters: number;
  /** Conv nets: dropout rate after each of D's conv blocks (the paper's CNN: 0.25; DCGAN: 0). */
  dropout: number;
  /** One-sided label smoothing: D's target for real images is 1 - this (Salimans et al.: 0.1). 0 = off. */
  labelSmoothing: number;
  /** Instance noise: std of Gaussian noise added to every image D sees, annealed linearly to 0 over the run. 0 = off. */
  instanceNoise: number;
  /** Flip each real image horizontally with probability 0.5. */
  flipAugment: boolean;
  /** Adam learning rate (Table 1: 1e-4 or 2e-4). */
  learningRate: number;
  /** Adam first-moment decay: 0.5 in the paper, as Radford et al. recommend. */
  beta1: number;
  /** Adam second-moment decay: Keras' default 0.999. */
  beta2: number;
  /** Adam epsilon (Keras' default 1e-7). */
  epsilon: number;
  /** Real images per discriminator step (and fakes per step; Table 1: 128, 256, 512). */
  batchSize: number;
  /** Training iterations, one random batch each (the paper's "epochs"): 20,000. */
  iterations: number;
  /** Write a fixed-noise sample grid every N iterations (the paper: 500). 0 turns it off. */
  sampleEvery: number;
  /** Faces in each sample grid (Keras-GAN: 5x5). */
  sampleCount: number;
  /** Measure sample quality (FID, KID, two-sample test) every N iterations into metrics.jsonl. 0 = never. */
  evalEvery: number;
  /** Save a resumable checkpoint every N iterations (and always at the end). */
  checkpointEvery: number;
  /** Checkpoints kept on disk (the newest ones). */
  keepCheckpoints: number;
  /**
   * Stop early when training has collapsed: D accuracy >= 0.99 and G loss rising
   * over this many iterations. 0 turns early stopping off (the paper stopped its
   * poor configurations by hand).
   */
  earlyStopPatience: number;
  /** Seed of every random choice: weight init, noise, batch sampling. */
  seed: number;
  /** Train on the first N images of the folder (sorted by name). 0 = all. */
  limit: number;
  /**
   * Exponential moving average of G's weights (as StyleGAN and BigGAN sample from):
   * after each iteration ema = decay·ema + (1 - decay)·G. Sample grids, generate and
   * eval use the average; checkpoints keep both. 0 = off (e.g. 0.999).
   */
  ema: number;
  /**
   * DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout
   * applied to every batch D sees, real and fake alike, inside the gradient tape.
   * [] = off.
   */
  diffAugment: DiffAugmentOp[];
  /**
   * The adversarial loss: `nonsaturating` (Goodfellow's, on D's logits, as Keras-GAN)
   * or `hinge` (D: relu(1 - real) + relu(1 + fake); G: -fake, as BigGAN / SAGAN).
   * Label smoothing applies to the non-saturating loss only.
   */
  loss: GanLoss;
  /**
   * Conditional GAN on UTKFace's labels (age bucket, gender, race): one-hot labels
   * are appended to G's noise (G's first layer learns their embedding) and D gets a
   * projection term (Miyato & Koyama 2018). Photos without full labels are skipped.
   */
  conditional: boolean;
  /**
   * Conditional runs: weight of an auxiliary classifier on D's features (AC-GAN,
   * Odena et al. 2017), beside the projection term. D learns to name the age bucket,
   * gender and race of real photos; G is pushed to make faces D names as requested.
   * 0 = off.
   */
  auxClassifier: number;
}

export const defaults: TrainConfig = {
  preset: 'default',
  architecture: 'mlp',
  resolution: 120,
  latentDim: 100,
  generatorUnits: [256, 512, 1024, 2048],
  discriminatorUnits: [1024, 512, 256],
  activation: 'leakyrelu',
  leakyAlpha: 0.2,
  batchNormMomentum: 0.8,
  baseFilters: 64,
  dropout: 0,
  labelSmoothing: 0,
  instanceNoise: 0,
  flipAugment: false,
  learningRate: 1e-4,
  beta1: 0.5,
  beta2: 0.999,
  epsilon: 1e-7,
  batchSize: 128,
  iterations: 20_000,
  sampleEvery: 500,
  sampleCount: 25,
  evalEvery: 0,
  checkpointEvery: 500,
  keepCheckpoints: 2,
  earlyStopPatience: 0,
  seed: 42,
  limit: 0,
  ema: 0,
  diffAugment: [],
  loss: 'nonsaturating',
  conditional: false,
  auxClassifier: 0,
};

/**
 * Keys added after runs were first written: a stored config without them reads
 * them as their defaults, which is what those runs trained with.
 */
export const LATER_KEYS: readonly (keyof TrainConfig)[] = ['ema', 'diffAugment', 'loss', 'conditional', 'auxClassifier'];
