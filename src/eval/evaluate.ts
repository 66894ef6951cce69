/**
 * Scores EvalRecords with a Scorer (EasyEdit `compute_edit_quality`), one model state at a time.
 *
 * Per record, by dataset kind:
 *   rewrite     prompt → target: rewrite_acc (+ rewrite_acc_all); hallucination: rewrite_ppl instead
 *   rephrase    rephrase → target: rephrase_acc (+ rephrase_acc_all), where the record has one
 *   ood         temporal: ood_acc over the tokens of `oodRephrase` (the target is ignored, as in EasyEdit)
 *   locality    loc.prompt + " " + loc.answer: the argmax ids at the answer positions (kept raw here;
 *               `combine` turns pre/post ids into the post-side `locality` agreement); a record with several
 *               locality questions (KnowEdit) keeps each one's ids, and its agreement is their mean
 *   fluency     (opts.fluency) the n-gram entropy of a text sampled from the prompt (fluency.ts)
 *   portability each question → answer: token accuracy, averaged over the record's questions; KnowEdit's typed
 *               questions (and locality questions) average per type first, then over the types, and each type's
 *               mean is kept as `<type>_acc` (run_knowedit_llama2.py's summary)
 *
 * Deviation, documented: for temporal EasyEdit reports only ood_acc (rewrite and rephrase share one key);
 * we also report rewrite_acc so the table has the paper's Rel. column.
 */
import { WiseError } from '../util/errors.js';
import type { EvalRecord } from './datasets.js';
import { fluencyText, ngramEntropy } from './fluency.js';
import { allTokensCorrect, localityAgreement, oodAccuracy, perplexity, tokenAccuracy, typedMean, type RequestMetrics, type RequestResult } from './metrics.js';
import { promptTargetRow, wholeTextRow, type ScoreOut, type ScoreRow, type Scorer } from './scorer.js';

export interface EvaluateOptions {
  /** Clip rewrite_ppl at this value (EasyEdit issue #531 fix: 100). Default: no clip, as EasyEdit ships. */
  pplClip?: number;
  /** ood_acc probability threshold. Default 0.8. */
  oodThreshold?: number;
  /** Rows handed to the Scorer per call (the Scorer batches further). Default 64. */
  rowsPerCall?: number;
  /**
   * Fluency (fluency.ts): sample from each record's prompt (ROME's generate_fast: FLUENCY_GENERATION) and score the
   * text's n-gram entropy. Off by default (one generation per record and side); a Scorer without generate gives none.
   */
  fluency?: { maxLength: number; topK: number };
}

/** One record's outputs for one model state. */
export interface SideOutput {
  metrics: RequestMetrics;
  /** Argmax ids at the locality answer positions, one list per locality question (compared pre vs post). */
  localityIds?: number[][];
  /** Each locality question's type (KnowEdit), parallel to localityIds; absent when no question has one. */
  localityKeys?: (string | undefined)[];
}

type JobKind = 'rewrite' | 'rephrase' | 'ood' | 'locality' | 'portability';
interface Job {
  rec: number;
  kind: JobKind;
  row: ScoreRow;
  /** The question's type (KnowEdit's portability and locality questions). */
  key?: string | undefined;
}

function jobsFor(scorer: Scorer, rec: EvalRecord, i: number): Job[] {
  const jobs: Job[] = [{ rec: i, kind: 'rewrite', row: promptTargetRow(scorer, rec.prompt, rec.target) }];
  if (rec.rephrase !== undefined) jobs.push({ rec: i, kind: 'rephrase', row: promptTargetRow(scorer, rec.rephrase, rec.target) });
  if (rec.kind === 'temporal' && rec.oodRephrase !== undefined) jobs.push({ rec: i, kind: 'ood', row: wholeTextRow(scorer, rec.oodRephrase) });
  for (const l of rec.localities ?? (rec.locality ? [rec.locality] : [])) jobs.push({ rec: i, kind: 'locality', row: promptTargetRow(scorer, l.prompt, l.answer), key: l.key });
  for (const p of rec.portability ?? []) jobs.push({ rec: i, kind: 'portability', row: promptTargetRow(scorer, p.prompt, p.answer), key: p.key });
  return jobs;
}

