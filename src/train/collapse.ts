/**
 * Notices a collapsed GAN: the discriminator wins outright (accuracy >= 0.99)
 * while the generator's loss keeps rising, for `patience` iterations in a row.
 * The paper stopped such configurations by hand; this records why it stopped.
 */
export interface CollapseState {
  /** Consecutive iterations with D accuracy >= threshold, and G's loss at the first of them. */
  streak: number;
  gLossAtStreakStart: number;
  /** Smoothed G loss, so one noisy iteration neither starts nor ends a trend. */
  gLossAverage: number | null;
}

const D_ACCURACY_THRESHOLD = 0.99;
const SMOOTHING = 0.9;

export class CollapseDetector {
  private current: CollapseState;

  constructor(
    private readonly patience: number,
    state?: CollapseState,
  ) {
    this.current = state ? { ...state } : { streak: 0, gLossAtStreakStart: 0, gLossAverage: null };
  }

  state(): CollapseState {
    return { ...this.current };
  }

  /** Returns the reason to stop, or null to go on. Patience 0 never stops. */
  observe(dAcc: number, gLoss: number): string | null {
    const s = this.current;
    s.gLossAverage = s.gLossAverage === null ? gLoss : SMOOTHING * s.gLossAverage + (1 - SMOOTHING) * gLoss;
    if (dAcc < D_ACCURACY_THRESHOLD) {
      s.streak = 0;
      return null;
    }
    if (s.streak === 0) s.gLossAtStreakStart = s.gLossAverage;
    s.streak++;
    if (this.patience === 0 || s.streak < this.patience) return null;
    if (s.gLossAverage <= s.gLossAtStreakStart) return null;
    return (
      `collapsed: D accuracy >= ${D_ACCURACY_THRESHOLD} for ${s.streak} iterations ` +
      `while G loss rose from ${s.gLossAtStreakStart.toFixed(3)} to ${s.gLossAverage.toFixed(3)}`
    );
  }
}
