/**
 * GBNF, llama.cpp's grammar format (its `grammar` field; vLLM's `guided_grammar` with the xgrammar backend reads
 * the same EBNF), parsed into rules of alternatives of elements. Pure.
 *
 *   root   ::= greeting " " name ("!" | ".")?      # one rule per line; `root` is where the text starts
 *   name   ::= [A-Z] [a-z]*                        # classes [a-z0-9_], [^…]; `.` is any character
 *   greeting ::= "Hello" | "Hi"                    # literals with \n \t \r \\ \" \[ \] \xHH \uHHHH \UHHHHHHHH
 *   digits ::= [0-9]{1,3}                          # repetition: * + ? {m} {m,} {m,n} {,n}
 *
 * A rule may go on over lines inside parentheses, after a `|`, or on a next line that starts with `|`; `#` starts a
 * comment. As llama.cpp, a repetition is rewritten into helper rules (x* → R ::= x R | ""), with the repeated
 * operand the last symbol: a literal as a whole, a class, a rule reference or a group. Errors are WISE_BAD_SCHEMA
 * naming line and column: an unknown escape, an undefined rule, no root, an unclosed literal or group, a grammar
 * expanding past MAX_ELEMENTS elements.
 */
import { WiseError } from '../../util/errors.js';

export const MAX_ELEMENTS = 100_000;

/** One element of an alternative: a character test (ranges of code points, or their complement) or a rule reference. */
export type Element = { k: 'chars'; ranges: readonly (readonly [number, number])[]; neg: boolean } | { k: 'rule'; id: number };

/** A parsed grammar: rules[id] = its alternatives, each a sequence of elements ([] = the empty text). */
export interface Grammar {
  rules: Element[][][];
  /** names[id]: the rule's name (helper rules: `name_N`) */
  names: string[];
  root: number;
}

const isWordChar = (c: string): boolean => /[A-Za-z0-9_-]/.test(c);

class Parser {
  private pos = 0;
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  readonly rules: (Element[][] | null)[] = [];
  /** where each rule was first referenced, for "undefined rule" errors */
  private readonly firstUse = new Map<number, number>();
  private count = 0;

  constructor(private readonly src: string) {}

  fail(message: string, at = this.pos): WiseError {
    const before = this.src.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    return new WiseError('WISE_BAD_SCHEMA', `grammar at line ${line}, column ${col}: ${message}`, { line, column: col });
  }

  private peek(k = 0): string {
    return this.src[this.pos + k] ?? '';
  }

