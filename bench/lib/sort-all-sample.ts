/**
 * sampleToken (src/model/sampling.ts) as it was before it stopped sorting the whole vocabulary:
 * every token sorted by probability (ties by id), then min-p, top-k and top-p (renormalized) and
 * the draw, most likely first. With a truncation the current sampleToken draws exactly the same
 * token for the same Rng (test/model/sampling.test.ts); bench:sample times the two.
 */
import type { Rng } from '../../src/util/rng.js';
import type { SamplingOptions } from '../../src/model/sampling.js';

export function sortAllSample(row: Float32Array, o: SamplingOptions, rng: Rng): number {
  const V = row.length;
  let mx = -Infinity;
  for (const v of row) mx = Math.max(mx, v);
  const p = Float64Array.from(row, (v) => Math.exp((v - mx) / o.temperature));
  const z = p.reduce((a, b) => a + b, 0);
  const idx = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
  let keep = V;
  if ((o.minP ?? 0) > 0) while (keep > 1 && p[idx[keep - 1]!]! < o.minP! * p[idx[0]!]!) keep--;
  if ((o.topK ?? 0) > 0 && o.topK! < keep) keep = o.topK!;
  if (o.topP < 1) {
    let zk = z;
    if (keep < V) zk = idx.slice(0, keep).reduce((a, i) => a + p[i]!, 0);
    let acc = 0;
    for (let k = 0; k < keep; k++) {
      acc += p[idx[k]!]! / zk;
      if (acc >= o.topP) {
        keep = k + 1;
        break;
      }
    }
  }
  while (keep > 1 && p[idx[keep - 1]!]! === 0) keep--;
  const mass = idx.slice(0, keep).reduce((a, i) => a + p[i]!, 0);
  let u = rng.next() * mass;
  for (let k = 0; k < keep; k++) {
    u -= p[idx[k]!]!;
    if (u <= 0) return idx[k]!;
  }
  return idx[keep - 1]!;
}

