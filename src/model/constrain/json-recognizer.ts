/**
 * The JSON machine (json-machine.ts) as a Recognizer for constrained decoding: its steps, and what the token level
 * asks beyond them — which code points past ASCII continue a state (takesIn, for byte-level tokens that end inside a
 * character), the room a free string leaves for plain tokens (room), and a patterned string's plain characters as a
 * DFA walk priced against maxLength (plainWalk). Pure.
 */
import type { SchemaNode } from './json-schema.js';
import { accepting, finished, initialStates, itemNode, keyNames, step, type MachineState } from './json-machine.js';
import { regexCharsToAccept, regexStepsIn, type Regex } from './regex.js';
import { dfaOf } from './regex-dfa.js';
import type { PlainWalk, Recognizer } from './recognizer.js';

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

/**
 * Recognizer.plainWalk inside a string under a pattern with `room` characters left by maxLength: the pattern's DFA,
 * each state priced at the fewest characters to a match, so a token is allowed when its characters and that need fit
 * the room, as stepOne allows it character by character.
 */
function stringWalk(re: Regex, rs: Int32Array, room: number): PlainWalk {
  const d = dfaOf(re);
  return {
    key: `${re.pattern}|${rs.join(',')}`,
    start: d.id(rs),
    step: (q, cp) => d.step(q, cp),
    need: (q) => d.need(q),
    needIn: (q, lo, hi) => {
      const next = regexStepsIn(re, d.set(q), lo, hi);
      return next.length === 0 ? null : 1 + Math.min(...next.map((s) => regexCharsToAccept(re, s)));
    },
    room,
  };
}

/** The string frame whose plain characters plainWalk describes: one state, inside a string under a pattern, not in an escape. */
function patternedString(states: readonly MachineState[]): Extract<MachineState['stack'][number], { t: 'str' }> | null {
  if (states.length !== 1) return null;
  const top = states[0]!.stack.at(-1);
  return top?.t === 'str' && top.esc === 0 && top.re !== null ? top : null;
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
    plainWalk: (states) => {
      const top = patternedString(states);
      return top === null ? null : stringWalk(top.re!, top.rs!, top.max - top.len);
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
