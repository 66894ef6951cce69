/**
 * Plain tokens priced for a Recognizer.plainWalk (recognizer.ts): one walk of the plain tokens' trie per walk key,
 * each token priced at its characters plus the fewest a match still needs after them, so that any room (maxLength's)
 * allows exactly the tokens priced within it. The trie is walked in its flat depth-first layout (flat-trie.ts). Pure.
 */
import type { FlatTrie } from './flat-trie.js';
import type { PlainWalk } from './recognizer.js';
import { BETWEEN, codePointOf, feedByte, needOf, pendingRanges } from './utf8.js';

/** Token ids and their costs (PlainWalk: characters plus the need after them); `sorted` once a room has asked. */
export interface Priced {
  ids: Int32Array;
  costs: Float64Array;
  sorted: boolean;
}

/** `p` by ascending cost, sorted in place on first use (a room then allows a prefix). */
export function sortedByCost(p: Priced): Priced {
  if (!p.sorted) {
    const order = Array.from(p.ids, (_, i) => i).sort((a, b) => p.costs[a]! - p.costs[b]! || a - b);
    [p.ids, p.costs, p.sorted] = [Int32Array.from(order, (i) => p.ids[i]!), Float64Array.from(order, (i) => p.costs[i]!), true];
  }
  return p;
}

/**
 * Every token of the plain trie that `pw` steps through from its start, priced (recognizer.ts PlainWalk): a token
 * ending between characters costs its characters plus need(q); one ending inside a character, its whole characters
 * plus needIn over what the bytes can still become. Unsorted: a walk without a length limit takes them all.
 */
export function pricePlain(t: FlatTrie, pw: PlainWalk): Priced {
  const { byte, end, idFrom, ids: tokenIds } = t;
  const ids: number[] = [];
  const costs: number[] = [];
  const visit = (i: number, q: number, pend: number, chars: number): void => {
    for (let c = i + 1; c < end[i]!; c = end[c]!) {
      const b = byte[c]!;
      let next = q;
      let nextPend = BETWEEN;
      let cost: number;
      let cp = pend === BETWEEN && b < 0x80 ? b : -1; // the common case, without utf8.ts
      const p = cp >= 0 ? BETWEEN : feedByte(pend, b);
      if (p < 0) continue;
      if (cp < 0 && needOf(p) === 0) cp = codePointOf(p);
      if (cp >= 0) {
        next = pw.step(q, cp);
        if (next < 0) continue;
        cost = chars + 1 + pw.need(next);
      } else {
        let least: number | null = null;
        for (const [lo, hi] of pendingRanges(p)) {
          const m = pw.needIn(q, lo, hi);
          if (m !== null && (least === null || m < least)) least = m;
        }
        if (least === null) continue;
        nextPend = p;
        cost = chars + least;
      }
      for (let k = idFrom[c]!; k < idFrom[c + 1]!; k++) (ids.push(tokenIds[k]!), costs.push(cost));
      visit(c, next, nextPend, nextPend === BETWEEN ? chars + 1 : chars);
    }
  };
  visit(0, pw.start, BETWEEN, 0);
  return { ids: Int32Array.from(ids), costs: Float64Array.from(costs), sorted: false };
}
