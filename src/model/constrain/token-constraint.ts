/**
 * Constrained decoding at the token level: which vocabulary tokens keep the text a prefix of what
 * a recogniser (recognizer.ts: JSON of a schema, a choice, a regular expression, a grammar) accepts. The
 * vocabulary's bytes (as each token reads inside a sequence) go into a byte trie once per tokenizer;
 * `allowed()` walks it with the recogniser's state and the character in progress (utf8.ts), so a shared
 * prefix is read once and a dead branch is cut at its first byte (the outlines / llama.cpp-grammar
 * approach, without precompiled indexes). A byte-level token that ends inside a multi-byte character (half
 * of a CJK character, a <0xE4> fallback byte) is allowed when some character with those bytes is one the
 * recogniser takes (Recognizer.takesIn), and the next token must finish it. Inside a string, where most of
 * a vocabulary is allowed, the tokens of plain characters (no quote, backslash, control character or DEL;
 * a trailing piece of a character counts as one) come from a list sorted by length (allowed while the
 * string's maxLength has room) and only the others are walked: a walk of the whole trie there took 36.5 ms
 * against 0.68 ms on a 15,454-token vocabulary (`npm run bench:constrain`, docs/serve.md). Special tokens
 * and tokens that cannot be part of valid UTF-8 are never allowed.
 */
import type { Tokenizer } from '../tokenizer.js';
import type { Recognizer } from './recognizer.js';
import { flatTrie, type FlatTrie } from './flat-trie.js';
import { pricePlain, sortedByCost, type Priced } from './priced-walk.js';
import { BETWEEN, codePointOf, feedByte, needOf, pendingRanges } from './utf8.js';

/** the longest plain token served from the list, a plainKey cache or a priced plainWalk; longer ones (rare) are walked with the others */
export const MAX_PLAIN_CHARS = 256;

/** plainKey and plainWalk caches past this many keys per recogniser are dropped (caches: correctness does not depend on them) */
const MAX_KEYS = 256;

export interface VocabTrie {
  /** every token that can be part of valid UTF-8 */
  root: FlatTrie;
  /** per id: its UTF-8 bytes inside a sequence, or null (special, empty, or never valid UTF-8) */
  bytes: readonly (Uint8Array | null)[];
  /** the tokens of plain string characters, by ascending length in characters, and those lengths */
  plainIds: Int32Array;
  plainLens: Int32Array;
  /** a trie of the other tokens */
  special: FlatTrie;
}

/**
 * A plain character: not a quote, a backslash or a control character (below 0x20, or DEL). A JSON string takes
 * it as is; a recogniser's room() counts these (a DEL token is walked, which is always exact).
 */
export const plainCode = (cp: number): boolean => cp >= 0x20 && cp !== 0x22 && cp !== 0x5c && cp !== 0x7f;

/** one-character strings of the code points below 0x80, built once: the walk's common case */
const ASCII = Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c));
const charOf = (cp: number): string => (cp < 0x80 ? ASCII[cp]! : String.fromCodePoint(cp));

const utf8 = new TextEncoder();

/** A continuation byte may follow a character in progress: the only way a token can start with one. */
const leadsWithContinuation = (bytes: Uint8Array): boolean => ((bytes[0] ?? 0) & 0xc0) === 0x80;

/**
 * A token starting between characters: its length in characters (a trailing piece counts as one) when every
 * character is plain; −1 when some character is not plain or it starts with a continuation byte; −2 when no
 * text can contain these bytes.
 */
function plainLength(bytes: Uint8Array): number {
  if (leadsWithContinuation(bytes)) return -1; // it may end a character begun by an earlier token
  let p = BETWEEN;
  let n = 0;
  let plain = true;
  for (const b of bytes) {
    if (p === BETWEEN) n++;
    p = feedByte(p, b);
    if (p < 0) return -2;
    if (needOf(p) === 0) {
      plain &&= plainCode(codePointOf(p));
      p = BETWEEN;
    }
  }
  return plain ? n : -1;
}

