/**
 * A regular expression's DFA, built lazily over its ε-closed NFA state sets (regex.ts): each set met gets an id, and
 * each (id, code point) transition is computed once by regexStep and then looked up. Constrained decoding steps a
 * recogniser once per trie node of the vocabulary (token-constraint.ts), hundreds of thousands of times for a
 * 150,000-token vocabulary under a permissive pattern, over a handful of sets: the lookup replaces an ε-closure (a
 * Set, a sort and a new array) per node. Also the guided_regex recogniser, whose states are the canonical sets.
 * Pure (the caches are memory, not I/O).
 */
import { regexAccepting, regexCharsToAccept, regexFinished, regexStep, regexTakesIn, compileRegex, type Regex } from './regex.js';
import type { PlainWalk, Recognizer } from './recognizer.js';

/** sets per DFA before a fresh one is started (a cache: results do not depend on it; walkers keep the one they began with) */
const MAX_DFA_STATES = 20_000;

export class RegexDfa {
  private readonly sets: Int32Array[] = [];
  private readonly ids = new Map<string, number>();
  /** the canonical sets handed out, so that their id needs no join */
  private readonly byObj = new WeakMap<Int32Array, number>();
  /** by id: code point → id, −1 where no state takes it */
  private readonly next: Map<number, number>[] = [];
  private readonly needs: number[] = [];

  constructor(readonly re: Regex) {}

  get size(): number {
    return this.sets.length;
  }

  /** The id of `set` (an ε-closed, sorted state set), interned on first sight. */
  id(set: Int32Array): number {
    const known = this.byObj.get(set);
    if (known !== undefined) return known;
    const key = set.join(',');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(set);
      this.ids.set(key, id);
      this.next.push(new Map());
      this.needs.push(regexCharsToAccept(this.re, set));
    }
    this.byObj.set(set, id);
    return id;
  }

  /** The canonical set of an id. */
  set(id: number): Int32Array {
    return this.sets[id]!;
  }

  /** The id after code point `cp`, or −1. */
  step(id: number, cp: number): number {
    const row = this.next[id]!;
    let to = row.get(cp);
    if (to === undefined) {
      const s = regexStep(this.re, this.sets[id]!, String.fromCodePoint(cp));
      to = s === null ? -1 : this.id(s);
      row.set(cp, to);
    }
    return to;
  }

  /** The fewest characters from id's set to a match (Infinity: none). */
  need(id: number): number {
    return this.needs[id]!;
  }
}

const dfas = new WeakMap<Regex, RegexDfa>();

/** The expression's current DFA (a fresh one once the last passed MAX_DFA_STATES sets). */
export function dfaOf(re: Regex): RegexDfa {
  let d = dfas.get(re);
  if (!d || d.size >= MAX_DFA_STATES) dfas.set(re, (d = new RegexDfa(re)));
  return d;
}

/** regexStep through the DFA: the canonical set after `ch`, or null. */
export function regexStepCached(re: Regex, set: Int32Array, ch: string): Int32Array | null {
  const d = dfaOf(re);
  const to = d.step(d.id(set), ch.codePointAt(0)!);
  return to < 0 ? null : d.set(to);
}

/** `pattern`, matched whole, as a Recognizer (WISE_BAD_SCHEMA for what the subset does not cover); states are canonical sets. */
export function regexRecognizer(pattern: string): Recognizer<Int32Array> {
  const re = compileRegex(pattern);
  const start = dfaOf(re).set(dfaOf(re).id(re.start));
  return {
    initial: () => start,
    step: (set, ch) => regexStepCached(re, set, ch),
    takesIn: (set, lo, hi) => regexTakesIn(re, set, lo, hi),
    plainWalk: (set): PlainWalk => {
      // no length limit: every token the DFA steps through is allowed
      const d = dfaOf(re);
      return { key: set.join(','), start: d.id(set), step: (q, cp) => d.step(q, cp), need: () => 0, needIn: (q, lo, hi) => (regexTakesIn(re, d.set(q), lo, hi) ? 1 : null), room: Infinity };
    },
    accepting: (set) => regexAccepting(re, set),
    finished: (set) => regexFinished(re, set),
  };
}
