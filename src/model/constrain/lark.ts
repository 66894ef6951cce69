/**
 * Lark grammars, the other syntax vLLM's `guided_grammar` takes (it converts them for xgrammar), rewritten as GBNF
 * (gbnf.ts) so grammar.ts recognises them. Read: rules and terminals `name: …` (the `?`, `!` and `_` prefixes and a
 * `.priority` shape Lark's tree, not the language, and are dropped), alternatives `|` (on following lines too),
 * groups `( )`, optional `[ ]`, `* + ?`, `x~n` and `x~n..m`, literals "…" and '…' (Python escapes; the `i` flag folds
 * case), ranges "a".."z", regular expressions /…/ (regex.ts's subset; flags i and s), aliases `-> name` (dropped),
 * `//` and `#` comments, `%import common.NAME` (and `-> ALIAS`, and `%import common (A, B)`) from COMMON below,
 * and `%ignore` (accepted; the text written holds nothing ignored, which is still in the language). The text starts
 * at `start`, or at the first rule when there is none (vLLM's rule). A rule that is left-recursive in its own
 * alternatives (`expr: expr "+" term | term`, which Lark's parsers take and a pushdown recogniser cannot) is
 * rewritten to `expr: term ("+" term)*`, the same language; left recursion through other rules stays refused by
 * grammar.ts. Refused with WISE_BAD_SCHEMA naming line and column: templates, `%declare`, `%override`, `%extend`,
 * imports from elsewhere than common, undefined and twice-defined rules, bad literals and expressions. Pure.
 */
import { WiseError, isWiseError } from '../../util/errors.js';
import { parseRegex } from './regex.js';
import { dotAll, foldRegex, gbnfOf, gname, unleft, type LExpr } from './lark-gbnf.js';
import { grammarRecognizer, type GrammarRecognizer } from './grammar.js';

interface Rule {
  alts: LExpr[];
  at: number;
}

/** Lark's common.lark terminals, as languages (ESCAPED_STRING without its lookbehind: a backslash escapes the next character). */
const COMMON = String.raw`
DIGIT: "0".."9"
HEXDIGIT: "a".."f" | "A".."F" | DIGIT
INT: DIGIT+
SIGNED_INT: ["+" | "-"] INT
DECIMAL: INT "." INT? | "." INT
_EXP: ("e" | "E") SIGNED_INT
FLOAT: INT _EXP | DECIMAL _EXP?
SIGNED_FLOAT: ["+" | "-"] FLOAT
NUMBER: FLOAT | INT
SIGNED_NUMBER: ["+" | "-"] NUMBER
ESCAPED_STRING: "\"" (/[^"\\\n]/ | "\\" /[^\n]/)* "\""
LCASE_LETTER: "a".."z"
UCASE_LETTER: "A".."Z"
LETTER: UCASE_LETTER | LCASE_LETTER
WORD: LETTER+
CNAME: ("_" | LETTER) ("_" | LETTER | DIGIT)*
WS_INLINE: (" " | /\t/)+
WS: /[ \t\f\r\n]/+
CR: /\r/
LF: /\n/
NEWLINE: (CR? LF)+
SH_COMMENT: /#[^\n]*/
CPP_COMMENT: /\/\/[^\n]*/
C_COMMENT: "/*" (/[^*]/ | "*"+ /[^*\/]/)* "*"+ "/"
SQL_COMMENT: /--[^\n]*/
`;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const PY_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, b: 8, a: 7, '0': 0, '\\': 92, '"': 34, "'": 39 };

class LarkParser {
  private pos = 0;
  readonly rules = new Map<string, Rule>();
  readonly order: string[] = [];
  readonly refs: { name: string; at: number }[] = [];
  readonly imports: { name: string; as: string; at: number }[] = [];

  constructor(private readonly src: string) {}

  fail(message: string, at = this.pos): WiseError {
    const before = this.src.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    return new WiseError('WISE_BAD_SCHEMA', `Lark grammar at line ${line}, column ${column}: ${message}`, { line, column });
  }

