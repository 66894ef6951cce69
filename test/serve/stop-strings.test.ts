/** Stop strings (src/serve/stop-strings.ts): the earliest match wins, and a stream holds back a possible start. */
import { describe, expect, it } from 'vitest';
import { firstStop, heldBack } from '../../src/serve/stop-strings.js';

describe('stop strings', () => {
  it('firstStop finds the earliest occurrence of any stop string that ends after `after`', () => {
    expect(firstStop('a cat and a dog', ['dog', 'cat'])).toBe(2);
    expect(firstStop('a cat and a cat', ['cat'], 5)).toBe(12); // the first ends at 5
    expect(firstStop('a cat and a cat', ['cat'], 4)).toBe(2); // … which is after 4
    expect(firstStop('a cat and a dog', ['a', 'dog'], 12)).toBe(12); // each stop by its own end: 'a' at 10 ends at 11
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