/** A trie of `tokens` (index = token id; a string is read as its UTF-8). Pure. */
export function buildTrie(tokens: readonly (string | Uint8Array | null)[]): VocabTrie {
  const plain: [number, number][] = [];
  const valid: number[] = [];
  const other: number[] = [];
  const bytes = tokens.map((t, id) => {
    const b = t === null ? null : typeof t === 'string' ? utf8.encode(t) : t;
    if (!b || b.length === 0) return null;
    const len = plainLength(b);
    if (len === -2) return null; // invalid wherever it stands
    valid.push(id);
    if (len >= 0 && len <= MAX_PLAIN_CHARS) plain.push([id, len]);
    else other.push(id);
    return b;
  });
  plain.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const bytesOf = (id: number): Uint8Array => bytes[id]!;
  return { root: flatTrie(valid, bytesOf), bytes, plainIds: Int32Array.from(plain, (p) => p[0]), plainLens: Int32Array.from(plain, (p) => p[1]), special: flatTrie(other, bytesOf) };
}

const plainTries = new WeakMap<VocabTrie, FlatTrie>();

/** A trie of the list's plain tokens, built on first use by a plainKey or a plainWalk. */
function plainTrie(trie: VocabTrie): FlatTrie {
  let t = plainTries.get(trie);
  if (!t) plainTries.set(trie, (t = flatTrie(trie.plainIds, (id) => trie.bytes[id]!)));
  return t;
}

type Caches<T> = WeakMap<VocabTrie, WeakMap<object, Map<string, T>>>;
/** per trie and recogniser: the plain tokens allowed per plainKey */
const keyCaches: Caches<Int32Array> = new WeakMap();
/** per trie and recogniser: the plain tokens priced per PlainWalk key */
const walkCaches: Caches<Priced> = new WeakMap();

/** One trie's and one recogniser's cache in `caches`. */
function cacheOf<T>(caches: Caches<T>, trie: VocabTrie, rec: object): Map<string, T> {
  let byRec = caches.get(trie);
  if (!byRec) caches.set(trie, (byRec = new WeakMap()));
  let m = byRec.get(rec);
  if (!m) byRec.set(rec, (m = new Map()));
  return m;
}

const tries = new WeakMap<Tokenizer, VocabTrie>();

/** The tokenizer's trie, built on first use (from Tokenizer.tokenBytes). */
export function vocabTrie(tok: Tokenizer): VocabTrie {
  let t = tries.get(tok);
  if (!t) tries.set(tok, (t = buildTrie(tok.tokenBytes())));
  return t;
}

/** One sequence's constraint: the recogniser's state and the character in progress, moved on by each token chosen. */
export class TokenConstraint<S = unknown> {
  /** null: dead */
  private state: S | null;
  /** utf8.ts: BETWEEN, or a character in progress */
  private pend = BETWEEN;

  constructor(
    private readonly trie: VocabTrie,
    private readonly rec: Recognizer<S>,
  ) {
    this.state = rec.initial();
  }

  /** The text so far is complete: the sequence may end here. */
  get accepting(): boolean {
    return this.state !== null && this.pend === BETWEEN && this.rec.accepting(this.state);
  }

  /** Nothing may follow: the sequence ends. */
  get finished(): boolean {
    return this.state !== null && this.pend === BETWEEN && this.rec.finished(this.state);
  }

  /** Some character the bytes in progress `p` can still become steps `s`. */
  private viable(s: S, p: number): boolean {
    return pendingRanges(p).some(([lo, hi]) => this.rec.takesIn(s, lo, hi));
  }

