/**
 * Next-token choice from a logits row (V,): greedy (temperature 0) or seeded sampling at a
 * temperature, truncated by min-p, top-k and top-p (nucleus) in vLLM's order: the
 * probabilities at the temperature, then min-p against the most likely token, then the k most
 * likely, then the smallest prefix of those (renormalized) with mass ≥ top-p. Ties are broken by
 * token id. Pure; the Rng makes sampling reproducible (one draw per sampled token): the draw walks
 * the kept tokens most likely first, or, with no truncation at all, every token in id order (the
 * same distribution, without sorting the vocabulary).
 * Penalties and logit bias act on the logits before this (logit-shaping.ts).
 */
import type { Rng } from '../util/rng.js';

export interface SamplingOptions {
  /** 0 = greedy */
  temperature: number;
  /** nucleus mass in (0, 1]; 1 = no truncation */
  topP: number;
  /** keep the k most likely tokens; 0 (or absent) = all */
  topK?: number;
  /** drop tokens less likely than minP × the most likely one's probability, in [0, 1]; 0 (or absent) = none */
  minP?: number;
}

export function argmax(row: ArrayLike<number>, offset = 0, length = row.length - offset): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = row[offset + i] as number;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

export function sampleToken(row: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  if (o.temperature <= 0) return argmax(row);
  const V = row.length;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) mx = Math.max(mx, row[i] as number);
  // unnormalized probabilities p (V,) at the temperature, the largest exactly 1; a logit of -Infinity (a banned token) gets 0
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) {
    p[i] = Math.exp(((row[i] as number) - mx) / o.temperature);
    z += p[i] as number;
  }
  const minP = o.minP ?? 0;
  const topK = (o.topK ?? 0) < V ? (o.topK ?? 0) : 0; // k ≥ V keeps all
  if (minP <= 0 && topK <= 0 && o.topP >= 1) return drawInOrder(p, z, rng); // nothing truncated: no order needed
  const kept = keptTokens(p, z, minP, topK, o.topP);
  let mass = 0;
  for (const i of kept) mass += p[i] as number;
  let u = rng.next() * mass;
  for (const i of kept) {
    u -= p[i] as number;
    if (u <= 0) return i;
  }
  return kept[kept.length - 1] as number;
}

/** A draw from p (V,) of total z, walking the tokens in id order; a token of probability 0 is never drawn. */
function drawInOrder(p: Float64Array, z: number, rng: Rng): number {
  let u = rng.next() * z;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i] as number;
    if (v === 0) continue;
    last = i;
    u -= v;
    if (u <= 0) return i;
  }
  return last;
}

/** Ids with p ≥ t (and p > 0), most likely first, ties by id. */
function above(p: Float64Array, t: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < p.length; i++) if ((p[i] as number) >= t && (p[i] as number) > 0) ids.push(i);
  return ids.sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
}

/** True when token a ranks before token b: more likely, or as likely with a smaller id. */
const before = (p: Float64Array, a: number, b: number): boolean => (p[a] as number) > (p[b] as number) || ((p[a] as number) === (p[b] as number) && a < b);

/** The k highest-ranked ids with p > 0, most likely first: a heap of k whose root is the worst kept (O(V log k)). */
function topKIds(p: Float64Array, k: number): number[] {
  const h: number[] = [];
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < h.length && before(p, h[w] as number, h[l] as number)) w = l;
      if (r < h.length && before(p, h[w] as number, h[r] as number)) w = r;
      if (w === i) return;
      [h[i], h[w]] = [h[w] as number, h[i] as number];
      i = w;
    }
  };
  for (let i = 0; i < p.length; i++) {
    if ((p[i] as number) === 0) continue;
    if (h.length < k) {
      h.push(i);
      for (let j = h.length - 1; j > 0; ) {
        const up = (j - 1) >> 1;
        if (!before(p, h[up] as number, h[j] as number)) break;
        [h[up], h[j]] = [h[j] as number, h[up] as number];
        j = up;
      }
    } else if (before(p, i, h[0] as number)) {
      h[0] = i;
      down(0);
    }
  }
  return h.sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
}

/**
 * The tokens min-p, top-k and top-p keep (most likely first): a prefix of all tokens sorted by
 * probability, found without sorting all V (22 ms a token at GPT-2's 50257, 67 ms at Qwen2's
 * 151936; bench:sample). p's largest value is 1, so min-p's floor is min_p itself. Top-k takes the
 * k best with a heap; min-p alone sorts the tokens above its floor; top-p alone sorts the tokens
 * above a threshold that falls 16× per pass until they hold the nucleus.
 */
function keptTokens(p: Float64Array, z: number, minP: number, topK: number, topP: number): number[] {
  const truncated = topK > 0 || minP > 0;
  let kept: number[] | undefined;
  if (topK > 0) {
    kept = topKIds(p, topK);
    if (minP > 0) kept = kept.filter((i) => (p[i] as number) >= minP); // min-p keeps a prefix, so this is the prefix of the k
  } else if (minP > 0) kept = above(p, minP);
  for (let theta = 1 / 16; ; theta /= 16) {
    const last = theta < 1e-300;
    const cand = kept ?? above(p, last ? 0 : theta);
    if (topP >= 1) return cand;
    // top-p over what min-p and top-k left (renormalized), or over everything (then cand must reach the mass)
    let zk = z;
    if (truncated) {
      zk = 0;
      for (const i of cand) zk += p[i] as number;
    }
    let acc = 0;
    for (let k = 0; k < cand.length; k++) {
      acc += (p[cand[k] as number] as number) / zk;
      if (acc >= topP) return cand.slice(0, k + 1);
    }
    if (truncated || last) return cand;
  }
}
