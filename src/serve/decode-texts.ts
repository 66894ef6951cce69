/**
 * Several prompts' generations as batches (one request's prompts × n choices, OpenAI-style):
 *  1. the prompts that asked for echo get their teacher-forced forward, left-padded together in
 *     chunks (at most `batchSize` rows, and at most LOGITS_BUDGET logits and the variant's
 *     token cap per pass);
 *  2. the prompts with tokens to generate decode together: on the server's DecodeScheduler (rows
 *     of concurrent requests share its batch, `serve.batch_size` at a time), or else `batchSize`
 *     rows at a time (CausalLM.generateMany); per-row options, routes decided per row, and a row
 *     leaves the batch when it ends, its result reported at once.
 * Each prompt's tokens are those it gets alone up to float rounding (causal-lm.ts); with
 * `batchSize` 1 every prompt runs alone, in order. All rows share one routing snapshot.
 */
import { WiseError } from '../util/errors.js';
import type { CausalLM, GenerateOpts } from '../model/causal-lm.js';
import type { DecodeScheduler } from '../model/decode-scheduler.js';
import { takeRows } from '../model/batch-rows.js';
import type { TextDecode, GenerateTextResult } from './text-decode.js';

/** The most logits (B·T·V floats: 256 MiB) one batched echo forward may return. */
export const LOGITS_BUDGET = 1 << 26;

export interface DecodeTextsOptions {
  /** rows per echo forward, and per decode batch without a scheduler */
  batchSize: number;
  /** decode on this shared scheduler (continuous batching with other callers' rows) instead of a batch of our own */
  scheduler?: DecodeScheduler | undefined;
}

/**
 * Runs every TextDecode (all built on the same routing); `onResult(i, r)` is called as soon as
 * row i is done. Rejects with WISE_INTERNAL 'generation aborted' when a row's signal aborts.
 */
export async function decodeTexts(lm: CausalLM, decs: readonly TextDecode[], o: DecodeTextsOptions, onResult?: (i: number, r: GenerateTextResult) => void): Promise<GenerateTextResult[]> {
  const batchSize = o.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new WiseError('WISE_INTERNAL', `decodeTexts: batch size ${batchSize}`);
  const variant = decs[0]?.variant;
  if (decs.some((d) => d.variant !== variant)) throw new WiseError('WISE_INTERNAL', 'decodeTexts: every prompt must run on the same routing');
  const out: GenerateTextResult[] = new Array(decs.length);
  const aborted = (): WiseError => new WiseError('WISE_INTERNAL', 'generation aborted');
  const done = (i: number, r: GenerateTextResult): void => {
    out[i] = r;
    onResult?.(i, r);
  };

  // 1. echo forwards
  const V = lm.config.vocabSize;
  const cap = Math.min(variant?.maxTokens ?? Infinity, LOGITS_BUDGET / V);
  for (const chunk of chunks(decs.flatMap((d, i) => (d.wantsEcho ? [i] : [])), batchSize, (i) => decs[i]!.promptIds.length, cap)) {
    if (chunk.some((i) => decs[i]!.opts.signal?.aborted)) throw aborted();
    const f = await lm.forward(chunk.map((i) => decs[i]!.promptIds), variant ? { variant } : {});
    const T = f.batch.seq;
    chunk.forEach((i, r) => decs[i]!.setEcho(f.logits.subarray((r * T + f.batch.offsets[r]!) * V, (r + 1) * T * V), f.extra.route ? takeRows(f.extra.route, [r]) : undefined));
  }
  decs.forEach((d, i) => {
    if (!d.decodes) done(i, d.finish(null));
  });

  // 2. decoding
  const decode = decs.flatMap((d, i) => (d.decodes ? [i] : []));
  const rowOpts = (i: number): GenerateOpts => ({
    ...decs[i]!.decodeOpts(),
    onEnd: (r) => {
      if (!decs[i]!.opts.signal?.aborted) done(i, decs[i]!.finish(r));
    },
  });
  if (o.scheduler) await o.scheduler.generate(decode.map((i) => decs[i]!.promptIds), decode.map(rowOpts));
  else for (const chunk of chunks(decode, o.batchSize, (i) => decs[i]!.promptIds.length, variant?.maxTokens ?? Infinity)) await lm.generateMany(chunk.map((i) => decs[i]!.promptIds), chunk.map(rowOpts));
  if (decode.some((i) => decs[i]!.opts.signal?.aborted)) throw aborted();
  return out;
}

/**
 * `rows` in order, cut into runs of at most `size` rows whose padded batch (rows × the longest
 * length) stays within `maxTokens`; a row longer than that alone is a run of its own.
 */
export function chunks(rows: readonly number[], size: number, lengthOf: (i: number) => number, maxTokens: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let longest = 0;
  for (const i of rows) {
    const L = Math.max(longest, lengthOf(i));
    if (cur.length > 0 && (cur.length + 1 > size || (cur.length + 1) * L > maxTokens)) {
      out.push(cur);
      cur = [];
      longest = 0;
    }
    cur.push(i);
    longest = Math.max(longest, lengthOf(i));
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