  /** Every token id that keeps the text acceptable, in no particular order. */
  allowed(): number[] {
    let out: number[] = [];
    const rec = this.rec;
    // the subtree of node i of t (flat-trie.ts: children from i + 1, each next sibling at the end of the last's subtree)
    const walk = (t: FlatTrie, i: number, state: S, pend: number): void => {
      const { byte, end, idFrom, ids } = t;
      for (let c = i + 1; c < end[i]!; c = end[c]!) {
        const b = byte[c]!;
        let next: S | null;
        let nextPend = BETWEEN;
        if (pend === BETWEEN && b < 0x80) next = rec.step(state, ASCII[b]!); // the common case, without utf8.ts
        else {
          const p = feedByte(pend, b);
          if (p < 0) continue;
          if (needOf(p) === 0) next = rec.step(state, charOf(codePointOf(p)));
          else if (this.viable(state, p)) [next, nextPend] = [state, p];
          else continue;
        }
        if (next === null) continue;
        for (let k = idFrom[c]!; k < idFrom[c + 1]!; k++) out.push(ids[k]!);
        walk(t, c, next, nextPend);
      }
    };
    if (this.state === null) return out;
    const room = this.pend === BETWEEN ? (rec.room?.(this.state) ?? null) : null;
    const pw = room === null && this.pend === BETWEEN ? (rec.plainWalk?.(this.state) ?? null) : null;
    if (pw !== null) {
      // the plain tokens priced from this key, walked once (a regular expression, a pattern's string); those within the room, then the rest
      const cache = cacheOf(walkCaches, this.trie, rec);
      let priced = cache.get(pw.key);
      if (!priced) {
        if (cache.size >= MAX_KEYS) cache.clear();
        cache.set(pw.key, (priced = pricePlain(plainTrie(this.trie), pw)));
      }
      if (pw.room === Infinity) for (const id of priced.ids) out.push(id); // no length limit: every token the walk priced
      else {
        const { ids, costs } = sortedByCost(priced);
        for (let i = 0; i < ids.length && (costs[i] as number) <= pw.room; i++) out.push(ids[i] as number);
      }
      walk(this.trie.special, 0, this.state, BETWEEN);
      return out;
    }
    const key = room === null && this.pend === BETWEEN ? (rec.plainKey?.(this.state) ?? null) : null;
    if (key !== null) {
      // the plain tokens allowed from this key, walked once (a grammar's string), then the rest
      const cache = cacheOf(keyCaches, this.trie, rec);
      let ids = cache.get(key);
      if (!ids) {
        walk(plainTrie(this.trie), 0, this.state, BETWEEN);
        if (cache.size >= MAX_KEYS) cache.clear();
        cache.set(key, (ids = Int32Array.from(out)));
        out = [];
      }
      for (const id of ids) out.push(id);
      walk(this.trie.special, 0, this.state, BETWEEN);
      return out;
    }
    if (room === null) {
      walk(this.trie.root, 0, this.state, this.pend);
      return out;
    }
    const { plainIds, plainLens } = this.trie;
    for (let i = 0; i < plainIds.length && (plainLens[i] as number) <= room; i++) out.push(plainIds[i] as number);
    walk(this.trie.special, 0, this.state, BETWEEN);
    return out;
  }

  advance(id: number): void {
    const bytes = this.trie.bytes[id];
    let s = bytes ? this.state : null;
    for (const b of bytes ?? []) {
      if (s === null) break;
      const p = feedByte(this.pend, b);
      if (p < 0) s = null;
      else if (needOf(p) === 0) {
        s = this.rec.step(s, charOf(codePointOf(p)));
        this.pend = BETWEEN;
      } else if (this.viable(s, p)) this.pend = p;
      else s = null;
    }
    this.state = s;
  }
}

/** A GenerateOpts.constraint: a fresh TokenConstraint per sequence, on the tokenizer's (shared) trie. */
export function constraintFor<S>(tok: Tokenizer, rec: Recognizer<S>): () => TokenConstraint<S> {
  const trie = vocabTrie(tok);
  return () => new TokenConstraint(trie, rec);
}