  private peek(k = 0): string {
    return this.src[this.pos + k] ?? '';
  }

  /** Skips blanks and comments (// and #); newlines too when `newlines`. */
  private space(newlines: boolean): void {
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.pos++;
      else if (c === '#' || (c === '/' && this.peek(1) === '/')) while (this.pos < this.src.length && this.peek() !== '\n') this.pos++;
      else break;
    }
  }

  private name(): string {
    const start = this.pos;
    if (!NAME_START.test(this.peek())) throw this.fail(`expected a name, got ${JSON.stringify(this.peek() || 'the end')}`);
    while (NAME_CHAR.test(this.peek())) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private int(): number {
    const m = /^\d+/.exec(this.src.slice(this.pos));
    if (!m) throw this.fail('expected a number');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  file(): void {
    for (;;) {
      this.space(true);
      if (this.pos >= this.src.length) return;
      if (this.peek() === '%') this.directive();
      else this.rule();
      this.space(false);
      if (this.pos < this.src.length && this.peek() !== '\n') throw this.fail(`unexpected ${JSON.stringify(this.peek())}`);
    }
  }

  private directive(): void {
    const at = this.pos;
    this.pos++;
    const word = this.name();
    this.space(false);
    if (word === 'ignore') {
      while (this.pos < this.src.length && this.peek() !== '\n') this.pos++; // nothing ignored is written
      return;
    }
    if (word !== 'import') throw this.fail(`%${word} is not supported (read: %import common…, %ignore)`, at);
    const mod = this.name();
    if (mod !== 'common') throw this.fail(`%import from "${mod}": only Lark's common terminals are available`, at);
    if (this.peek() === '.') {
      this.pos++;
      const nameAt = this.pos;
      const name = this.name();
      this.space(false);
      let as = name;
      if (this.src.startsWith('->', this.pos)) {
        this.pos += 2;
        this.space(false);
        as = this.name();
      }
      this.imports.push({ name, as, at: nameAt });
      return;
    }
    this.space(false);
    if (this.peek() !== '(') throw this.fail('expected common.NAME or common (NAME, …)');
    this.pos++;
    for (;;) {
      this.space(true);
      const nameAt = this.pos;
      const name = this.name();
      this.imports.push({ name, as: name, at: nameAt });
      this.space(true);
      if (this.peek() === ',') this.pos++;
      else if (this.peek() === ')') return void this.pos++;
      else throw this.fail('expected , or ) in the import list');
    }
  }

  private rule(): void {
    const at = this.pos;
    if (this.peek() === '?' || this.peek() === '!') this.pos++;
    const name = this.name();
    if (this.peek() === '{') throw this.fail(`rule templates (${name}{…}) are not supported`);
    if (this.peek() === '.') {
      this.pos++;
      if (this.peek() === '-') this.pos++;
      this.int(); // a priority: Lark's lexer order, not the language
    }
    this.space(false);
    if (this.peek() !== ':') throw this.fail(`expected : after ${name}`);
    this.pos++;
    this.space(false);
    if (this.rules.has(name)) throw this.fail(`${name} is defined twice`, at);
    const save = this.pos;
    this.space(true);
    if (this.peek() === '|') this.pos++; // the alternatives start on the next lines, each after a |
    else this.pos = save;
    this.rules.set(name, { alts: this.expansions(false), at });
    this.order.push(name);
  }

  /** alternatives; a top-level rule goes on over a next line that starts with | */
  private expansions(nested: boolean): LExpr[] {
    const alts = [this.alias(nested)];
    for (;;) {
      const save = this.pos;
      this.space(true);
      if (this.peek() !== '|') {
        this.pos = save;
        return alts;
      }
      this.pos++;
      this.space(nested);
      alts.push(this.alias(nested));
    }
  }

  private alias(nested: boolean): LExpr {
    const items: LExpr[] = [];
    for (;;) {
      this.space(nested);
      const c = this.peek();
      if (this.src.startsWith('->', this.pos)) {
        this.pos += 2;
        this.space(false);
        this.name(); // a tree alias
        this.space(nested);
        break;
      }
      if (c === '' || c === '|' || c === ')' || c === ']' || c === '\n') break;
      items.push(this.expr());
    }
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  private expr(): LExpr {
    let x = this.atom();
    for (;;) {
      const save = this.pos;
      this.space(false); // Lark's lexer skips blanks before an operator too
      const c = this.peek();
      if (c === '*' || c === '+' || c === '?') {
        this.pos++;
        x = { t: 'rep', x, min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Infinity };
      } else if (c === '~') {
        this.pos++;
        this.space(false);
        const min = this.int();
        let max = min;
        if (this.src.startsWith('..', this.pos)) {
          this.pos += 2;
          max = this.int();
        }
        if (max < min) throw this.fail(`~${min}..${max}: the most is below the least`);
        x = { t: 'rep', x, min, max };
      } else {
        this.pos = save;
        return x;
      }
    }
  }

  private atom(): LExpr {
    const at = this.pos;
    const c = this.peek();
    if (c === '(' || c === '[') {
      this.pos++;
      this.space(true);
      const alts = this.expansions(true);
      this.space(true);
      const close = c === '(' ? ')' : ']';
      if (this.peek() !== close) throw this.fail(`expected ${close} to close the ${c === '(' ? 'group' : 'optional part'}`, at);
      this.pos++;
      const inner: LExpr = alts.length === 1 ? alts[0]! : { t: 'alt', options: alts };
      return c === '(' ? inner : { t: 'rep', x: inner, min: 0, max: 1 };
    }
    if (c === '"' || c === "'") {
      const cps = this.string();
      const fold = this.peek() === 'i' && !NAME_CHAR.test(this.peek(1));
      if (fold) this.pos++;
      if (!this.src.startsWith('..', this.pos)) return { t: 'lit', cps, fold };
      this.pos += 2;
      const hi = this.string();
      if (cps.length !== 1 || hi.length !== 1) throw this.fail('a range "a".."z" takes one character at each end', at);
      if (hi[0]! < cps[0]!) throw this.fail('a range whose end comes before its start', at);
      return { t: 'set', ranges: [[cps[0]!, hi[0]!]] };
    }
    if (c === '/') return this.regex();
    if (NAME_START.test(c)) {
      const name = this.name();
      if (this.peek() === '{') throw this.fail(`rule templates (${name}{…}) are not supported`);
      this.refs.push({ name, at });
      return { t: 'ref', name, at };
    }
    throw this.fail(`unexpected ${JSON.stringify(c || 'the end')}`);
  }

  /** A quoted literal's code points, Python escapes read (an unknown escape keeps its backslash, as Python's). */
  private string(): number[] {
    const at = this.pos;
    const q = this.peek();
    this.pos++;
    const out: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') throw this.fail('unclosed literal', at);
      if (c === q) {
        this.pos++;
        return out;
      }
      if (c !== '\\') {
        const cp = this.src.codePointAt(this.pos)!;
        out.push(cp);
        this.pos += cp > 0xffff ? 2 : 1;
        continue;
      }
      const e = this.peek(1);
      const hex = { x: 2, u: 4, U: 8 }[e];
      if (hex !== undefined) {
        const digits = this.src.slice(this.pos + 2, this.pos + 2 + hex);
        if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits) || parseInt(digits, 16) > 0x10ffff) throw this.fail(`\\${e} needs ${hex} hex digits of a code point`);
        out.push(parseInt(digits, 16));
        this.pos += 2 + hex;
      } else if (e in PY_ESCAPES) {
        out.push(PY_ESCAPES[e]!);
        this.pos += 2;
      } else {
        out.push(92);
        this.pos++;
      }
    }
  }

  /** /pattern/flags: regex.ts's subset; i folds ASCII case, s lets . take a newline. */
  private regex(): LExpr {
    const at = this.pos;
    this.pos++;
    let pattern = '';
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') throw this.fail('unclosed regular expression', at);
      this.pos++;
      if (c === '/') break;
      if (c === '\\' && this.peek() === '/') {
        pattern += '/';
        this.pos++;
      } else if (c === '\\') {
        pattern += c + this.peek();
        this.pos++;
      } else pattern += c;
    }
    const flags = /^[a-z]*/.exec(this.src.slice(this.pos))![0];
    this.pos += flags.length;
    const unknown = [...flags].filter((f) => !'imsu'.includes(f));
    if (unknown.length > 0) throw this.fail(`regular-expression flag ${unknown[0]} is not supported (read: i, s; m and u change nothing here)`, at);
    if (flags.includes('s')) pattern = dotAll(pattern);
    try {
      const node = parseRegex(pattern);
      return { t: 're', node: flags.includes('i') ? foldRegex(node) : node };
    } catch (e) {
      if (isWiseError(e) && e.code === 'WISE_BAD_SCHEMA') throw this.fail(e.message, at);
      throw e;
    }
  }
}

