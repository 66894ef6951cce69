/**
 * What constrained decoding (token-constraint.ts) needs of a language: a state per text so far,
 * moved on one character at a time. A recogniser is immutable and shared by every sequence that
 * follows it; each sequence keeps its own state.
 *
 *   json-recognizer.ts  JSON that a schema accepts, or one of a list of choices (json-machine.ts's steps)
 *   regex-dfa.ts        text that a regular expression (regex.ts) matches whole (regexRecognizer)
 *   grammar.ts          text that a GBNF grammar derives (grammarRecognizer; Lark through lark.ts)
 */
export interface Recognizer<S> {
  /** the state before any text */
  initial(): S;
  /** the state after `ch`, or null: no text with this prefix is accepted */
  step(s: S, ch: string): S | null;
  /**
   * Some code point in lo..hi (lo ≥ 0x80, no surrogates) steps `s` to a live state: a byte-level token that
   * ends inside a multi-byte character is allowed only if the character can still be one the text takes
   * (token-constraint.ts, utf8.ts).
   */
  takesIn(s: S, lo: number, hi: number): boolean;
  /** the text so far is accepted (generation may end here) */
  accepting(s: S): boolean;
  /** accepted, and nothing may follow */
  finished(s: S): boolean;
  /**
   * How many plain characters (token-constraint.ts plainCode: no quote, backslash, control character or DEL) the state takes in a row
   * without changing anything but a count, or null when it cannot say: inside a JSON string, its
   * maxLength's room. Lets a token walk skip the tokens of plain text (token-constraint.ts).
   */
  room?(s: S): number | null;
  /**
   * A key such that any two states with the same key allow the same plain tokens (token-constraint.ts: a token of at
   * most MAX_PLAIN_CHARS plain characters, possibly ending in a piece of one), or null. Where room() cannot serve (a
   * grammar's string), the tokens allowed from a key are walked once and kept.
   */
  plainKey?(s: S): string | null;
  /**
   * Plain characters from `s` as a DFA walk with a length budget (a regular expression; a JSON string under a
   * pattern and maxLength), or null: token-constraint.ts walks the plain tokens once per key, pricing each token
   * at its characters plus the fewest a match still needs after it, and allows those priced within `room`.
   * Must allow exactly what step and takesIn allow from `s`.
   */
  plainWalk?(s: S): PlainWalk | null;
}

/**
 * Recognizer.plainWalk. A token of k plain characters ending at walk state q costs k + need(q) (k − 1 + the
 * needIn of its last, partial character); it is allowed when its cost is at most `room`. The cost never falls
 * along a token's characters (need drops by at most one per character), so no prefix check is needed beyond
 * stepping.
 */
export interface PlainWalk {
  /** states with the same key walk the same from `start` (the room aside) */
  key: string;
  start: number;
  /** the walk state after plain code point `cp`, or −1: refused whatever the room */
  step(q: number, cp: number): number;
  /** the fewest characters from q to an end the text may have (Infinity: none; 0 where nothing limits length) */
  need(q: number): number;
  /** 1 + the least need after one code point of lo..hi (a character a token ends inside), or null when none steps q */
  needIn(q: number, lo: number, hi: number): number | null;
  /** characters left (maxLength's room; Infinity: no limit) */
  room: number;
}
