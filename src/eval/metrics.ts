/**
 * EasyEdit's metric math (wise-reference.md §3), on token ids and log-probabilities only.
 *
 *   token accuracy     mean(argmax[j] == target[j]) over the target tokens (teacher forcing) → rewrite_acc, rephrase_acc, portability
 *   all-tokens acc     1 when every target token is the argmax, else 0 (EasyEdit's "token_em_lm_eval")
 *   locality           mean(post argmax ids == pre argmax ids) on loc + " " + loc_ans's answer positions
 *                      (agreement with the unedited model, not correctness; issue #308)
 *   perplexity         exp(mean target NLL), optional clip at 100 (the maintainer's fix, issue #531) → rewrite_ppl
 *   OOD accuracy       fraction of tokens with p > 0.8 → ood_acc (temporal)
 *
 * An empty target gives NaN (numpy's mean of nothing); means skip NaN, as EasyEdit's batch path does.
 */
import { WiseError } from '../util/errors.js';

/** Fraction of target tokens whose teacher-forced argmax is the target token. */
export function tokenAccuracy(argmax: readonly number[], targetIds: readonly number[]): number {
  checkLengths(argmax, targetIds, 'tokenAccuracy');
  if (targetIds.length === 0) return NaN;
  let ok = 0;
  for (let j = 0; j < targetIds.length; j++) if (argmax[j] === targetIds[j]) ok++;
  return ok / targetIds.length;
}

/** 1 when every target token is predicted, else 0 (NaN for an empty target). */
export function allTokensCorrect(argmax: readonly number[], targetIds: readonly number[]): number {
  const acc = tokenAccuracy(argmax, targetIds);
  return Number.isNaN(acc) ? NaN : acc === 1 ? 1 : 0;
}

/** Locality: fraction of answer positions where the post-edit argmax equals the pre-edit argmax. */
export function localityAgreement(postIds: readonly number[], preIds: readonly number[]): number {
  checkLengths(postIds, preIds, 'localityAgreement');
  return tokenAccuracy(postIds, preIds);
}

/** exp(mean NLL of the target tokens); `clip` caps the result (EasyEdit's commented-out clip(0, 100)). */
export function perplexity(targetLogprobs: readonly number[], clip?: number): number {
  if (targetLogprobs.length === 0) return NaN;
  let nll = 0;
  for (const lp of targetLogprobs) nll -= lp;
  const ppl = Math.exp(nll / targetLogprobs.length);
  return clip === undefined ? ppl : Math.min(Math.max(ppl, 0), clip);
}

/** Fraction of scored tokens whose probability exceeds `threshold` (strictly: −logp < −ln 0.8). */
export function oodAccuracy(logprobs: readonly number[], threshold = 0.8): number {
  if (logprobs.length === 0) return NaN;
  const limit = -Math.log(threshold);
  let ok = 0;
  for (const lp of logprobs) if (-lp < limit) ok++;
  return ok / logprobs.length;
}

function checkLengths(a: readonly number[], b: readonly number[], what: string): void {
  if (a.length !== b.length) throw new WiseError('WISE_INTERNAL', `${what}: length ${a.length} vs ${b.length}`, { a: a.length, b: b.length });
}

/** Mean of the finite values; NaN when there are none. */
export function meanFinite(xs: readonly (number | undefined)[]): number {
  let s = 0;
  let n = 0;
  for (const x of xs) if (x !== undefined && Number.isFinite(x)) (s += x), n++;
  return n === 0 ? NaN : s / n;
}

/** Per-request metrics for one side (pre or post), under EasyEdit's field names. */
export interface RequestMetrics {
  rewrite_acc?: number;
  rephrase_acc?: number;
  /** Post only: agreement with the pre-edit argmax ids (pre-edit locality is 1 by definition and is not stored). */
  locality?: number;
  /**
   * Mean over the record's portability questions; where they have types (KnowEdit), the mean over types of each
   * type's mean, as run_knowedit_llama2.py's `Overall_portability` takes it per record.
   */
  portability?: number;
  /** Per question type (KnowEdit): `<type>_acc` → mean over that type's questions (EasyEdit's keys). */
  portability_keys?: Record<string, number>;
  /** Post only, per locality question type (KnowEdit), as `portability_keys`; `locality` is then their mean. */
  locality_keys?: Record<string, number>;
  rewrite_ppl?: number;
  ood_acc?: number;
  /** n-gram entropy of a text sampled from the prompt (EasyEdit's fluency.ngram_entropy; fluency.ts), pre and post */
  fluency?: number;
  /** All-tokens-correct variants (EasyEdit `token_em_lm_eval`), extra to the paper's metrics. */
  rewrite_acc_all?: number;
  rephrase_acc_all?: number;
}

