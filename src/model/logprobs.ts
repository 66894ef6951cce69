/**
 * Log-probabilities from a logits row (V,), for OpenAI's `logprobs`: the log-softmax of the
 * model's raw logits (before temperature and top-p, which shape sampling, not the model's
 * distribution; vLLM's default likewise). Pure.
 */

/** log Σ exp(row), computed stably. */
export function logSumExp(row: ArrayLike<number>): number {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i] as number);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp((row[i] as number) - mx);
  return mx + Math.log(s);
}

export interface TokenLogprob {
  id: number;
  logprob: number;
}

/** log p(id) under row. */
export function logprobOf(row: ArrayLike<number>, id: number, lse = logSumExp(row)): number {
  return (row[id] as number) - lse;
}

/** The k most likely tokens of row, most likely first (ties: lower id first). */
export function topLogprobs(row: ArrayLike<number>, k: number, lse = logSumExp(row)): TokenLogprob[] {
  const best: number[] = []; // ids, kept sorted by descending logit
  for (let i = 0; i < row.length && k > 0; i++) {
    const v = row[i] as number;
    if (best.length === k && v <= (row[best[k - 1]!] as number)) continue;
    let j = Math.min(best.length, k - 1);
    if (best.length < k) best.push(i);
    while (j > 0 && (row[best[j - 1]!] as number) < v) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = i;
  }
  return best.map((id) => ({ id, logprob: (row[id] as number) - lse }));
}
