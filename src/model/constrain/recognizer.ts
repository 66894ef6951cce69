/**
 * What constrained decoding (token-constraint.ts) needs of a language: a state per text so far,
 * moved on one character at a time. A recogniser is immutable and shared by every sequence that
 * follows it; each sequence keeps its own state.
 *
 *   json-recognizer.ts  JSON that a schema accepts, or one of a list of choices (json-machine.ts's steps)
 *   regex.ts            text that a regular expression matches whole (regexRecognizer)
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
   * string under a pattern, a regular expression), the tokens allowed from a key are walked once and kept.
   */
  plainKey?(s: S): string | null;
}
