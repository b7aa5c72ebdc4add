/**
 * Files one page hands to the Check page ("Check this face" on Generate): held in
 * memory until the Check page takes them, which it does as it opens.
 */
let pending: File[] = [];

/** Opens the Check page, which checks `files` at once. */
export function sendToCheck(...files: File[]): void {
  pending = files;
  if (location.hash === '#/check') window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = '#/check';
}

/** The files handed over since the last call (empty when none). */
export function takeHandedFiles(): File[] {
  const files = pending;
  pending = [];
  return files;
}
