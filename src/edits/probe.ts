/**
 * Probing the (edited) model on prompt/target pairs under teacher forcing, in one routed
 * batch: per pair the argmax at the target positions, the token accuracy (EasyEdit's
 * rewrite_acc), whether every target token is top-1, and which memory answered.
 * Used by the demo and the quality tests; the evaluation harness has its own Scorer.
 */
import type { CausalLM, Variant } from '../model/causal-lm.js';
import { argmax } from '../model/sampling.js';
import type { RoutedMemory } from '../router/router.js';
import { routeNames } from '../router/router.js';
import { normalizeTarget } from '../memory/rows.js';

export interface ProbeResult {
  argmax: number[];
  targetIds: number[];
  accuracy: number;
  allCorrect: boolean;
  memory: string;
}

/**
 * `encodePrompt` tokenizes a prompt as the model is asked it (default: the tokenizer's prefix and the text; for an
 * editor with wise.use_chat_template, `(t) => editor.memory.queryIds(t)`); the target follows it.
 */
export async function probe(
  lm: CausalLM,
  pairs: readonly { prompt: string; target: string }[],
  routing?: { variant: Variant; memories: RoutedMemory[] },
  batchSize = 32,
  encodePrompt: (text: string) => number[] = (t) => lm.tokenizer.encodePrompt(t),
): Promise<ProbeResult[]> {
  const V = lm.config.vocabSize;
  const out: ProbeResult[] = [];
  for (let s = 0; s < pairs.length; s += batchSize) {
    const chunk = pairs.slice(s, s + batchSize);
    const toks = chunk.map((p) => ({ prompt: encodePrompt(p.prompt), target: lm.tokenizer.encode(normalizeTarget(p.target)) }));
    const r = await lm.forward(toks.map((t) => [...t.prompt, ...t.target]), routing ? { variant: routing.variant } : {});
    const names = routing ? routeNames(r.extra.route, routing.memories) : [];
    toks.forEach((t, i) => {
      const off = r.batch.offsets[i]!;
      const am: number[] = [];
      for (let j = 0; j < t.target.length; j++) am.push(argmax(r.logits, (i * r.batch.seq + off + t.prompt.length - 1 + j) * V, V));
      const hits = am.filter((a, j) => a === t.target[j]).length;
      out.push({ argmax: am, targetIds: t.target, accuracy: hits / t.target.length, allCorrect: hits === t.target.length, memory: names[i] ?? 'main' });
    });
  }
  return out;
}

/** Locality: the fraction of argmax ids equal before and after (EasyEdit's neighborhood agreement). */
export function agreement(pre: readonly ProbeResult[], post: readonly ProbeResult[]): number[] {
  return pre.map((p, i) => {
    const q = post[i]!;
    return p.argmax.filter((a, j) => a === q.argmax[j]).length / Math.max(1, p.argmax.length);
  });
}
