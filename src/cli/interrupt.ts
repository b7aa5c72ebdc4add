import { info } from './output.js';

/**
 * Ctrl-C (or SIGTERM) during training: the first asks the loop to stop after the
 * current iteration and save a checkpoint; the second quits at once (exit 130).
 */
export function listenForInterrupt(): { requested: () => boolean; dispose: () => void } {
  let stopRequested = false;
  const onSignal = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    info('\nfakeface: stopping after this iteration and saving a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => stopRequested,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
