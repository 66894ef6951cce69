/**
 * vLLM's guided_regex: the whole output matches a regular expression. The expression is parsed
 * (Python `re` syntax, the subset below) into a Thompson NFA over characters; a state of the
 * recogniser is the ε-closed set of NFA states, as a sorted Int32Array. Pure.
 *
 * Supported: literals and escaped metacharacters, `.` (any character but a newline), classes
 * `[a-z0-9_]` and `[^…]`, `\d \D \w \W \s \S \n \t \r`, groups `( )` and `(?: )`, alternation `|`,
 * quantifiers `* + ? {n} {n,} {n,m}` (and their lazy forms, which match the same texts), `^` at the
 * start and `$` at the end (the match is whole anyway). Refused with WISE_BAD_SCHEMA, naming the
 * position: backreferences, lookaround and other `(?…)` groups, `\b`, and an expression whose
 * counted repetitions expand past MAX_STATES states.
 */
import { WiseError } from '../../util/errors.js';
import { complement, cutPoints, inRanges, meets, rangesOf, type Ranges } from './char-ranges.js';

export const MAX_STATES = 20_000;

/** the code points a transition takes */
type Test = Ranges;

/** NFA state: `test` and `next` for a character transition, or ε-edges in `eps`. */
interface NState {
  test: Test | null;
  next: number;
  eps: number[];
}

/** A fragment: its start state and the states whose `next`/`eps` are still to be patched to what follows. */
interface Frag {
  start: number;
  /** dangling exits: state ids whose out-edge goes to the next fragment */
  outs: number[];
}

/** The parsed expression, as an AST (lark.ts renders it as GBNF). */
export type RegexNode = Node;
type Node =
  | { t: 'char'; test: Test }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number };

function bad(pattern: string, at: number, message: string): WiseError {
  return new WiseError('WISE_BAD_SCHEMA', `regex ${JSON.stringify(pattern)} at ${at}: ${message}`, { position: at });
}

const isDigit: Test = [[0x30, 0x39]];
const isWord: Test = rangesOf([[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]);
const isSpace: Test = [[0x09, 0x0d], [0x20, 0x20]]; // \t \n \v \f \r and space
const not = complement;
const only = (ch: string): Test => [[ch.codePointAt(0)!, ch.codePointAt(0)!]];
/** {n}, {n,}, {n,m} and Python's {,m}; any other brace is a literal */
const QUANT = /^\{(?:(\d+)(,(\d*))?|,(\d+))\}/;
/** The character a single-character escape stands for (`\n` a newline; `\.` a dot). */
const ESCAPED: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };
const escapedChar = (e: string, inClass: boolean): string => ESCAPED[e] ?? (inClass && e === 'b' ? '\b' : e);

class Parser {
  private i = 0;
  constructor(private readonly p: string) {}

  parse(): Node {
    if (this.p.startsWith('^')) this.i = 1;
    const n = this.alt();
    if (this.i < this.p.length) throw bad(this.p, this.i, this.p[this.i] === ')' ? 'unbalanced ")"' : `unexpected ${JSON.stringify(this.p[this.i])}`);
    return n;
  }

  private alt(): Node {
    const options = [this.seq()];
    while (this.p[this.i] === '|') {
      this.i++;
      options.push(this.seq());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.p.length && this.p[this.i] !== '|' && this.p[this.i] !== ')') {
      if (this.p[this.i] === '$' && this.i === this.p.length - 1) {
        this.i++;
        break;
      }
      items.push(this.quantified(this.atom()));
    }
    return { t: 'seq', items };
  }

