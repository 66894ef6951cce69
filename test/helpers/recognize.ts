/** Running a recogniser (src/model/constrain/recognizer.ts) over a whole text, for tests. */
import type { Recognizer } from '../../src/model/constrain/recognizer.js';

/** The state after `text`, or null once a character is refused. */
export function run<S>(r: Recognizer<S>, text: string): S | null {
  let s: S | null = r.initial();
  for (const ch of text) {
    s = r.step(s, ch);
    if (s === null) return null;
  }
  return s;
}

/** `text` is accepted whole. */
export const accepts = <S>(r: Recognizer<S>, text: string): boolean => {
  const s = run(r, text);
  return s !== null && r.accepting(s);
};
