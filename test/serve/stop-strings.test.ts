/** Stop strings (src/serve/stop-strings.ts): the earliest match wins, and a stream holds back a possible start. */
import { describe, expect, it } from 'vitest';
import { firstStop, heldBack } from '../../src/serve/stop-strings.js';

describe('stop strings', () => {
  it('firstStop finds the earliest occurrence of any stop string, at or after `from`', () => {
    expect(firstStop('a cat and a dog', ['dog', 'cat'])).toBe(2);
    expect(firstStop('a cat and a cat', ['cat'], 3)).toBe(12);
    expect(firstStop('nothing here', ['\n\n', 'END'])).toBe(-1);
  });

  it('heldBack is the longest end of the text that could start a stop string (never a whole stop string)', () => {
    expect(heldBack('hello EN', ['END'])).toBe(2);
    expect(heldBack('hello E', ['END', 'EXIT'])).toBe(1);
    expect(heldBack('hello\n', ['\n\n'])).toBe(1);
    expect(heldBack('hello', ['END'])).toBe(0);
    expect(heldBack('xEND', ['END'])).toBe(0); // a full match is firstStop's, not held back
  });
});