  private quantified(node: Node): Node {
    for (;;) {
      const c = this.p[this.i];
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{' && QUANT.test(this.p.slice(this.i))) {
        const m = QUANT.exec(this.p.slice(this.i))!;
        min = Number(m[1] ?? 0); // Python reads {,n} as {0,n}
        max = m[4] !== undefined ? Number(m[4]) : m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max < min) throw bad(this.p, this.i, `{${min},${max}}: the maximum is below the minimum`);
        this.i += m[0].length - 1;
      } else return node;
      this.i++;
      if (this.p[this.i] === '?') this.i++; // lazy: the same language
      else if (this.p[this.i] === '+') throw bad(this.p, this.i, 'possessive quantifiers are not supported');
      node = { t: 'rep', node, min, max };
    }
  }

  private atom(): Node {
    const at = this.i;
    const c = this.char();
    if (c === '(') {
      if (this.p[this.i] === '?') {
        if (this.p[this.i + 1] !== ':') throw bad(this.p, at, 'only (?: ) groups are supported (no lookaround, named groups or flags)');
        this.i += 2;
      }
      const n = this.alt();
      if (this.p[this.i] !== ')') throw bad(this.p, at, 'unclosed "("');
      this.i++;
      return n;
    }
    if (c === '[') return { t: 'char', test: this.cls(at) };
    if (c === '.') return { t: 'char', test: not(only('\n')) };
    if (c === '\\') return { t: 'char', test: this.escape(at, false) };
    if ('*+?{'.includes(c) && !(c === '{' && !QUANT.test(this.p.slice(at)))) throw bad(this.p, at, `nothing to repeat before ${JSON.stringify(c)}`);
    if (c === '^' || c === '$') throw bad(this.p, at, `anchor ${JSON.stringify(c)} inside the expression (the match is whole: leave it out)`);
    return { t: 'char', test: only(c) };
  }

  /** The code point at the cursor, as a string (one or two UTF-16 units); the cursor moves past it. */
  private char(): string {
    const c = String.fromCodePoint(this.p.codePointAt(this.i)!);
    this.i += c.length;
    return c;
  }

  /** After a backslash: a class escape or an escaped character. */
  private escape(at: number, inClass: boolean): Test {
    if (this.i >= this.p.length) throw bad(this.p, at, 'a trailing backslash');
    const c = this.char();
    switch (c) {
      case 'd': return isDigit;
      case 'D': return not(isDigit);
      case 'w': return isWord;
      case 'W': return not(isWord);
      case 's': return isSpace;
      case 'S': return not(isSpace);
    }
    if (/[0-9]/.test(c) || (!inClass && /[bBAZ]/.test(c))) throw bad(this.p, at, `\\${c} is not supported (no backreferences or word boundaries)`);
    if (/[A-Za-z]/.test(c) && ESCAPED[c] === undefined && !(inClass && c === 'b')) throw bad(this.p, at, `unknown escape \\${c}`);
    return only(escapedChar(c, inClass));
  }

  /** A class after its "[": its members, ranges and class escapes, possibly negated. */
  private cls(at: number): Test {
    const negate = this.p[this.i] === '^';
    if (negate) this.i++;
    const parts: [number, number][] = [];
    let first = true;
    for (;;) {
      const c = this.p[this.i];
      if (c === undefined) throw bad(this.p, at, 'unclosed "["');
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      let lo = this.char();
      if (lo === '\\') {
        const e = this.i < this.p.length ? String.fromCodePoint(this.p.codePointAt(this.i)!) : '';
        const esc = this.escape(this.i - 1, true);
        if ('dDwWsS'.includes(e)) {
          for (const [x, y] of esc) parts.push([x, y]);
          continue;
        }
        lo = escapedChar(e, true);
      }
      if (this.p[this.i] === '-' && this.p[this.i + 1] !== undefined && this.p[this.i + 1] !== ']') {
        this.i++;
        let hi = this.char();
        if (hi === '\\') hi = escapedChar(this.p[this.i] === undefined ? '' : this.char(), true);
        const [a, b] = [lo.codePointAt(0)!, hi.codePointAt(0) ?? -1];
        if (b < a) throw bad(this.p, at, `range ${lo}-${hi} is reversed`);
        parts.push([a, b]);
      } else parts.push([lo.codePointAt(0)!, lo.codePointAt(0)!]);
    }
    const any = rangesOf(parts);
    return negate ? not(any) : any;
  }
}

/** A compiled expression: states, the start's ε-closure, the accepting state. */
export interface Regex {
  readonly pattern: string;
  readonly states: readonly NState[];
  readonly start: Int32Array;
  readonly accept: number;
}

/** `pattern` parsed (WISE_BAD_SCHEMA for what the subset does not cover, naming the position). */
export function parseRegex(pattern: string): RegexNode {
  return new Parser(pattern).parse();
}

export function compileRegex(pattern: string): Regex {
  const ast = parseRegex(pattern);
  const states: NState[] = [];
  const add = (s: NState): number => {
    if (states.length >= MAX_STATES) throw bad(pattern, 0, `the expression expands past ${MAX_STATES} states (reduce its counted repetitions)`);
    states.push(s);
    return states.length - 1;
  };
  const patch = (outs: readonly number[], to: number): void => {
    for (const o of outs) {
      const s = states[o]!;
      if (s.test) s.next = to;
      else s.eps.push(to);
    }
  };
  const empty = (): Frag => {
    const s = add({ test: null, next: -1, eps: [] });
    return { start: s, outs: [s] };
  };
  const build = (n: Node): Frag => {
    switch (n.t) {
      case 'char': {
        const s = add({ test: n.test, next: -1, eps: [] });
        return { start: s, outs: [s] };
      }
      case 'seq': {
        if (n.items.length === 0) return empty();
        const frags = n.items.map(build);
        for (let k = 0; k + 1 < frags.length; k++) patch(frags[k]!.outs, frags[k + 1]!.start);
        return { start: frags[0]!.start, outs: frags[frags.length - 1]!.outs };
      }
      case 'alt': {
        const s = add({ test: null, next: -1, eps: [] });
        const frags = n.options.map(build);
        states[s]!.eps.push(...frags.map((f) => f.start));
        return { start: s, outs: frags.flatMap((f) => f.outs) };
      }
      case 'rep': {
        // min copies, then (max − min) optional ones, or a loop for an unbounded max
        const parts: Frag[] = [];
        for (let k = 0; k < n.min; k++) parts.push(build(n.node));
        if (n.max === Infinity) {
          const loop = add({ test: null, next: -1, eps: [] });
          const body = build(n.node);
          states[loop]!.eps.push(body.start);
          patch(body.outs, loop);
          parts.push({ start: loop, outs: [loop] });
        } else {
          for (let k = n.min; k < n.max; k++) {
            const opt = add({ test: null, next: -1, eps: [] });
            const body = build(n.node);
            states[opt]!.eps.push(body.start);
            parts.push({ start: opt, outs: [opt, ...body.outs] });
          }
        }
        if (parts.length === 0) return empty();
        for (let k = 0; k + 1 < parts.length; k++) patch(parts[k]!.outs, parts[k + 1]!.start);
        return { start: parts[0]!.start, outs: parts[parts.length - 1]!.outs };
      }
    }
  };
  const f = build(ast);
  const accept = add({ test: null, next: -1, eps: [] });
  patch(f.outs, accept);
  return { pattern, states, start: closure(states, [f.start]), accept };
}

