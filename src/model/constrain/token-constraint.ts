/**
 * Constrained decoding at the token level: which vocabulary tokens keep the text a prefix of what
 * a recogniser (recognizer.ts: JSON of a schema, a choice, a regular expression) accepts. The vocabulary's texts (as each token reads inside a
 * sequence) go into a character trie once per tokenizer; `allowed()` walks it with the recogniser's
 * state, so a shared prefix is read once and a dead branch is cut at its first character (the
 * outlines / llama.cpp-grammar approach, without precompiled indexes). Inside a string, where most of
 * a vocabulary is allowed, the tokens of plain characters (no quote, backslash, control character or DEL)
 * come from a list sorted by length (allowed while the string's maxLength has room) and only the
 * others are walked: a walk of the whole trie there took 36.5 ms against 0.68 ms on a 15,454-token
 * vocabulary (`npm run bench:constrain`, docs/serve.md). Tokens whose text is not
 * whole characters (a byte-level piece of a multi-byte UTF-8 character) and special tokens are
 * never allowed; a byte-level vocabulary still spells every ASCII text.
 */
import type { Tokenizer } from '../tokenizer.js';
import type { Recognizer } from './recognizer.js';

interface TrieNode {
  children: Map<string, TrieNode>;
  /** tokens whose text ends here */
  ids: number[];
}

export interface VocabTrie {
  root: TrieNode;
  /** per id: its text inside a sequence, or null (special, partial character, empty) */
  texts: readonly (string | null)[];
  /** the tokens of plain string characters, by ascending length in characters, and those lengths */
  plainIds: Int32Array;
  plainLens: Int32Array;
  /** a trie of the other tokens */
  special: TrieNode;
}

/**
 * A plain character: not a quote, a backslash or a control character (below 0x20, or DEL). A JSON string takes
 * it as is; a recogniser's room() counts these (a DEL token is walked, which is always exact).
 */
export const plainCode = (cp: number): boolean => cp >= 0x20 && cp !== 0x22 && cp !== 0x5c && cp !== 0x7f;
const plainChar = (ch: string): boolean => plainCode(ch.codePointAt(0)!);

/** A trie of `texts` (index = token id). Pure. */
export function buildTrie(texts: readonly (string | null)[]): VocabTrie {
  const root: TrieNode = { children: new Map(), ids: [] };
  const special: TrieNode = { children: new Map(), ids: [] };
  const add = (at: TrieNode, t: string, id: number): void => {
    let n = at;
    for (const ch of t) {
      let c = n.children.get(ch);
      if (!c) n.children.set(ch, (c = { children: new Map(), ids: [] }));
      n = c;
    }
    n.ids.push(id);
  };
  const plain: [number, number][] = [];
  texts.forEach((t, id) => {
    if (!t) return;
    add(root, t, id);
    const chars = [...t];
    if (chars.every(plainChar)) plain.push([id, chars.length]);
    else add(special, t, id);
  });
  plain.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  return { root, texts, plainIds: Int32Array.from(plain, (p) => p[0]), plainLens: Int32Array.from(plain, (p) => p[1]), special };
}

const tries = new WeakMap<Tokenizer, VocabTrie>();

/** The tokenizer's trie, built on first use (2 decodes per token). */
export function vocabTrie(tok: Tokenizer): VocabTrie {
  let t = tries.get(tok);
  if (!t) tries.set(tok, (t = buildTrie(tok.tokenTexts())));
  return t;
}

/** One sequence's constraint: the recogniser's state, moved on by each token chosen (null: dead). */
export class TokenConstraint<S = unknown> {
  private state: S | null;

  constructor(
    private readonly trie: VocabTrie,
    private readonly rec: Recognizer<S>,
  ) {
    this.state = rec.initial();
  }

  /** The text so far is complete: the sequence may end here. */
  get accepting(): boolean {
    return this.state !== null && this.rec.accepting(this.state);
  }

  /** Nothing may follow: the sequence ends. */
  get finished(): boolean {
    return this.state !== null && this.rec.finished(this.state);
  }

  /** Every token id that keeps the text acceptable, in no particular order. */
  allowed(): number[] {
    const out: number[] = [];
    const rec = this.rec;
    const walk = (n: TrieNode, state: S): void => {
      for (const [ch, child] of n.children) {
        const next = rec.step(state, ch);
        if (next === null) continue;
        for (const id of child.ids) out.push(id);
        walk(child, next);
      }
    };
    if (this.state === null) return out;
    const room = rec.room?.(this.state) ?? null;
    if (room === null) {
      walk(this.trie.root, this.state);
      return out;
    }
    const { plainIds, plainLens } = this.trie;
    for (let i = 0; i < plainIds.length && (plainLens[i] as number) <= room; i++) out.push(plainIds[i] as number);
    walk(this.trie.special, this.state);
    return out;
  }

  advance(id: number): void {
    const t = this.trie.texts[id];
    let s = t ? this.state : null;
    for (const ch of t ?? '') {
      if (s === null) break;
      s = this.rec.step(s, ch);
    }
    this.state = s;
  }
}

/** A GenerateOpts.constraint: a fresh TokenConstraint per sequence, on the tokenizer's (shared) trie. */
export function constraintFor<S>(tok: Tokenizer, rec: Recognizer<S>): () => TokenConstraint<S> {
  const trie = vocabTrie(tok);
  return () => new TokenConstraint(trie, rec);
}
