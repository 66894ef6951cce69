/**
 * A byte trie of token ids laid out in depth-first order, for walks that only read it (token-constraint.ts,
 * priced-walk.ts). Built straight from the tokens' bytes sorted lexicographically: no node objects, so a 150k-token
 * vocabulary's tries take typed arrays of about 1 M entries instead of about 1 M Maps (224 MiB for the whole
 * vocabulary's Map trie, before, measured with `node --expose-gc` on bench:constrain's largeVocab). Pure.
 */

/**
 * Node 0 is the root; a node's children follow it in ascending byte order, and `end[i]` is the index after i's
 * subtree (so the next sibling of child c is end[c]). Iterating typed arrays in order is also several times faster
 * than iterating Maps over a million nodes.
 */
export interface FlatTrie {
  /** (nodes) the byte that leads into each node (the root's is unused, 0) */
  byte: Uint8Array;
  /** (nodes) the index after each node's subtree */
  end: Int32Array;
  /** (nodes + 1) each node's token ids are ids[idFrom[i] .. idFrom[i + 1]) */
  idFrom: Int32Array;
  /** (tokens) in depth-first order; tokens with equal bytes by ascending id */
  ids: Int32Array;
}

/** -1, 0 or 1 as `a` sorts before, with or after `b` byte by byte (a prefix first). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}

/** The trie of `ids`, each read as `bytesOf(id)` (empty ones are left out). */
export function flatTrie(ids: Iterable<number>, bytesOf: (id: number) => Uint8Array): FlatTrie {
  const order = [...ids].filter((id) => bytesOf(id).length > 0);
  order.sort((a, b) => compareBytes(bytesOf(a), bytesOf(b)) || a - b);
  // lcp[k]: bytes token k shares with token k − 1; each token adds a node per byte past it
  const lcp = new Int32Array(order.length);
  let nodes = 1;
  for (let k = 0; k < order.length; k++) {
    const cur = bytesOf(order[k]!);
    if (k > 0) {
      const prev = bytesOf(order[k - 1]!);
      let l = 0;
      while (l < prev.length && l < cur.length && prev[l] === cur[l]) l++;
      lcp[k] = l;
    }
    nodes += cur.length - lcp[k]!;
  }
  const t: FlatTrie = { byte: new Uint8Array(nodes), end: new Int32Array(nodes), idFrom: new Int32Array(nodes + 1), ids: new Int32Array(order.length) };
  // path[d]: the open node at depth d (the root at 0); a token closes the nodes below the prefix it shares
  const path = [0];
  let at = 1;
  order.forEach((id, k) => {
    const bytes = bytesOf(id);
    while (path.length - 1 > lcp[k]!) t.end[path.pop()!] = at;
    for (let d = lcp[k]!; d < bytes.length; d++) {
      t.byte[at] = bytes[d]!;
      t.idFrom[at] = k; // ids are placed in node order, so a node's ids start where it is created
      path.push(at++);
    }
    t.ids[k] = id;
  });
  while (path.length > 0) t.end[path.pop()!] = at;
  t.idFrom[nodes] = order.length;
  return t;
}