/** The ε-closure of `from`, sorted. */
function closure(states: readonly NState[], from: Iterable<number>): Int32Array {
  const seen = new Set<number>();
  const stack = [...from];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const e of states[s]!.eps) stack.push(e);
  }
  return Int32Array.from([...seen].sort((a, b) => a - b));
}

/** The states after `ch`, or null when no state takes it. */
export function regexStep(re: Regex, set: Int32Array, ch: string): Int32Array | null {
  const cp = ch.codePointAt(0)!;
  const next: number[] = [];
  for (const s of set) {
    const st = re.states[s]!;
    if (st.test && inRanges(st.test, cp)) next.push(st.next);
  }
  return next.length === 0 ? null : closure(re.states, next);
}

export const regexAccepting = (re: Regex, set: Int32Array): boolean => set.includes(re.accept);
const distCache = new WeakMap<Regex, Int32Array>();

/**
 * The fewest characters from `set` to a match (Infinity: none). Per state, the shortest path to the accepting
 * state counting character edges (0-1 BFS backwards over the NFA), computed once per expression.
 */
export function regexCharsToAccept(re: Regex, set: Int32Array): number {
  const dist = distances(re);
  let best = Infinity;
  for (const s of set) if (dist[s]! >= 0) best = Math.min(best, dist[s]!);
  return best;
}

/** The most characters any state needs to reach a match (states that cannot reach one aside). */
export function regexLongestNeed(re: Regex): number {
  let most = 0;
  for (const d of distances(re)) most = Math.max(most, d);
  return most;
}

/** Per state, the fewest characters to the accepting state (−1: none). */
function distances(re: Regex): Int32Array {
  let dist = distCache.get(re);
  if (!dist) {
    const n = re.states.length;
    const into: { from: number; w: number }[][] = Array.from({ length: n }, () => []);
    re.states.forEach((st, i) => {
      if (st.test) into[st.next]!.push({ from: i, w: 1 });
      for (const e of st.eps) into[e]!.push({ from: i, w: 0 });
    });
    dist = new Int32Array(n).fill(-1);
    const d = new Float64Array(n).fill(Infinity);
    d[re.accept] = 0;
    const deque: number[] = [re.accept];
    while (deque.length > 0) {
      const v = deque.shift()!;
      for (const { from, w } of into[v]!) {
        if (d[v]! + w < d[from]!) {
          d[from] = d[v]! + w;
          if (w === 0) deque.unshift(from);
          else deque.push(from);
        }
      }
    }
    d.forEach((x, i) => (dist![i] = x === Infinity ? -1 : x));
    distCache.set(re, dist);
  }
  return dist;
}

/** Some state of `set` takes some code point in lo..hi (a \\uXXXX escape partly read is the range of what it can still decode to). */
export function regexTakesIn(re: Regex, set: Int32Array, lo: number, hi: number): boolean {
  for (const s of set) {
    const t = re.states[s]!.test;
    if (t && meets(t, lo, hi)) return true;
  }
  return false;
}

/**
 * The distinct state sets that code points in lo..hi step `set` to: one code point from each piece of lo..hi
 * over which every state's test is constant. Exact, without trying each code point.
 */
export function regexStepsIn(re: Regex, set: Int32Array, lo: number, hi: number): Int32Array[] {
  const cuts = new Set<number>([lo]);
  for (const s of set) {
    const t = re.states[s]!.test;
    if (t) cutPoints(t, lo, hi, cuts);
  }
  const out = new Map<string, Int32Array>();
  for (const cp of cuts) {
    const next = regexStep(re, set, String.fromCodePoint(cp));
    if (next) out.set(next.join(','), next);
  }
  return [...out.values()];
}

/** No state takes a character: the text cannot go on. */
export const regexFinished = (re: Regex, set: Int32Array): boolean => set.every((s) => re.states[s]!.test === null);
