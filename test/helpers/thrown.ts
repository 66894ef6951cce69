/** The message of the WiseError `fn` throws, after checking its code; fails the test when it throws nothing. */
import { expect } from 'vitest';

export function thrownMessage(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (e) {
    expect((e as { code: string }).code).toBe(code);
    return (e as Error).message;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}
