/**
 * The JSON machine (json-machine.ts) as a Recognizer for constrained decoding: its steps, and what the token level
 * asks beyond them — which code points past ASCII continue a state (takesIn, for byte-level tokens that end inside a
 * character), the room a free string leaves for plain tokens (room), and the key under which a patterned string's
 * plain tokens are cached (plainKey). Pure.
 */
import type { SchemaNode } from './json-schema.js';
import { accepting, finished, initialStates, itemNode, keyNames, step, type MachineState } from './json-machine.js';
import { regexCharsToAccept, regexLongestNeed, regexStepsIn } from './regex.js';
import type { Recognizer } from './recognizer.js';
import { MAX_PLAIN_CHARS } from './token-constraint.js';

/** Some code point of lo..hi starts one of `texts` at UTF-16 offset `pos`. */
const litTakes = (texts: readonly string[], pos: number, lo: number, hi: number): boolean =>
  texts.some((t) => {
    const cp = t.codePointAt(pos);
    return cp !== undefined && cp >= lo && cp <= hi;
  });

/** Some code point of lo..hi can start a value of `node`: only a raw literal's can be one past ASCII. */
function valueTakes(node: SchemaNode, lo: number, hi: number): boolean {
  switch (node.kind) {
    case 'union':
      return node.of.some((p) => valueTakes(p, lo, hi));
    case 'ref':
      return valueTakes(node.target!, lo, hi);
    case 'literal':
      return litTakes(node.texts, 0, lo, hi);
    default:
      return false; // {, [, ", a digit or -, and the any-value's true/false/null
  }
}

/**
 * Recognizer.takesIn: some code point of lo..hi (lo ≥ 0x80, so no JSON syntax, whitespace or escape character)
 * continues one of `states`, as stepOne would take it: a free string's or free key's character while maxLength
 * has room; under a pattern, one whose next states can still match within maxLength; the next character of
 * a declared key or an enum/const text.
 */
export function takesIn(states: readonly MachineState[], lo: number, hi: number): boolean {
  return states.some(({ stack }) => {
    const top = stack[stack.length - 1];
    switch (top?.t) {
      case 'value':
        return valueTakes(top.node, lo, hi);
      case 'str':
        if (top.esc !== 0 || top.len + 1 > top.max) return false;
        return top.re === null || regexStepsIn(top.re, top.rs!, lo, hi).some((rs) => regexCharsToAccept(top.re!, rs) <= top.max - top.len - 1);
      case 'key': {
        if (top.esc !== 0) return false;
        const names = keyNames(top);
        return names === null || litTakes(names.filter((n) => n.startsWith(top.text)), top.text.length, lo, hi);
      }
      case 'lit':
        return litTakes(top.texts, top.pos, lo, hi);
      case 'arr':
        return top.phase === 'first' && top.node.max > 0 && valueTakes(itemNode(top.node, 0), lo, hi);
      default:
        return false; // an object's syntax, a number (whose end hands the character to an object or array), or complete
    }
  });
}

/** JSON of `node` (or, `raw`, exactly one of a literal node's texts) as a Recognizer. */
export function jsonRecognizer(node: SchemaNode, raw = false): Recognizer<MachineState[]> {
  const start = initialStates(node, raw);
  return {
    initial: () => start,
    step: (states, ch) => {
      const next = step(states, ch);
      return next.length === 0 ? null : next;
    },
    accepting,
    finished,
    takesIn,
    plainKey: (states) => {
      // one state inside a string under a pattern: plain characters step only its pattern and its count, and the
      // count matters only while maxLength could bind (a token of MAX_PLAIN_CHARS, then the longest way to a match)
      if (states.length !== 1) return null;
      const top = states[0]!.stack.at(-1);
      if (top?.t !== 'str' || top.esc !== 0 || top.re === null) return null;
      const room = top.max - top.len;
      return `${top.re.pattern}|${top.rs!.join(',')}|${room >= MAX_PLAIN_CHARS + regexLongestNeed(top.re) ? '*' : room}`;
    },
    room: (states) => {
      // the one state is inside a string (a value's, or a key of an object that takes any key) and not in an escape
      if (states.length !== 1) return null;
      const top = states[0]!.stack.at(-1);
      if (top?.t === 'str' && top.esc === 0 && top.re === null) return top.max - top.len; // a pattern reads each character: walk
      if (top?.t === 'key' && top.esc === 0 && keyNames(top) === null) return Infinity;
      return null;
    },
  };
}
