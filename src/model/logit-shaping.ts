/**
 * What a request does to a logits row (V,) before the next token is chosen, greedy or sampled
 * (sampling.ts), in vLLM's order and with its (and OpenAI's) meanings:
 *
 *   1. logit bias     logits[t] += bias[t]                                    (OpenAI `logit_bias`, −100..100)
 *   2. repetition     a token already in the prompt or the output: a positive logit is divided by r,
 *                     a negative one multiplied by r                         (transformers / vLLM `repetition_penalty`)
 *   3. frequency and  logits[t] −= frequency · count[t] + presence · [count[t] > 0], count over the
 *      presence       tokens generated so far (not the prompt)               (OpenAI / vLLM)
 *
 * Pure; the row the model returned is never modified (log-probabilities report the raw
 * distribution, as vLLM does by default): a shaped copy comes back, or the row itself when
 * nothing applies.
 */

export interface LogitShaping {
  /** token id → added to its logit */
  logitBias?: ReadonlyMap<number, number>;
  /** > 0; 1 = off */
  repetitionPenalty?: number;
  /** −2..2 in the API; 0 = off */
  frequencyPenalty?: number;
  /** −2..2 in the API; 0 = off */
  presencePenalty?: number;
}

/** True when `s` changes some logits row. */
export function shapes(s: LogitShaping | undefined): boolean {
  if (!s) return false;
  return (s.logitBias?.size ?? 0) > 0 || (s.repetitionPenalty ?? 1) !== 1 || (s.frequencyPenalty ?? 0) !== 0 || (s.presencePenalty ?? 0) !== 0;
}

/**
 * `row` (V,) shaped by `s`, given the sequence so far: `context` (prompt + generated ids) and
 * `generated` (the ids generated so far, the tail of `context`).
 */
export function shapeLogits(row: Float32Array, s: LogitShaping | undefined, context: readonly number[], generated: readonly number[]): Float32Array {
  if (!shapes(s)) return row;
  const out = Float32Array.from(row);
  const V = out.length;
  for (const [t, b] of s!.logitBias ?? []) if (t >= 0 && t < V) out[t] = (out[t] as number) + b;
  const r = s!.repetitionPenalty ?? 1;
  if (r !== 1) {
    const seen = new Set(context);
    for (const t of seen) {
      if (t < 0 || t >= V) continue;
      const v = out[t] as number;
      out[t] = v > 0 ? v / r : v * r;
    }
  }
  const f = s!.frequencyPenalty ?? 0;
  const p = s!.presencePenalty ?? 0;
  if (f !== 0 || p !== 0) {
    const count = new Map<number, number>();
    for (const t of generated) count.set(t, (count.get(t) ?? 0) + 1);
    for (const [t, c] of count) if (t >= 0 && t < V) out[t] = (out[t] as number) - f * c - p;
  }
  return out;
}
