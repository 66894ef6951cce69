/**
 * A character-level recogniser of the JSON texts a schema (json-schema.ts) accepts, for constrained
 * decoding: `step(states, ch)` is every way the text so far plus `ch` can continue. A state is an
 * immutable stack of frames (the open containers and the value being read), so branching (anyOf,
 * a type list, enum texts sharing a prefix) is a list of states and costs no copying of shared
 * parts; a dead text is the empty list. Pure.
 *
 * Whitespace follows llama.cpp's JSON grammar (`ws ::= | " " | "\n" [ \t]{0,20}`): where JSON allows
 * it inside the value (after `{`, `[`, `:`, `,` and around values), one space, or a newline and up
 * to MAX_INDENT spaces or tabs, so a model cannot spin on blanks; none before or after the top-level
 * value. Numbers take at most MAX_DIGITS digits in each part (llama.cpp: 16 integral ones), for the
 * same reason. Keys of an object restricted to its declared properties take no escapes.
 */
import type { SchemaNode } from './json-schema.js';
import { regexAccepting, regexCharsToAccept, regexStep, regexStepsIn, type Regex } from './regex.js';
import { regexStepCached } from './regex-dfa.js';
import { MAX_NUMBER_DIGITS, prefixOf, viable, within, type Bounds } from './number-bounds.js';
import { alternativesOf, canonicalJson } from './schema-overlap.js';

type ObjNode = Extract<SchemaNode, { kind: 'object' }>;
type ArrNode = Extract<SchemaNode, { kind: 'array' }>;
type NumPhase = 'sign' | 'zero' | 'int' | 'dot' | 'frac' | 'e' | 'esign' | 'exp';

export type Frame =
  /** a value of `node` starts here (whitespace first) */
  | { t: 'value'; node: SchemaNode }
  /** inside an object: `key` is the key whose value is being read (phase value) */
  | { t: 'obj'; node: ObjNode; phase: 'first' | 'key' | 'colon' | 'value' | 'after' | 'comma'; used: readonly string[]; key: string }
  /** a key's text so far (raw, escapes kept); esc as in str */
  | { t: 'key'; node: ObjNode; used: readonly string[]; text: string; esc: number }
  /** seen: under uniqueItems, the canonical JSON of each item so far (null: items may repeat) */
  | { t: 'arr'; node: ArrNode; phase: 'first' | 'item' | 'after'; count: number; seen: readonly string[] | null }
  /**
   * esc: 0 plain, 1 after a backslash, 2–5 reading \u's hex digits (cu: their value so far); len: characters so far
   * (an escape is one); re/rs: the pattern and its state over the decoded characters (null: no pattern)
   */
  | { t: 'str'; esc: number; len: number; min: number; max: number; re: Regex | null; rs: Int32Array | null; cu: number; raw: string | null }
  /**
   * digits: in the current part (integral, fraction or exponent); bounds (no exponent then); txt: the text so far when
   * bounded or kept (an item of a uniqueItems array, as is a string's raw text: its value is compared when complete)
   */
  | { t: 'num'; integer: boolean; phase: NumPhase; digits: number; bounds: Bounds | null; txt: string; keep: boolean }
  /** the texts still matching, `pos` UTF-16 units in */
  | { t: 'lit'; texts: readonly string[]; pos: number };

export interface MachineState {
  /** empty: the top-level value is complete */
  readonly stack: readonly Frame[];
  /** the whitespace just read: 0 none, 1 a space (no more), 2 + n a newline and n indentation characters */
  readonly ws: number;
}

export const MAX_INDENT = 20;
export const MAX_DIGITS = MAX_NUMBER_DIGITS;

const ANY_PARTS: readonly SchemaNode[] = [
  { kind: 'object', props: new Map(), required: new Set(), extra: { kind: 'any' } },
  { kind: 'array', prefix: [], items: { kind: 'any' }, min: 0, max: Infinity },
  { kind: 'string', min: 0, max: Infinity, pattern: null },
  { kind: 'number', integer: false, bounds: null },
  { kind: 'literal', texts: ['true', 'false', 'null'] },
];

