/**
 * The documentation of each input and output of an exported model (wise_export.json and the
 * doc_string of the ONNX value infos). Dims: B batch, T new tokens, P cached tokens.
 */

export interface IoEntry {
  name: string;
  dtype: string;
  shape: (number | string)[];
  doc: string;
}

export function ioDocs(o: { maxMeanTokens: number; memories: number }): (name: string) => string {
  const fixed: Record<string, string> = {
    input_ids: 'new tokens: the left-padded prompts at prefill, the last chosen token per row (T = 1) at decode',
    attn_mask: 'causal AND key padding (AND the sliding window when model.sliding_window is set): [b, 0, i, j] = (j <= P + i) AND key_mask[b, j] (see formulas)',
    rope_cos: 'RoPE cos table of the new tokens\' positions (HF rotate-half layout, see formulas.rope)',
    rope_sin: 'RoPE sin table of the new tokens\' positions (HF rotate-half layout, see formulas.rope)',
    position_ids: 'positions of the new tokens: cumsum(key_mask) − 1 (see formulas.positions)',
    token_mask: 'routing token mask (float 1/0): the prompt\'s key padding at prefill, ones at decode',
    use_max: `true where the row has more than ${o.maxMeanTokens} real tokens (or every row when wise.score_reduce is max): its score is the max token score, not the mean`,
    route_in: '−1 = decide the route here (prefill); r ≥ 0 forces route r (decode: feed the prefill\'s `route`)',
    logits_last: 'logits of the last position of each row (B, V): the next-token distribution',
    logits: 'logits of every new position (B, T, V)',
    route: `the memory each row used: 0 = main (original weights), k = memories[k−1] (${o.memories} memories); equals route_in where route_in ≥ 0. Keep it from prefill and feed it as route_in at decode`,
    route_scores: 'activation score of each memory (B, M) for this call\'s tokens (meaningful at prefill)',
  };
  return (name) => {
    const f = fixed[name];
    if (f) return f;
    const m = /^(past|present)_(key|value)_(\d+)$/.exec(name);
    if (m) {
      return m[1] === 'past'
        ? `layer ${m[3]} cached ${m[2]}s (B, kv_heads, P, head_dim): P = 0 at prefill, then the previous call's present_${m[2]}_${m[3]}`
        : `layer ${m[3]} ${m[2]}s of the cached and new tokens (B, kv_heads, P+T, head_dim): feed as past_${m[2]}_${m[3]} next call`;
    }
    return '';
  };
}