/** Runs every record's probes through the Scorer and computes that side's metrics. */
export async function evaluateSide(scorer: Scorer, records: readonly EvalRecord[], opts: EvaluateOptions = {}): Promise<SideOutput[]> {
  const jobs = records.flatMap((r, i) => jobsFor(scorer, r, i));
  const per = Math.max(1, opts.rowsPerCall ?? 64);
  const outs: ScoreOut[] = [];
  for (let i = 0; i < jobs.length; i += per) {
    const rows = jobs.slice(i, i + per).map((j) => j.row);
    const got = await scorer.argmaxAndLogprobs(rows);
    if (got.length !== rows.length) throw new WiseError('WISE_INTERNAL', `Scorer returned ${got.length} rows for ${rows.length}`, {});
    got.forEach((o, k) => {
      const want = (rows[k] as ScoreRow).targetIds.length;
      if (o.argmax.length !== want || o.targetLogprobs.length !== want) {
        throw new WiseError('WISE_INTERNAL', `Scorer row ${i + k}: expected ${want} outputs, got ${o.argmax.length}/${o.targetLogprobs.length}`, {});
      }
    });
    outs.push(...got);
  }
  const sides: SideOutput[] = records.map(() => ({ metrics: {} }));
  const port: { key?: string | undefined; value: number }[][] = records.map(() => []);
  jobs.forEach((job, k) => {
    const out = outs[k] as ScoreOut;
    const side = sides[job.rec] as SideOutput;
    const m = side.metrics;
    const target = job.row.targetIds;
    switch (job.kind) {
      case 'rewrite':
        if (records[job.rec]?.kind === 'hallucination') m.rewrite_ppl = perplexity(out.targetLogprobs, opts.pplClip);
        else (m.rewrite_acc = tokenAccuracy(out.argmax, target)), (m.rewrite_acc_all = allTokensCorrect(out.argmax, target));
        break;
      case 'rephrase':
        m.rephrase_acc = tokenAccuracy(out.argmax, target);
        m.rephrase_acc_all = allTokensCorrect(out.argmax, target);
        break;
      case 'ood':
        m.ood_acc = oodAccuracy(out.targetLogprobs, opts.oodThreshold);
        break;
      case 'locality':
        (side.localityIds ??= []).push(out.argmax);
        (side.localityKeys ??= []).push(job.key);
        break;
      case 'portability':
        port[job.rec]!.push({ key: job.key, value: tokenAccuracy(out.argmax, target) });
        break;
    }
  });
  port.forEach((accs, i) => {
    if (accs.length === 0) return;
    const { mean, byType } = typedMean(accs);
    const m = (sides[i] as SideOutput).metrics;
    m.portability = mean;
    if (byType) m.portability_keys = byType;
  });
  for (const side of sides) if (side.localityKeys?.every((k) => k === undefined)) delete side.localityKeys;
  if (opts.fluency && scorer.generate) {
    // one seed per record, from its id: pre and post sample with the same draws, so they differ by the model only
    for (const [i, rec] of records.entries()) {
      const text = await scorer.generate(rec.prompt, { ...opts.fluency, seed: seedOf(rec.id) });
      sides[i]!.metrics.fluency = ngramEntropy(fluencyText(text));
    }
  }
  return sides;
}

/** A 32-bit seed from a record id (FNV-1a over its UTF-16 units). */
function seedOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Pairs one record's pre and post outputs; post.locality = agreement of post ids with pre ids (the mean over the questions). */
export function combine(id: string, pre: SideOutput, post: SideOutput): RequestResult {
  const result: RequestResult = { id, pre: { ...pre.metrics }, post: { ...post.metrics } };
  const [a, b] = [pre.localityIds, post.localityIds];
  if (a && b) {
    if (a.length !== b.length) throw new WiseError('WISE_INTERNAL', `${id}: ${a.length} locality questions before the edit, ${b.length} after`, {});
    const { mean, byType } = typedMean(b.map((ids, q) => ({ key: post.localityKeys?.[q], value: localityAgreement(ids, a[q]!) })));
    result.post.locality = mean;
    if (byType) result.post.locality_keys = byType;
  }
  return result;
}
