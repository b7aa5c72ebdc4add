/** The page's SHA-256 (for the check report's file hash) against node:crypto, at the padding edges and on a large buffer. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex, sha256Portable } from '../web/src/sha256.js';

describe('sha256 of the web page', () => {
  it('matches node:crypto with and without Web Crypto', async () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 300_001]) {
      const bytes = randomBytes(length);
      const expected = createHash('sha256').update(bytes).digest('hex');
      expect(sha256Portable(new Uint8Array(bytes)), `${length} bytes`).toBe(expected);
      expect(await sha256Hex(new Uint8Array(bytes).slice().buffer), `${length} bytes`).toBe(expected);
    }
    expect(sha256Portable(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
