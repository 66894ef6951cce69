/**
 * Text similarity for choosing irrelevant samples (wise.irrelevant_similar): word Jaccard over
 * lower-cased alphanumeric words. Pure.
 */

const words = (t: string): Set<string> => new Set(t.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/** Indices of the `k` pool texts with the highest word Jaccard similarity to `text` (ties: lower index). */
export function mostSimilar(text: string, pool: readonly string[], k: number): number[] {
  if (k <= 0) return [];
  const w = words(text);
  const scored = pool.map((p, i) => {
    const pw = words(p);
    let inter = 0;
    for (const x of pw) if (w.has(x)) inter++;
    return { i, s: inter / Math.max(1, w.size + pw.size - inter) };
  });
  scored.sort((a, b) => b.s - a.s || a.i - b.i);
  return scored.slice(0, k).map((x) => x.i);
}