let common: LarkParser | null = null;

/** Whether a grammar text is Lark rather than GBNF (vLLM's test: no line, comments aside, has ::=). */
export function isLikelyLark(text: string): boolean {
  return !text.split('\n').some((l) => l.replace(/(#|\/\/).*$/, '').includes('::='));
}

/** The GBNF of a Lark grammar; WISE_BAD_SCHEMA naming line and column of what is wrong. */
export function larkToGbnf(text: string): string {
  const p = new LarkParser(text);
  p.file();
  if (p.order.length === 0 && p.imports.length === 0) throw p.fail('no rules', 0);
  common ??= (() => {
    const c = new LarkParser(COMMON);
    c.file();
    return c;
  })();
  const rules = new Map<string, Rule>(p.rules);
  // imports: the terminal under its (alias) name, and what it refers to under theirs
  const pull = (name: string, as: string, at: number): void => {
    const r = common!.rules.get(name);
    if (!r) throw p.fail(`common has no terminal ${name}`, at);
    const have = rules.get(as);
    if (have === r) return; // pulled already
    if (have) throw p.fail(`${as} is defined twice (by an import)`, at);
    rules.set(as, r);
    for (const ref of refsOf(r.alts)) if (!rules.has(ref)) pull(ref, ref, at);
  };
  for (const i of p.imports) pull(i.name, i.as, i.at);
  for (const r of p.refs) if (!rules.has(r.name)) throw p.fail(`${r.name} is used but not defined (nor imported)`, r.at);
  const start = p.rules.has('start') ? 'start' : p.order[0];
  if (start === undefined) throw p.fail('no rule to start at (only imports)', 0);
  const lines = [`root ::= ${gname(start)}`];
  for (const [name, r] of rules) {
    const alts = unleft(name, r.alts, (m) => p.fail(m, p.rules.get(name) === r ? r.at : 0));
    lines.push(`${gname(name)} ::= ${alts.map(gbnfOf).join(' | ')}`);
  }
  return lines.join('\n');
}

function refsOf(alts: readonly LExpr[]): string[] {
  const out: string[] = [];
  const walk = (e: LExpr): void => {
    if (e.t === 'ref') out.push(e.name);
    else if (e.t === 'seq') e.items.forEach(walk);
    else if (e.t === 'alt') e.options.forEach(walk);
    else if (e.t === 'rep') walk(e.x);
  };
  alts.forEach(walk);
  return out;
}

/** vLLM's guided_grammar (and wise generate --grammar): Lark when it looks like Lark (isLikelyLark), GBNF otherwise. */
export function larkOrGbnfRecognizer(text: string): GrammarRecognizer {
  return grammarRecognizer(isLikelyLark(text) ? larkToGbnf(text) : text);
}
