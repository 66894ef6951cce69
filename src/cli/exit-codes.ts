/** CLI exit codes (documented in README). */
import { WiseError } from '../util/errors.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, locked: 3 } as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof WiseError) {
    if (err.code === 'WISE_STORE_LOCKED') return EXIT.locked;
    if (err.code === 'WISE_USAGE' || err.code === 'WISE_BAD_CONFIG') return EXIT.usage;
  }
  return EXIT.failure;
}
