/**
 * A GBNF grammar (gbnf.ts) as a recogniser: llama.cpp's pushdown method. The alternatives are laid out in one
 * array of elements, each alternative closed by END; a parse is a stack of positions in it, whose top is a
 * character test; a state is the set of stacks the text so far can be in (the empty stack, ACCEPT, when the
 * text may end here). A character keeps the stacks whose top accepts it, each advanced and expanded until its
 * top is a character test again (a rule reference pushes the position after it and opens each alternative;
 * END pops). A reference that ends its alternative does not push (tail position), so right recursion — every
 * rewritten repetition — keeps the stack flat.
 *
 * Stacks are hash-consed (one object per distinct stack), so a state's set is a set of objects, and expansions
 * are memoised per (position, rest of stack). Left recursion, where a rule can reach itself before reading a
 * character, would expand forever: it is refused when the grammar is compiled (WISE_BAD_SCHEMA naming the
 * cycle), as llama.cpp refuses it. Pure.
 */
import { WiseError } from '../../util/errors.js';
import { covers, meets, rangesOf } from './char-ranges.js';
import { parseGbnf, type Element, type Grammar } from './gbnf.js';
import type { Recognizer } from './recognizer.js';
import { plainCode } from './token-constraint.js';

/** A stack: the top position and the rest (null: the bottom). */
export interface Stack {
  readonly pos: number;
  readonly next: Stack | null;
  readonly id: number;
}

type Flat = { k: 'chars'; ranges: readonly (readonly [number, number])[]; neg: boolean } | { k: 'rule'; id: number } | { k: 'end' };

/** The empty stack: the text may end here. */
const ACCEPT: Stack = { pos: -1, next: null, id: -1 };

/** memo tables past this many entries are dropped (they are caches: correctness does not depend on them) */
const MAX_CACHE = 500_000;

/** Whether code points lo..hi include a plain character (plainCode); the non-plain ones below 0x20 aside are isolated points. */
function meetsPlain(lo: number, hi: number): boolean {
  for (let c = Math.max(lo, 0x20); c <= hi && c <= Math.max(lo, 0x20) + 3; c++) if (plainCode(c)) return true;
  return false;
}

/** Rules that can match the empty text. */
function nullable(g: Grammar): boolean[] {
  const n = g.rules.map(() => false);
  for (let changed = true; changed; ) {
    changed = false;
    g.rules.forEach((alts, id) => {
      if (!n[id] && alts.some((a) => a.every((e) => e.k === 'rule' && n[e.id]))) changed = n[id] = true;
    });
  }
  return n;
}

/** Throws WISE_BAD_SCHEMA when a rule can reach itself before a character (left recursion), naming the cycle. */
function checkLeftRecursion(g: Grammar): void {
  const nul = nullable(g);
  // first[a]: the rules `a` may start with (a reference preceded only by rules that can match nothing)
  const first = g.rules.map((alts) => {
    const out = new Set<number>();
    for (const a of alts) {
      for (const e of a) {
        if (e.k !== 'rule') break;
        out.add(e.id);
        if (!nul[e.id]) break;
      }
    }
    return [...out];
  });
  const color = g.rules.map(() => 0); // 0 new, 1 on the path, 2 done
  const path: number[] = [];
  const visit = (r: number): void => {
    color[r] = 1;
    path.push(r);
    for (const s of first[r]!) {
      if (color[s] === 1) {
        const cycle = [...path.slice(path.indexOf(s)), s].map((i) => g.names[i]).join(' → ');
        throw new WiseError('WISE_BAD_SCHEMA', `grammar: rule ${g.names[s]} is left-recursive (${cycle}): it can reach itself before reading a character; rewrite it with repetition`, { rule: g.names[s] });
      }
      if (color[s] === 0) visit(s);
    }
    path.pop();
    color[r] = 2;
  };
  g.rules.forEach((_, r) => {
    if (color[r] === 0) visit(r);
  });
}

export class GrammarRecognizer implements Recognizer<readonly Stack[]> {
  private readonly elems: Flat[] = [];
  /** starts[rule]: the position of each alternative's first element */
  private readonly starts: number[][] = [];
  private readonly root: number;
  private readonly stacks = new Map<string, Stack>();
  private readonly expansions = new Map<string, readonly Stack[]>();
  private nextId = 0;

  constructor(g: Grammar) {
    checkLeftRecursion(g);
    for (const alts of g.rules) {
      this.starts.push(
        alts.map((a: Element[]) => {
          const at = this.elems.length;
          // ranges normalised (char-ranges.ts) so takesIn can ask whether a complement covers a span
          this.elems.push(...a.map((e): Flat => (e.k === 'chars' ? { ...e, ranges: rangesOf(e.ranges) } : e)), { k: 'end' });
          return at;
        }),
      );
    }
    this.root = g.root;
  }

