/**
 * GRACE's codebook (Hartvigsen et al. 2023; EasyEdit easyeditor/models/grace/GRACE.py,
 * wise-reference.md §7), as pure functions over plain arrays.
 *
 * An entry is (key, value, ε, label, edit id): key = the wrapped module's INPUT at one token (here
 * A(x), the down projection's input, at the last prompt token), value = the module OUTPUT that
 * replaces the original there, ε = the deferral radius.
 *
 * On an edit with query q and label ℓ (`updateCodebook`, GRACE's iteration-0 branch):
 *   empty codebook                              → add (q, ε_init)
 *   nearest key n at L2 distance d:
 *     d > ε_init + ε_n                          → add a new entry
 *     else, labels differ                       → add, and split: ε_n ← d/2 − 1e-5, ε_new ← d/2
 *     else, d > ε_n                             → expand: 'coverage' ε_n ← d;
 *                                                 'moving_average' key_n ← (key_n + q)/2, ε_n ← d
 *     else                                      → nothing (q is already covered by n)
 * The value then trained is the one of the key nearest to q after the update (`nearestKey`), as
 * GRACE's forward picks it; by construction q lies inside that entry's radius.
 *
 * Labels: GRACE compares `labels.float().mean()` of the two edits, where `labels` is the token row
 * with the prompt masked to −100; `labelKey` reproduces that number. So the same target behind
 * prompts of different lengths counts as a different label (as in EasyEdit).
 *
 * At inference (grace.ts): the nearest key to the query; when its distance ≤ its ε, the module's
 * output at that token is replaced by its value. Ties: the first entry (torch `min`).
 */

export interface CodebookEntry {
  key: Float32Array;
  value: Float32Array;
  eps: number;
  label: number;
  editId: number;
}

export interface CodebookOptions {
  /** ε_init, the radius of a new entry (EasyEdit `eps`: 1.0). */
  initEps: number;
  /** How a same-label query just outside the nearest radius is absorbed (EasyEdit default 'coverage'). */
  expand: 'coverage' | 'moving_average';
}

export type CodebookAction = 'add' | 'split' | 'expand' | 'covered';

export interface CodebookUpdate {
  action: CodebookAction;
  /** The entry whose value is trained (nearest to the query after the update). */
  index: number;
  /** The nearest entry before the update and its distance (−1 / Infinity for an empty codebook). */
  nearest: number;
  distance: number;
}

/** GRACE's label comparison key: mean of the token row's labels with the prompt positions at −100. */
export function labelKey(promptLen: number, targetIds: readonly number[]): number {
  let s = -100 * promptLen;
  for (const t of targetIds) s += t;
  return s / (promptLen + targetIds.length);
}

/** Euclidean distance (float64 accumulation). */
export function l2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Index of the key nearest to q (first on ties) and its distance; −1 / Infinity when empty. */
export function nearestKey(book: readonly CodebookEntry[], q: ArrayLike<number>): { index: number; distance: number } {
  let index = -1;
  let distance = Infinity;
  book.forEach((e, i) => {
    const d = l2(e.key, q);
    if (d < distance) (distance = d), (index = i);
  });
  return { index, distance };
}

/**
 * Applies GRACE's codebook rule for one edit, in place. `makeValue` gives a new entry's initial
 * value (only called when an entry is added).
 */
export function updateCodebook(
  book: CodebookEntry[],
  q: Float32Array,
  label: number,
  editId: number,
  opts: CodebookOptions,
  makeValue: () => Float32Array,
): CodebookUpdate {
  const { index: n, distance: d } = nearestKey(book, q);
  const add = (eps: number): void => void book.push({ key: Float32Array.from(q), value: makeValue(), eps, label, editId });
  let action: CodebookAction;
  if (n < 0 || d > opts.initEps + (book[n] as CodebookEntry).eps) {
    add(opts.initEps);
    action = 'add';
  } else {
    const e = book[n] as CodebookEntry;
    if (e.label !== label) {
      add(d / 2);
      e.eps = d / 2 - 1e-5;
      action = 'split';
    } else if (d > e.eps) {
      if (opts.expand === 'moving_average') for (let i = 0; i < e.key.length; i++) e.key[i] = 0.5 * (e.key[i] as number) + 0.5 * (q[i] as number);
      e.eps = d;
      action = 'expand';
    } else {
      action = 'covered';
    }
  }
  return { action, index: nearestKey(book, q).index, nearest: n, distance: d };
}