/** The states before any text: a JSON value of `node`, or (`raw`) exactly one of a literal node's texts, nothing around it. */
export function initialStates(node: SchemaNode, raw = false): MachineState[] {
  if (!raw) return [{ stack: [{ t: 'value', node }], ws: 0 }];
  if (node.kind !== 'literal') throw new Error('initialStates: raw needs a literal node');
  const out: MachineState[] = [];
  if (node.texts.some((t) => t.length === 0)) out.push({ stack: [], ws: 0 });
  const texts = node.texts.filter((t) => t.length > 0);
  if (texts.length > 0) out.push({ stack: [{ t: 'lit', texts, pos: 0 }], ws: 0 });
  return out;
}

/** The states after `text`. */
export function feed(states: readonly MachineState[], text: string): MachineState[] {
  let cur = states as MachineState[];
  for (const ch of text) {
    if (cur.length === 0) return cur;
    cur = step(cur, ch);
  }
  return cur;
}

export function step(states: readonly MachineState[], ch: string): MachineState[] {
  const out: MachineState[] = [];
  for (const s of states) stepOne(s, ch, out);
  return out;
}

/** The text so far is a complete value (generation may end here). */
export const accepting = (states: readonly MachineState[]): boolean =>
  states.some((s) => s.stack.length === 0 || (s.stack.length === 1 && s.stack[0]!.t === 'num' && numWithin(s.stack[0]!)));

/** Nothing can follow: every state is complete. */
export const finished = (states: readonly MachineState[]): boolean => states.length > 0 && states.every((s) => s.stack.length === 0);

const isWs = (ch: string): boolean => ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r';
const isDigit = (ch: string): boolean => ch >= '0' && ch <= '9';
const isHex = (ch: string): boolean => isDigit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
const numDone = (p: NumPhase): boolean => p === 'zero' || p === 'int' || p === 'frac' || p === 'exp';
const ESCAPES = '"\\/bfnrt';
/** what each escape letter stands for */
const ESCAPED: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

const push = (base: readonly Frame[], f: Frame): Frame[] => [...base, f];
const withTop = (stack: readonly Frame[], f: Frame): Frame[] => [...stack.slice(0, -1), f];