  /** Skips blanks and comments; newlines too when `newlines` (inside a group, after ::= or |). */
  private space(newlines: boolean): void {
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || (newlines && (c === '\n' || c === '\r'))) this.pos++;
      else if (c === '#') while (this.pos < this.src.length && this.peek() !== '\n') this.pos++;
      else break;
    }
  }

  private name(): string {
    const start = this.pos;
    while (isWordChar(this.peek())) this.pos++;
    if (this.pos === start) throw this.fail(`expected a rule name, got ${JSON.stringify(this.peek() || 'the end')}`);
    return this.src.slice(start, this.pos);
  }

  private ruleId(name: string, use?: number): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
      this.rules.push(null);
    }
    if (use !== undefined && !this.firstUse.has(id)) this.firstUse.set(id, use);
    return id;
  }

  /** A new helper rule named after `base`. */
  private helper(base: string, alts: Element[][]): number {
    const id = this.ruleId(`${base}_${this.names.length}`);
    this.define(id, alts);
    return id;
  }

  private define(id: number, alts: Element[][]): void {
    this.count += alts.reduce((a, s) => a + s.length + 1, 0);
    if (this.count > MAX_ELEMENTS) throw this.fail(`the grammar expands past ${MAX_ELEMENTS} elements (large counted repetitions?)`);
    this.rules[id] = alts;
  }

  /** One character of a literal or class, escapes read. */
  private char(): number {
    const c = this.peek();
    if (c === '') throw this.fail('unexpected end of the grammar');
    if (c !== '\\') {
      const cp = this.src.codePointAt(this.pos)!;
      this.pos += cp > 0xffff ? 2 : 1;
      return cp;
    }
    const e = this.peek(1);
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, '"': 34, '[': 91, ']': 93, '-': 45 };
    if (e in simple) {
      this.pos += 2;
      return simple[e]!;
    }
    const hex = { x: 2, u: 4, U: 8 }[e];
    if (hex !== undefined) {
      const digits = this.src.slice(this.pos + 2, this.pos + 2 + hex);
      if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) throw this.fail(`\\${e} needs ${hex} hex digits`);
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff) throw this.fail(`\\${e}${digits} is past the last code point`);
      this.pos += 2 + hex;
      return cp;
    }
    throw this.fail(`unknown escape \\${e}`);
  }

  /** `name ::= alternatives` up to the end of its line. */
  rule(): void {
    const at = this.pos;
    const name = this.name();
    this.space(false);
    if (!this.src.startsWith('::=', this.pos)) throw this.fail(`expected ::= after ${name}`);
    this.pos += 3;
    this.space(true);
    const id = this.ruleId(name);
    if (this.rules[id] !== null) throw this.fail(`rule ${name} is defined twice`, at);
    this.define(id, this.alternatives(name, false));
    const c = this.peek();
    if (c !== '' && c !== '\n' && c !== '\r') throw this.fail(`unexpected ${JSON.stringify(c)}`);
  }

  private alternatives(rule: string, nested: boolean): Element[][] {
    const alts = [this.sequence(rule, nested)];
    for (;;) {
      const save = this.pos;
      if (!nested) this.space(true); // a next line that starts with | goes on
      if (this.peek() !== '|') {
        this.pos = save;
        return alts;
      }
      this.pos++;
      this.space(true);
      alts.push(this.sequence(rule, nested));
    }
  }

  private sequence(rule: string, nested: boolean): Element[] {
    const out: Element[] = [];
    let last = -1; // where the last symbol starts in `out`; -1: none to repeat
    for (;;) {
      const c = this.peek();
      const at = this.pos;
      if (c === '"') {
        this.pos++;
        last = out.length;
        while (this.peek() !== '"') {
          if (this.peek() === '' || this.peek() === '\n') throw this.fail('unclosed literal', at);
          const cp = this.char();
          out.push({ k: 'chars', ranges: [[cp, cp]], neg: false });
        }
        this.pos++;
      } else if (c === '[') {
        this.pos++;
        last = out.length;
        const neg = this.peek() === '^';
        if (neg) this.pos++;
        const ranges: [number, number][] = [];
        while (this.peek() !== ']') {
          if (this.peek() === '') throw this.fail('unclosed character class', at);
          const lo = this.char();
          let hi = lo;
          if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
            this.pos++;
            hi = this.char();
            if (hi < lo) throw this.fail('a range whose end comes before its start');
          }
          ranges.push([lo, hi]);
        }
        this.pos++;
        out.push({ k: 'chars', ranges, neg });
      } else if (c === '.') {
        this.pos++;
        last = out.length;
        out.push({ k: 'chars', ranges: [], neg: true });
      } else if (c === '(') {
        this.pos++;
        this.space(true);
        last = out.length;
        const alts = this.alternatives(rule, true);
        this.space(true);
        if (this.peek() !== ')') throw this.fail('expected ) to close the group', at);
        this.pos++;
        out.push({ k: 'rule', id: this.helper(rule, alts) });
      } else if (c !== '' && isWordChar(c)) {
        last = out.length;
        out.push({ k: 'rule', id: this.ruleId(this.name(), at) });
      } else if (c === '*' || c === '+' || c === '?' || c === '{') {
        if (last < 0) throw this.fail(`${c} with nothing before it to repeat`);
        const [min, max] = this.counts();
        this.repeat(rule, out, last, min, max);
        last = -1;
      } else {
        return out;
      }
      this.space(nested);
    }
  }

  /** The bounds of * + ? {m} {m,} {m,n} {,n} (max Infinity: unbounded). */
  private counts(): [number, number] {
    const c = this.peek();
    this.pos++;
    if (c === '*') return [0, Infinity];
    if (c === '+') return [1, Infinity];
    if (c === '?') return [0, 1];
    const m = /^\s*(\d*)\s*(?:(,)\s*(\d*)\s*)?\}/.exec(this.src.slice(this.pos));
    if (!m || (m[1] === '' && m[2] === undefined)) throw this.fail('expected {m}, {m,}, {m,n} or {,n}');
    this.pos += m[0].length;
    const min = m[1] === '' ? 0 : Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (max < min) throw this.fail(`{${min},${max}}: the most is below the least`);
    return [min, max];
  }

  /** Replaces out[last..] (the operand) by min copies and the optional rest, as helper rules (llama.cpp's rewrite). */
  private repeat(rule: string, out: Element[], last: number, min: number, max: number): void {
    const x = out.splice(last);
    for (let i = 0; i < min; i++) out.push(...x);
    if (max === Infinity) {
      const id = this.ruleId(`${rule}_${this.names.length}`);
      this.define(id, [[...x, { k: 'rule', id }], []]); // R ::= x R | ""
      out.push({ k: 'rule', id });
      return;
    }
    let tail: number | null = null; // innermost first: R_k ::= x R_{k+1} | ""
    for (let i = min; i < max; i++) tail = this.helper(rule, [[...x, ...(tail === null ? [] : [{ k: 'rule' as const, id: tail }])], []]);
    if (tail !== null) out.push({ k: 'rule', id: tail });
  }

  /** The whole text; throws for an undefined rule or a missing root. */
  grammar(): Grammar {
    this.space(true);
    while (this.pos < this.src.length) {
      this.rule();
      this.space(true);
    }
    this.rules.forEach((r, id) => {
      if (r === null) throw this.fail(`rule ${this.names[id]} is used but not defined`, this.firstUse.get(id) ?? 0);
    });
    const root = this.ids.get('root');
    if (root === undefined) throw this.fail('no root rule (the text starts at root ::= …)', 0);
    return { rules: this.rules as Element[][][], names: this.names, root };
  }
}

/** Parses a GBNF grammar; WISE_BAD_SCHEMA naming line and column. */
export function parseGbnf(text: string): Grammar {
  return new Parser(text).grammar();
}
