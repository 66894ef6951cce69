/**
 * The text conventions of edit rows, shared by WISE (src/memory) and the baselines:
 *  - the target is appended after its prompt with one leading space (EasyEdit's `prompt + " " + target`,
 *    ROME's rome_main);
 *  - context templates (wise-reference.md §1.3): the bare "{}" plus greedy continuations of short
 *    seeds by the base model, each used as "<prefix> {}". WISE generates them once per store; the
 *    ROME baseline uses the same ones (EasyEdit's ROME samples 20 with top-k 5; greedy keeps runs
 *    reproducible without a sampler seed).
 */
import type { CausalLM } from './causal-lm.js';

/** The target as appended after the prompt: one leading space, as EasyEdit's `prompt + " " + target`. */
export function normalizeTarget(target: string): string {
  return ' ' + target.replace(/^\s+/, '');
}

const SEEDS = ['I', 'You', 'Because', 'Yes', 'Q:'];
const LENGTHS = [5, 10];

/** "{}" and up to `count` generated "<prefix> {}" templates (count + 1 in all, at most 11). */
export async function generateContextTemplates(lm: CausalLM, count: number): Promise<string[]> {
  const out = ['{}'];
  for (const len of LENGTHS) {
    for (const s of SEEDS) {
      if (out.length > count) break;
      const ids = lm.tokenizer.encodePrompt(s);
      const r = await lm.generate(ids, { maxTokens: len, stopIds: [] });
      const text = (s + lm.tokenizer.decode(r.ids, { skipSpecialTokens: true })).replace(/[{}]/g, ' ').replace(/\s+/g, ' ').trim();
      out.push(`${text} {}`);
    }
  }
  return out.slice(0, count + 1);
}

/** Sequences right-padded into (rows, Tb) row-major ids and mask (1 = token). */
export function padRows(seqs: readonly (readonly number[])[], Tb: number, pad: number): { ids: number[]; mask: number[] } {
  const ids = new Array<number>(seqs.length * Tb).fill(pad);
  const mask = new Array<number>(seqs.length * Tb).fill(0);
  seqs.forEach((s, r) => s.forEach((id, t) => ((ids[r * Tb + t] = id), (mask[r * Tb + t] = 1))));
  return { ids, mask };
}

/**
 * The teacher-forced target entries of template rows laid out (rows, Tb): row r's prompt has
 * `starts[r]` tokens and is followed by the target, so position starts[r] − 1 + j predicts target
 * token j. (Kb,) flat positions r·Tb + t, their targets, and weights 1/K over the K = rows · n real
 * entries (the mean NLL); entries from K on are 0, for the caller to fill or leave as padding.
 */
export function templateTargetRows(starts: readonly number[], Tb: number, targetIds: readonly number[], Kb: number): { rows: number[]; targets: number[]; weights: number[]; K: number } {
  const K = starts.length * targetIds.length;
  const rows = new Array<number>(Kb).fill(0);
  const targets = new Array<number>(Kb).fill(0);
  const weights = new Array<number>(Kb).fill(0);
  let k = 0;
  starts.forEach((start, r) => {
    for (let j = 0; j < targetIds.length; j++, k++) {
      rows[k] = r * Tb + start - 1 + j;
      targets[k] = targetIds[j] as number;
      weights[k] = 1 / K;
    }
  });
  return { rows, targets, weights, K };
}