function stepOne(s: MachineState, ch: string, out: MachineState[]): void {
  const stack = s.stack;
  const top = stack[stack.length - 1];
  if (!top) return; // complete: nothing may follow
  const base = stack.slice(0, -1);
  const ws = (): void => {
    const next = s.ws === 0 ? (ch === ' ' ? 1 : ch === '\n' ? 2 : -1) : s.ws >= 2 && s.ws - 2 < MAX_INDENT && (ch === ' ' || ch === '\t') ? s.ws + 1 : -1;
    if (next > 0) out.push({ stack, ws: next });
  };
  switch (top.t) {
    case 'value':
      if (isWs(ch)) return base.length > 0 ? ws() : undefined; // none before the top-level value
      return startValue(base, top.node, ch, out);
    case 'str':
      return strChar(
        top.esc,
        ch,
        (esc) => {
          const len = top.esc === 0 ? top.len + 1 : top.len; // a character, or the first of its escape
          if (len > top.max) return;
          const cu = top.esc >= 2 ? top.cu * 16 + parseInt(ch, 16) : 0;
          let rs = top.rs;
          if (top.re && esc === 0) {
            // a character is complete: the pattern reads it decoded
            rs = regexStepCached(top.re, top.rs!, top.esc === 0 ? ch : top.esc === 1 ? ESCAPED[ch]! : String.fromCharCode(cu));
            if (rs === null || regexCharsToAccept(top.re, rs) > top.max - len) return; // no match within maxLength
          } else if (top.re && !escapeViable(top.re, rs!, esc, cu, top.max - len)) return; // an escape no decoding of which the pattern takes within maxLength
          out.push({ stack: withTop(stack, { ...top, esc, len, rs, cu, raw: top.raw === null ? null : top.raw + ch }), ws: 0 });
        },
        () => {
          if (top.len >= top.min && (top.re === null || regexAccepting(top.re, top.rs!))) pushComplete(base, top.raw === null ? null : `"${top.raw}"`, out);
        },
      );
    case 'key':
      return keyChar(top, base, ch, out);
    case 'num':
      return numChar(top, base, ch, out);
    case 'lit': {
      const texts = top.texts.filter((t) => t.startsWith(ch, top.pos));
      const pos = top.pos + ch.length; // two units past a character beyond U+FFFF
      const whole = texts.find((t) => t.length === pos);
      if (whole !== undefined) pushComplete(base, whole, out);
      const longer = texts.filter((t) => t.length > pos);
      if (longer.length > 0) out.push({ stack: withTop(stack, { t: 'lit', texts: longer, pos }), ws: 0 });
      return;
    }
    case 'obj': {
      if (isWs(ch)) return ws();
      const o = top;
      if (o.phase === 'colon') {
        if (ch === ':') out.push({ stack: push(withTop(stack, { ...o, phase: 'value' }), { t: 'value', node: o.node.props.get(o.key) ?? o.node.extra! }), ws: 0 });
        return;
      }
      if (ch === '"' && (o.phase === 'first' || o.phase === 'comma') && keysLeft(o.node, o.used)) {
        out.push({ stack: push(withTop(stack, { ...o, phase: 'key' }), { t: 'key', node: o.node, used: o.used, text: '', esc: 0 }), ws: 0 });
        return;
      }
      if (ch === ',' && o.phase === 'after' && keysLeft(o.node, o.used)) out.push({ stack: withTop(stack, { ...o, phase: 'comma' }), ws: 0 });
      if (ch === '}' && (o.phase === 'first' || o.phase === 'after') && o.used.length >= (o.node.minProps ?? 0) && [...o.node.required].every((k) => o.used.includes(k))) pushComplete(base, null, out);
      return;
    }
    case 'arr': {
      if (isWs(ch)) return ws();
      const a = top;
      if (ch === ']' && (a.phase === 'first' || a.phase === 'after') && a.count >= a.node.min) return pushComplete(base, null, out);
      if (ch === ',' && a.phase === 'after' && a.count < a.node.max && itemLeft(a)) return void out.push({ stack: push(withTop(stack, { ...a, phase: 'item' }), { t: 'value', node: itemNode(a.node, a.count) }), ws: 0 });
      if (a.phase === 'first' && a.node.max > 0) startValue(withTop(stack, { ...a, phase: 'item' }), itemNode(a.node, 0), ch, out);
      return;
    }
  }
}

/** The schema of an array's item at index i: its tuple position, then `items`. */
export const itemNode = (node: ArrNode, i: number): SchemaNode => node.prefix[i] ?? node.items;

/** `ch` as the first character of a value of `node`, above `base`. */
function startValue(base: readonly Frame[], node: SchemaNode, ch: string, out: MachineState[]): void {
  switch (node.kind) {
    case 'any':
      for (const p of ANY_PARTS) startValue(base, p, ch, out);
      return;
    case 'union':
      for (const p of node.of) startValue(base, p, ch, out);
      return;
    case 'ref':
      startValue(base, node.target!, ch, out); // a cycle without an object or array between is refused when compiled
      return;
    case 'object':
      if (ch === '{') out.push({ stack: push(base, { t: 'obj', node, phase: 'first', used: [], key: '' }), ws: 0 });
      return;
    case 'array':
      if (ch === '[') out.push({ stack: push(base, { t: 'arr', node, phase: 'first', count: 0, seen: node.unique ? [] : null }), ws: 0 });
      return;
    case 'string':
      if (ch !== '"' || (node.pattern && regexCharsToAccept(node.pattern, node.pattern.start) > node.max)) return; // a pattern no string within maxLength matches
      out.push({ stack: push(base, { t: 'str', esc: 0, len: 0, min: node.min, max: node.max, re: node.pattern, rs: node.pattern?.start ?? null, cu: 0, raw: seenOf(base) ? '' : null }), ws: 0 });
      return;
    case 'number': {
      if (ch !== '-' && !isDigit(ch)) return;
      const keep = seenOf(base) !== null;
      const txt = node.bounds || keep ? ch : '';
      if (node.bounds && !viable(prefixOf(txt), node.bounds, node.integer, MAX_DIGITS)) return;
      const phase: NumPhase = ch === '-' ? 'sign' : ch === '0' ? 'zero' : 'int';
      out.push({ stack: push(base, { t: 'num', integer: node.integer, phase, digits: ch === '-' ? 0 : 1, bounds: node.bounds, txt, keep }), ws: 0 });
      return;
    }
    case 'literal': {
      // an item of a uniqueItems array: the values already written are not offered again
      const seen = seenOf(base);
      const texts = seen === null ? node.texts : node.texts.filter((t) => !seen.includes(canonicalJson(t)));
      if (texts.length > 0) stepOne({ stack: push(base, { t: 'lit', texts, pos: 0 }), ws: 0 }, ch, out);
      return;
    }
  }
}

