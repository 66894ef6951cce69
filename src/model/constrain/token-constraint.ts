/**
 * Constrained decoding at the token level: which vocabulary tokens keep the text a prefix of what
 * the machine (json-machine.ts) accepts. The vocabulary's texts (as each token reads inside a
 * sequence) go into a character trie once per tokenizer; `allowed()` walks it with the machine's
 * states, so a shared prefix is read once and a dead branch is cut at its first character (the
 * outlines / llama.cpp-grammar approach, without precompiled indexes). Inside a string, where most of
 * a vocabulary is allowed, the tokens of plain characters (no quote, backslash or control character)
 * come from a list sorted by length (allowed while the string's maxLength has room) and only the
 * others are walked: a walk of the whole trie there took 36.5 ms against 0.68 ms on a 15,454-token
 * vocabulary (`npm run bench:constrain`, docs/serve.md). Tokens whose text is not
 * whole characters (a byte-level piece of a multi-byte UTF-8 character) and special tokens are
 * never allowed; a byte-level vocabulary still spells every ASCII text.
 */
import type { Tokenizer } from '../tokenizer.js';
import { accepting, feed, finished, initialStates, step, type MachineState } from './json-machine.js';
import type { SchemaNode } from './json-schema.js';

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

/** A character a JSON string takes as is. */
const plainChar = (ch: string): boolean => ch !== '"' && ch !== '\\' && ch.charCodeAt(0) >= 0x20;

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

/** One sequence's constraint: its machine states, moved on by each token chosen. */
export class TokenConstraint {
  private states: MachineState[];

  constructor(
    private readonly trie: VocabTrie,
    node: SchemaNode,
    raw = false,
  ) {
    this.states = initialStates(node, raw);
  }

  /** The text so far is complete: the sequence may end here. */
  get accepting(): boolean {
    return accepting(this.states);
  }

  /** Nothing may follow: the sequence ends. */
  get finished(): boolean {
    return finished(this.states);
  }

  /** Every token id that keeps the text acceptable, in no particular order. */
  allowed(): number[] {
    const out: number[] = [];
    const walk = (n: TrieNode, states: MachineState[]): void => {
      for (const [ch, child] of n.children) {
        const next = step(states, ch);
        if (next.length === 0) continue;
        for (const id of child.ids) out.push(id);
        walk(child, next);
      }
    };
    if (this.states.length === 0) return out;
    const room = stringRoom(this.states);
    if (room === null) {
      walk(this.trie.root, this.states);
      return out;
    }
    const { plainIds, plainLens } = this.trie;
    for (let i = 0; i < plainIds.length && (plainLens[i] as number) <= room; i++) out.push(plainIds[i] as number);
    walk(this.trie.special, this.states);
    return out;
  }

  advance(id: number): void {
    const t = this.trie.texts[id];
    this.states = t ? feed(this.states, t) : [];
  }
}

/**
 * When the one state is inside a string (a value's, or a key of an object that takes any key) and not
 * in an escape: how many more plain characters it takes (Infinity without maxLength); else null.
 */
function stringRoom(states: readonly MachineState[]): number | null {
  if (states.length !== 1) return null;
  const top = states[0]!.stack.at(-1);
  if (top?.t === 'str' && top.esc === 0) return top.max - top.len;
  if (top?.t === 'key' && top.esc === 0 && top.node.extra !== null) return Infinity;
  return null;
}

/** A GenerateOpts.constraint: a fresh TokenConstraint per sequence, on the tokenizer's (shared) trie. */
export function constraintFor(tok: Tokenizer, node: SchemaNode, raw = false): () => TokenConstraint {
  const trie = vocabTrie(tok);
  return () => new TokenConstraint(trie, node, raw);
}
