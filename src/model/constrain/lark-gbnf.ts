/**
 * The GBNF text of a parsed Lark grammar (lark.ts): its expressions, regular expressions (regex.ts's AST) as
 * classes and groups, case folding (the i flag), . taking a newline (the s flag), and the rewrite of a rule
 * left-recursive in its own alternatives. Pure.
 */
import { rangesOf, type Ranges } from './char-ranges.js';
import type { RegexNode } from './regex.js';
import type { WiseError } from '../../util/errors.js';

export type LExpr =
  | { t: 'seq'; items: LExpr[] }
  | { t: 'alt'; options: LExpr[] }
  | { t: 'lit'; cps: number[]; fold: boolean }
  | { t: 'set'; ranges: Ranges }
  | { t: 're'; node: RegexNode }
  | { t: 'ref'; name: string; at: number }
  | { t: 'rep'; x: LExpr; min: number; max: number };

/** `.` outside classes and escapes as (?:.|\n): the s flag */
export function dotAll(p: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      out += c + (p[i + 1] ?? '');
      i++;
    } else if (inClass) {
      out += c;
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      out += c;
      if (p[i + 1] === ']' || (p[i + 1] === '^' && p[i + 2] === ']')) out += p[++i]!; // a leading ] is a member
    } else out += c === '.' ? '(?:.|\\n)' : c;
  }
  return out;
}

/** The ASCII letters of `r` in the other case too. */
function foldRanges(r: Ranges): Ranges {
  const extra: [number, number][] = [];
  for (const [lo, hi] of r) {
    for (const [a, b, d] of [[0x41, 0x5a, 32], [0x61, 0x7a, -32]] as const) {
      const x = Math.max(lo, a);
      const y = Math.min(hi, b);
      if (x <= y) extra.push([x + d, y + d]);
    }
  }
  return rangesOf([...r, ...extra]);
}

export function foldRegex(n: RegexNode): RegexNode {
  switch (n.t) {
    case 'char':
      return { t: 'char', test: foldRanges(n.test) };
    case 'seq':
      return { t: 'seq', items: n.items.map(foldRegex) };
    case 'alt':
      return { t: 'alt', options: n.options.map(foldRegex) };
    case 'rep':
      return { ...n, node: foldRegex(n.node) };
  }
}

const hex = (cp: number, w: number): string => cp.toString(16).toUpperCase().padStart(w, '0');
const classText = (r: Ranges): string =>
  r.length === 0 ? '[^\\U00000000-\\U0010FFFF]' : `[${r.map(([a, b]) => (a === b ? `\\U${hex(a, 8)}` : `\\U${hex(a, 8)}-\\U${hex(b, 8)}`)).join('')}]`;
const litChar = (cp: number): string => (cp === 0x22 ? '\\"' : cp === 0x5c ? '\\\\' : cp < 0x20 || cp === 0x7f ? `\\x${hex(cp, 2)}` : String.fromCodePoint(cp));
const suffix = (min: number, max: number): string =>
  min === 0 && max === Infinity ? '*' : min === 1 && max === Infinity ? '+' : min === 0 && max === 1 ? '?' : max === Infinity ? `{${min},}` : min === max ? `{${min}}` : `{${min},${max}}`;
/** a Lark name as a GBNF rule: `root` is GBNF's start, so a Lark rule of that name is renamed (Lark names have no hyphen) */
export const gname = (n: string): string => (n === 'root' ? 'root-lark' : n);

function regexGbnf(n: RegexNode): string {
  switch (n.t) {
    case 'char':
      return classText(n.test);
    case 'seq':
      return n.items.length === 0 ? '""' : `(${n.items.map(regexGbnf).join(' ')})`;
    case 'alt':
      return `(${n.options.map(regexGbnf).join(' | ')})`;
    case 'rep':
      return `(${regexGbnf(n.node)})${suffix(n.min, n.max)}`;
  }
}

export function gbnfOf(e: LExpr): string {
  switch (e.t) {
    case 'seq':
      return e.items.length === 0 ? '""' : e.items.map((x) => (x.t === 'seq' ? `(${gbnfOf(x)})` : gbnfOf(x))).join(' ');
    case 'alt':
      return `(${e.options.map(gbnfOf).join(' | ')})`;
    case 'lit':
      if (e.cps.length === 0) return '""';
      if (!e.fold) return `"${e.cps.map(litChar).join('')}"`;
      return e.cps
        .map((cp) => {
          const both = foldRanges([[cp, cp]]); // a letter and its other case
          return both.length === 1 && both[0]![0] === both[0]![1] ? `"${litChar(cp)}"` : classText(both);
        })
        .join(' ');
    case 'set':
      return classText(e.ranges);
    case 're':
      return regexGbnf(e.node);
    case 'ref':
      return gname(e.name);
    case 'rep':
      return `(${gbnfOf(e.x)})${suffix(e.min, e.max)}`;
  }
}

/** Rewrites `a: a x | a y | b | c` as `a: (b | c) (x | y)*` (the same language, no left recursion). */
export function unleft(name: string, alts: LExpr[], fail: (m: string) => WiseError): LExpr[] {
  const first = (a: LExpr): LExpr | undefined => (a.t === 'seq' ? a.items[0] : a);
  const isSelf = (a: LExpr): boolean => {
    const f = first(a);
    return f !== undefined && f.t === 'ref' && f.name === name;
  };
  const rec = alts.filter(isSelf);
  if (rec.length === 0) return alts;
  const base = alts.filter((a) => !isSelf(a));
  if (base.length === 0) throw fail(`rule ${name} is left-recursive in every alternative: no text can end it`);
  const rest = rec.map((a): LExpr => (a.t === 'seq' ? { t: 'seq', items: a.items.slice(1) } : { t: 'seq', items: [] }));
  const one = (xs: LExpr[]): LExpr => (xs.length === 1 ? xs[0]! : { t: 'alt', options: xs });
  return [{ t: 'seq', items: [one(base), { t: 'rep', x: one(rest), min: 0, max: Infinity }] }];
}