/** Another item can follow: under uniqueItems, the next item's schema still has a value not written (json-schema.ts allows only scalars there). */
function itemLeft(a: Extract<Frame, { t: 'arr' }>): boolean {
  const seen = a.seen;
  return seen === null || alternativesOf(itemNode(a.node, a.count)).some((p) => p.kind !== 'literal' || p.texts.some((t) => !seen.includes(canonicalJson(t))));
}

/** The values of a uniqueItems array written so far, when `base` is one reading its next item; else null. */
function seenOf(base: readonly Frame[]): readonly string[] | null {
  const top = base[base.length - 1];
  return top?.t === 'arr' ? top.seen : null;
}


/**
 * The value on top of `base` is complete (its JSON text `value` when kept): its parent moves on. Null when it repeats
 * an item of a uniqueItems array.
 */
function complete(base: readonly Frame[], value: string | null = null): MachineState | null {
  const parent = base[base.length - 1];
  if (!parent) return { stack: [], ws: 0 };
  if (parent.t === 'obj') return { stack: withTop(base, { ...parent, phase: 'after', used: [...parent.used, parent.key], key: '' }), ws: 0 };
  if (parent.t === 'arr') {
    let seen = parent.seen;
    if (seen !== null && value !== null) {
      const v = canonicalJson(value);
      if (seen.includes(v)) return null;
      seen = [...seen, v];
    }
    return { stack: withTop(base, { ...parent, phase: 'after', count: parent.count + 1, seen }), ws: 0 };
  }
  throw new Error(`json-machine: a value completed inside a ${parent.t} frame`);
}

function pushComplete(base: readonly Frame[], value: string | null, out: MachineState[]): void {
  const done = complete(base, value);
  if (done) out.push(done);
}

/** A string's character: `next(esc)` continues, `close()` on the closing quote; anything else is dead. */
function strChar(esc: number, ch: string, next: (esc: number) => void, close: () => void): void {
  if (esc === 0) {
    if (ch === '"') return close();
    if (ch === '\\') return next(1);
    if (ch.charCodeAt(0) < 0x20) return;
    return next(0);
  }
  if (esc === 1) {
    if (ch === 'u') return next(2);
    if (ESCAPES.includes(ch)) return next(0);
    return;
  }
  if (isHex(ch)) next(esc === 5 ? 0 : esc + 1);
}

/**
 * A partly read escape (esc 1: after the backslash; 2–5: after \u and esc − 2 hex digits, `cu` their value) can
 * still decode to a character the pattern's state takes and after which a match is at most `room` more characters
 * away (maxLength), so the string never walks into a dead end.
 */
function escapeViable(re: Regex, rs: Int32Array, esc: number, cu: number, room: number): boolean {
  const fits = (next: Int32Array | null): boolean => next !== null && regexCharsToAccept(re, next) <= room;
  const fitsIn = (lo: number, hi: number): boolean => regexStepsIn(re, rs, lo, hi).some(fits);
  if (esc === 1) return [...ESCAPES].some((e) => fits(regexStep(re, rs, ESCAPED[e]!))) || fitsIn(0, 0xffff);
  const span = 16 ** (6 - esc); // hex digits still to come: 6 − esc
  return fitsIn(cu * span, cu * span + span - 1);
}

