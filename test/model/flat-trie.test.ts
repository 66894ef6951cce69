/**
 * flat-trie.ts against a reference built the obvious way: every node is a distinct non-empty prefix of some token,
 * in depth-first order with children by ascending byte, and holds exactly the ids of the tokens equal to it.
 */
import { describe, expect, it } from 'vitest';
import { flatTrie, type FlatTrie } from '../../src/model/constrain/flat-trie.js';
import { Rng } from '../../src/util/rng.js';

/** Each node's path (its bytes from the root, as a comma list) and ids, read from the layout. */
function nodesOf(t: FlatTrie): { path: string; ids: number[] }[] {
  const out: { path: string; ids: number[] }[] = [];
  const visit = (i: number, path: number[]): void => {
    out.push({ path: path.join(','), ids: Array.from(t.ids.subarray(t.idFrom[i], t.idFrom[i + 1])) });
    let last = -1;
    for (let c = i + 1; c < t.end[i]!; c = t.end[c]!) {
      expect(t.byte[c]!).toBeGreaterThan(last); // children by ascending byte, no byte twice
      last = t.byte[c]!;
      expect(t.end[c]!).toBeLessThanOrEqual(t.end[i]!);
      visit(c, [...path, t.byte[c]!]);
    }
  };
  visit(0, []);
  return out;
}

describe('flatTrie', () => {
  it('holds every distinct prefix once, depth-first by ascending byte, each with the ids of its equal tokens', () => {
    const rng = new Rng(7);
    // short tokens over a small alphabet: many shared prefixes, tokens that are prefixes of others, duplicates, an empty one
    const tokens = Array.from({ length: 400 }, () => Uint8Array.from({ length: rng.int(5) }, () => [0x61, 0x62, 0xe4, 0x00, 0xff][rng.int(5)]!));
    tokens.push(tokens[3]!.slice(), tokens[10]!.slice());
    const ids = tokens.map((_, i) => i).reverse(); // any order in
    const t = flatTrie(ids, (id) => tokens[id]!);
    const nodes = nodesOf(t);
    expect(nodes.length).toBe(t.byte.length); // the walk reaches every node
    const key = (b: Uint8Array): string => Array.from(b).join(',');
    const prefixes = new Set<string>(['']);
    for (const b of tokens) for (let l = 1; l <= b.length; l++) prefixes.add(key(b.subarray(0, l)));
    expect(nodes.map((n) => n.path).sort()).toEqual([...prefixes].sort());
    const want = new Map<string, number[]>();
    tokens.forEach((b, id) => b.length > 0 && want.set(key(b), [...(want.get(key(b)) ?? []), id]));
    for (const n of nodes) expect(n.ids, n.path).toEqual(want.get(n.path) ?? []);
    expect(t.ids.length).toBe(tokens.filter((b) => b.length > 0).length);
    // depth-first: a node's subtree is exactly the nodes whose paths extend its own
    const order = nodes.map((n) => n.path);
    nodes.forEach((n, i) => {
      const extends_ = (p: string): boolean => p !== n.path && (n.path === '' || p.startsWith(`${n.path},`));
      const inside = order.filter((_, j) => j > i && j < t.end[i]!);
      expect(inside.every(extends_)).toBe(true);
      expect(order.filter(extends_).length).toBe(inside.length);
    });
  });

  it('an empty list is the root alone', () => {
    const t = flatTrie([], () => new Uint8Array(0));
    expect([t.byte.length, t.end[0], t.idFrom[0], t.idFrom[1], t.ids.length]).toEqual([1, 1, 0, 0, 0]);
  });
});