  private cons(pos: number, next: Stack | null): Stack {
    const key = `${pos},${next === null ? -1 : next.id}`;
    let s = this.stacks.get(key);
    if (!s) {
      if (this.stacks.size > MAX_CACHE) this.stacks.clear();
      this.stacks.set(key, (s = { pos, next, id: this.nextId++ }));
    }
    return s;
  }

  /** The stacks with a character test on top (or ACCEPT) that position `pos` over `next` expands to. */
  private expand(pos: number, next: Stack | null): readonly Stack[] {
    const key = `${pos},${next === null ? -1 : next.id}`;
    const hit = this.expansions.get(key);
    if (hit) return hit;
    const e = this.elems[pos]!;
    let out: readonly Stack[];
    if (e.k === 'end') out = next === null ? [ACCEPT] : this.expand(next.pos, next.next);
    else if (e.k === 'chars') out = [this.cons(pos, next)];
    else {
      const after = this.elems[pos + 1]!.k === 'end' ? next : this.cons(pos + 1, next); // tail position: nothing to come back to
      const set = new Set<Stack>();
      for (const s of this.starts[e.id]!) for (const x of this.expand(s, after)) set.add(x);
      out = [...set];
    }
    if (this.expansions.size > MAX_CACHE) this.expansions.clear();
    this.expansions.set(key, out);
    return out;
  }

  initial(): readonly Stack[] {
    const set = new Set<Stack>();
    for (const s of this.starts[this.root]!) for (const x of this.expand(s, null)) set.add(x);
    return [...set];
  }

  step(state: readonly Stack[], ch: string): readonly Stack[] | null {
    const cp = ch.codePointAt(0)!;
    const set = new Set<Stack>();
    for (const s of state) {
      if (s === ACCEPT) continue;
      const e = this.elems[s.pos] as Extract<Flat, { k: 'chars' }>;
      let hit = false;
      for (const [lo, hi] of e.ranges) {
        if (cp >= lo && cp <= hi) {
          hit = true;
          break;
        }
      }
      if (hit === e.neg) continue;
      for (const x of this.expand(s.pos + 1, s.next)) set.add(x);
    }
    return set.size > 0 ? [...set] : null;
  }

  takesIn(state: readonly Stack[], lo: number, hi: number): boolean {
    return state.some((s) => {
      if (s === ACCEPT) return false;
      const e = this.elems[s.pos] as Extract<Flat, { k: 'chars' }>;
      return e.neg ? !covers(e.ranges, lo, hi) : meets(e.ranges, lo, hi);
    });
  }

  /**
   * Infinity when every plain character (token-constraint.ts plainCode) leaves the state as it is — inside a
   * JSON-like string loop `( [^"\\…] | "\\" … )*`: each stack's test takes all plain characters or none, and
   * those that take them expand back to exactly this state (stacks are hash-consed, so "exactly" is identity).
   * Then a token of plain characters is allowed without a walk. Otherwise null.
   */
  room(state: readonly Stack[]): number | null {
    const takers: Stack[] = [];
    for (const s of state) {
      if (s === ACCEPT) return null; // a plain character would end the acceptance
      const e = this.elems[s.pos] as Extract<Flat, { k: 'chars' }>;
      if (e.ranges.some(([lo, hi]) => meetsPlain(lo, hi))) return null; // takes some plain characters but maybe not all
      if (e.neg) takers.push(s); // a complement that excludes no plain character: takes them all
    }
    if (takers.length === 0) return null;
    const after = new Set<Stack>();
    for (const s of takers) for (const x of this.expand(s.pos + 1, s.next)) after.add(x);
    return after.size === state.length && state.every((s) => after.has(s)) ? Infinity : null;
  }

  /** Stacks are hash-consed with ids never reused, so the set of ids names the state (Recognizer.plainKey). */
  plainKey(state: readonly Stack[]): string {
    return state.map((s) => s.id).sort((a, b) => a - b).join(',');
  }

  accepting(state: readonly Stack[]): boolean {
    return state.includes(ACCEPT);
  }

  finished(state: readonly Stack[]): boolean {
    return state.length === 1 && state[0] === ACCEPT;
  }
}

/** A recogniser of the texts a GBNF grammar's root derives; WISE_BAD_SCHEMA for a bad or left-recursive grammar. */
export function grammarRecognizer(text: string): GrammarRecognizer {
  return new GrammarRecognizer(parseGbnf(text));
}