/** Room for another key (maxProperties), and declared keys not used yet or any key when extra keys are allowed. */
function keysLeft(node: ObjNode, used: readonly string[]): boolean {
  return used.length < (node.maxProps ?? Infinity) && (node.extra !== null || [...node.props.keys()].some((k) => !used.includes(k)));
}

type KeyFrame = Extract<Frame, { t: 'key' }>;

/**
 * The names a key being read may still become, or null for any: declared keys not used yet, any key where extra keys
 * are allowed, and only the missing required keys once maxProperties leaves room for no others.
 */
export function keyNames(k: KeyFrame): string[] | null {
  const missing = [...k.node.required].filter((n) => !k.used.includes(n));
  if (k.used.length + missing.length >= (k.node.maxProps ?? Infinity)) return missing;
  return k.node.extra !== null ? null : [...k.node.props.keys()].filter((n) => !k.used.includes(n));
}

function keyChar(k: KeyFrame, base: readonly Frame[], ch: string, out: MachineState[]): void {
  const only = keyNames(k);
  const restricted = only !== null;
  const names = only ?? [];
  if (k.esc === 0 && ch === '"') {
    if (k.used.includes(k.text) || (restricted && !names.includes(k.text))) return;
    const obj = base[base.length - 1] as Extract<Frame, { t: 'obj' }>;
    out.push({ stack: withTop(base, { ...obj, phase: 'colon', key: k.text }), ws: 0 });
    return;
  }
  if (restricted) {
    if (ch === '\\' || ch.charCodeAt(0) < 0x20) return;
    const text = k.text + ch;
    if (names.some((n) => n.startsWith(text))) out.push({ stack: [...base, { ...k, text }], ws: 0 });
    return;
  }
  strChar(k.esc, ch, (esc) => out.push({ stack: [...base, { ...k, text: k.text + ch, esc }], ws: 0 }), () => undefined);
}

/** A complete number within its bounds (none: any). */
const numWithin = (n: Extract<Frame, { t: 'num' }>): boolean => numDone(n.phase) && (n.bounds === null || within(prefixOf(n.txt), n.bounds));

function numChar(n: Extract<Frame, { t: 'num' }>, base: readonly Frame[], ch: string, out: MachineState[]): void {
  const to = (phase: NumPhase, digits = 0): void => {
    if (n.bounds === null) return void out.push({ stack: [...base, { ...n, phase, digits, txt: n.keep ? n.txt + ch : n.txt }], ws: 0 });
    // bounded: no exponent, and only a text that can still end within the bounds
    const txt = n.txt + ch;
    if (phase === 'e' || phase === 'esign' || phase === 'exp' || !viable(prefixOf(txt), n.bounds, n.integer, MAX_DIGITS)) return;
    out.push({ stack: [...base, { ...n, phase, digits, txt }], ws: 0 });
  };
  const p = n.phase;
  if (isDigit(ch)) {
    if (p === 'sign') return to(ch === '0' ? 'zero' : 'int', 1);
    if (p === 'int' || p === 'frac' || p === 'exp') return n.digits < MAX_DIGITS ? to(p, n.digits + 1) : undefined;
    if (p === 'dot') return to('frac', 1);
    if (p === 'e' || p === 'esign') return to('exp', 1);
    // after a leading zero a digit is not JSON
  } else if (ch === '.' && !n.integer && (p === 'zero' || p === 'int')) return to('dot');
  else if ((ch === 'e' || ch === 'E') && !n.integer && (p === 'zero' || p === 'int' || p === 'frac')) return to('e');
  else if ((ch === '+' || ch === '-') && p === 'e') return to('esign');
  if (!numWithin(n)) return;
  const done = complete(base, n.keep ? n.txt : null); // the number ended before ch: the parent reads it
  if (done) stepOne(done, ch, out);
}