export const METRIC_KEYS = [
  'rewrite_acc',
  'rephrase_acc',
  'locality',
  'portability',
  'rewrite_ppl',
  'ood_acc',
  'fluency',
  'rewrite_acc_all',
  'rephrase_acc_all',
] as const satisfies readonly (keyof RequestMetrics)[];
export type MetricKey = (typeof METRIC_KEYS)[number];

export interface RequestResult {
  id: string;
  pre: RequestMetrics;
  post: RequestMetrics;
}

/** Means over requests: every key present in any request, with the count of finite values behind it. */
export interface SideSummary {
  mean: Partial<Record<MetricKey, number>>;
  count: Partial<Record<MetricKey, number>>;
  /** Per question type: the mean over the requests that have the type (EasyEdit's summary_metrics per key). */
  portability_keys?: Record<string, number>;
  locality_keys?: Record<string, number>;
}

export interface Summary {
  n: number;
  pre: SideSummary;
  post: SideSummary;
}

function summarizeSide(sides: RequestMetrics[]): SideSummary {
  const out: SideSummary = { mean: {}, count: {} };
  for (const k of METRIC_KEYS) {
    const vals = sides.map((s) => s[k]).filter((v): v is number => v !== undefined);
    if (vals.length === 0) continue;
    out.mean[k] = meanFinite(vals);
    out.count[k] = vals.filter((v) => Number.isFinite(v)).length;
  }
  for (const k of ['portability_keys', 'locality_keys'] as const) {
    const types = [...new Set(sides.flatMap((s) => Object.keys(s[k] ?? {})))];
    if (types.length > 0) out[k] = Object.fromEntries(types.map((t) => [t, meanFinite(sides.map((s) => s[k]?.[t]))]));
  }
  return out;
}

/**
 * Scores that may carry a type → the overall mean and, where any has a type, the per-type means. Typed scores
 * average per type first and the overall value is the mean of the type means (run_knowedit_llama2.py's per-record
 * case_list); untyped scores average directly. Types are named `<type>_acc`, EasyEdit's metric keys.
 */
export function typedMean(scores: readonly { key?: string | undefined; value: number }[]): { mean: number; byType?: Record<string, number> } {
  if (scores.every((s) => s.key === undefined)) return { mean: meanFinite(scores.map((s) => s.value)) };
  const groups = new Map<string, number[]>();
  for (const s of scores) {
    const name = `${s.key ?? 'other'}_acc`;
    groups.set(name, [...(groups.get(name) ?? []), s.value]);
  }
  const byType = Object.fromEntries([...groups].map(([k, vs]) => [k, meanFinite(vs)]));
  return { mean: meanFinite(Object.values(byType)), byType };
}

/** EasyEdit `summary_metrics`: the mean of each metric over requests, pre and post. */
export function summarize(results: readonly RequestResult[]): Summary {
  return { n: results.length, pre: summarizeSide(results.map((r) => r.pre)), post: summarizeSide(results.map((r) => r.post)) };
}

/** The paper's table columns for one side: Rel., Gen., Loc., Port. and Avg. */
export interface Headline {
  /** rewrite_acc, or rewrite_ppl when `relIsPpl` (hallucination). */
  rel?: number;
  relIsPpl: boolean;
  /** rephrase_acc, or ood_acc (temporal's OOD-Gen.). */
  gen?: number;
  loc?: number;
  port?: number;
  /** Fluency (n-gram entropy, not a rate: higher is less repetitive), where measured. */
  flu?: number;
  /** Mean of Rel./Gen./Loc. that are present (the paper's Avg.); undefined when Rel. is a PPL. */
  avg?: number;
}

export function headline(side: SideSummary): Headline {
  const m = side.mean;
  const relIsPpl = m.rewrite_acc === undefined && m.rewrite_ppl !== undefined;
  const h: Headline = { relIsPpl };
  const rel = relIsPpl ? m.rewrite_ppl : m.rewrite_acc;
  const gen = m.rephrase_acc ?? m.ood_acc;
  if (rel !== undefined) h.rel = rel;
  if (gen !== undefined) h.gen = gen;
  if (m.locality !== undefined) h.loc = m.locality;
  if (m.portability !== undefined) h.port = m.portability;
  if (m.fluency !== undefined) h.flu = m.fluency;
  if (!relIsPpl) {
    const parts = [h.rel, h.gen, h.loc].filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (parts.length > 0) h.avg = parts.reduce((a, b) => a + b, 0) / parts.length;
  }
  return h;
}
