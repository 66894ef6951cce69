/**
 * The model-facing contract of the evaluation harness, and pure helpers for implementing it.
 *
 * The harness never sees a model: it asks a `Scorer` for teacher-forced outputs on
 * (promptIds, targetIds) rows. The model layer implements `Scorer` (usually through `makeScorer`,
 * which does the left padding and the logits bookkeeping for it).
 *
 * Positions (EasyEdit `test_prediction_acc`, slice_list): for a row with p prompt ids and t target
 * ids, the model runs on ids = promptIds ++ targetIds (length n = p + t). The outputs for target
 * token j (0 ≤ j < t) come from the logits at position p − 1 + j, i.e. positions [p − 1, n − 1).
 */
import { WiseError } from '../util/errors.js';

export interface ScoreRow {
  /** Prompt ids, including any BOS the tokenizer adds. At least one id. */
  promptIds: number[];
  /** Ids scored by teacher forcing. */
  targetIds: number[];
}

export interface ScoreOut {
  /** argmax of the logits at positions [p−1, n−1): one id per target token. */
  argmax: number[];
  /** log softmax(logits at p−1+j)[targetIds[j]]: one value per target token. */
  targetLogprobs: number[];
}

/** What the model layer must provide (one per model state: pre-edit, post-edit). */
export interface Scorer {
  /**
   * Token ids of `text` as HF `tok(text).input_ids` gives them: BOS included when the tokenizer adds
   * one (Llama: yes; GPT-2: no). Note src/model's Tokenizer.encode adds no special tokens, so a
   * Scorer for a BOS model prepends bosId itself.
   */
  encode(text: string): number[];
  /**
   * Optional: the row of a prompt and its target when the scorer does not score them as one plain text
   * (promptTargetRow's EasyEdit rule), e.g. a chat model's prompt under its chat template with the target
   * after it (wise.use_chat_template, scorer-lm.ts).
   */
  row?(prompt: string, target: string): ScoreRow;
  /** Teacher-forced outputs for each row; rows may be batched (and padded) as the implementation likes. */
  argmaxAndLogprobs(rows: ScoreRow[]): Promise<ScoreOut[]>;
  /**
   * Optional (fluency.ts): a text sampled from `prompt` on this state, top-k at temperature 1 with `seed`, until the
   * sequence (prompt included) is `maxLength` tokens, EOS not stopping it; the whole sequence decoded, prompt first,
   * special tokens left out. Absent where the state cannot generate (GRACE's per-row variant): no fluency.
   */
  generate?(prompt: string, o: { maxLength: number; topK: number; seed: number }): Promise<string>;
}

export interface LeftPadded {
  batch: number;
  /** Padded width L = max row length. */
  width: number;
  /** Row-major [B, L] ids, pads first. */
  ids: number[];
  /** Row-major [B, L] attention mask (0 on pads). */
  mask: number[];
  /** Pads in front of each row. */
  pads: number[];
}

/** Left-pads promptIds ++ targetIds of each row to a common width (EasyEdit pads on the left). */
export function leftPad(rows: ScoreRow[], padId: number): LeftPadded {
  for (const [i, r] of rows.entries()) {
    if (r.promptIds.length === 0) throw new WiseError('WISE_INTERNAL', `score row ${i}: empty prompt (nothing predicts the first target token)`, { row: i });
  }
  const width = Math.max(0, ...rows.map((r) => r.promptIds.length + r.targetIds.length));
  const ids: number[] = [];
  const mask: number[] = [];
  const pads: number[] = [];
  for (const r of rows) {
    const pad = width - r.promptIds.length - r.targetIds.length;
    pads.push(pad);
    for (let k = 0; k < pad; k++) ids.push(padId), mask.push(0);
    for (const id of r.promptIds) ids.push(id), mask.push(1);
    for (const id of r.targetIds) ids.push(id), mask.push(1);
  }
  return { batch: rows.length, width, ids, mask, pads };
}

/** argmax and log-softmax value of `id` over logits[off, off+V). Ties → lowest index (torch.argmax). */
export function argmaxLogprob(logits: ArrayLike<number>, off: number, vocab: number, id: number): { argmax: number; logprob: number } {
  let best = 0;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) {
    const x = logits[off + v] as number;
    if (x > max) (max = x), (best = v);
  }
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp((logits[off + v] as number) - max);
  const lp = id >= 0 && id < vocab ? (logits[off + id] as number) - max - Math.log(sum) : NaN;
  return { argmax: best, logprob: lp };
}

/**
 * Reads ScoreOuts from the logits of a left-padded batch: logits row-major [B, L, V] for the batch
 * built by `leftPad(rows)`. Row b's target token j sits at padded position pads[b] + p − 1 + j.
 */
export function readLeftPadded(logits: ArrayLike<number>, vocab: number, rows: ScoreRow[], batch: LeftPadded): ScoreOut[] {
  const expected = batch.batch * batch.width * vocab;
  if (logits.length !== expected) {
    throw new WiseError('WISE_SHAPE_MISMATCH', `logits have ${logits.length} values, expected [${batch.batch}, ${batch.width}, ${vocab}]`, {
      got: logits.length,
      expected,
    });
  }
  return rows.map((r, b) => {
    const out: ScoreOut = { argmax: [], targetLogprobs: [] };
    const start = (batch.pads[b] as number) + r.promptIds.length - 1;
    for (let j = 0; j < r.targetIds.length; j++) {
      const off = (b * batch.width + start + j) * vocab;
      const { argmax, logprob } = argmaxLogprob(logits, off, vocab, r.targetIds[j] as number);
      out.argmax.push(argmax);
      out.targetLogprobs.push(logprob);
    }
    return out;
  });
}

export interface ForwardFn {
  /**
   * One forward pass; returns logits row-major [B, L, V] for the batch LEFT-padded to `batch.width`.
   * `seqs` are the same rows unpadded, for models that pad themselves (e.g.
   * `async (_b, seqs) => (await lm.forward(seqs, { side: 'left' })).logits`).
   */
  (batch: LeftPadded, seqs: number[][]): Promise<ArrayLike<number>>;
}

/**
 * Consecutive batches of `rows`: at most `maxBatch` rows each, and (when `maxTokens` is given) at
 * most `maxTokens` padded tokens (rows × the longest row), but never less than one row.
 */
export function rowBatches(rows: readonly ScoreRow[], maxBatch: number, maxTokens = Infinity): ScoreRow[][] {
  const out: ScoreRow[][] = [];
  let cur: ScoreRow[] = [];
  let width = 0;
  for (const r of rows) {
    const w = Math.max(width, r.promptIds.length + r.targetIds.length);
    if (cur.length > 0 && (cur.length >= maxBatch || (cur.length + 1) * w > maxTokens)) {
      out.push(cur);
      cur = [];
      width = 0;
    }
    cur.push(r);
    width = Math.max(width, r.promptIds.length + r.targetIds.length);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Builds a Scorer from a tokenizer's encode and a batched forward pass (left padding, `maxBatch` rows and at most `maxTokens` padded tokens per pass). */
export function makeScorer(opts: { encode: (text: string) => number[]; row?: Scorer['row']; forward: ForwardFn; vocab: number; padId: number; maxBatch?: number; maxTokens?: number }): Scorer {
  const maxBatch = Math.max(1, opts.maxBatch ?? 16);
  return {
    encode: opts.encode,
    ...(opts.row ? { row: opts.row } : {}),
    async argmaxAndLogprobs(rows) {
      const out: ScoreOut[] = [];
      for (const chunk of rowBatches(rows, maxBatch, opts.maxTokens)) {
        const batch = leftPad(chunk, opts.padId);
        const seqs = chunk.map((r) => [...r.promptIds, ...r.targetIds]);
        out.push(...readLeftPadded(await opts.forward(batch, seqs), opts.vocab, chunk, batch));
      }
      return out;
    },
  };
}

/**
 * EasyEdit's row construction: the model sees tokenize(prompt + " " + target); the prompt length is
 * the token count of tokenize(prompt) alone, and every later token of the joint tokenization is a
 * target token. (So " Paris" is scored as the tokenizer splits it inside the sentence, and a merge
 * across the boundary moves the split exactly as it does in EasyEdit.)
 */
export function promptTargetRow(scorer: Pick<Scorer, 'encode' | 'row'>, prompt: string, target: string): ScoreRow {
  if (scorer.row) return scorer.row(prompt, target);
  const full = scorer.encode(`${prompt} ${target}`);
  const p = Math.min(scorer.encode(prompt).length, full.length);
  return { promptIds: full.slice(0, p), targetIds: full.slice(p) };
}

/** Row for `ood_acc`: every token of `text` after the first is scored (the first has no prediction). */
export function wholeTextRow(scorer: Pick<Scorer, 'encode'>, text: string): ScoreRow {
  const ids = scorer.encode(text);
  return { promptIds: ids.slice(0, 1), targetIds: ids.slice(1) };
}
