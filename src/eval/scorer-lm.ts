/**
 * Scorers over a CausalLM: the model side of the harness's `Scorer` contract (scorer.ts).
 *
 *   lmScorer(lm, { variant })       teacher-forced rows through lm.forward(seqs, { side: 'left', variant }),
 *                                   via makeScorer (left padding and the logits bookkeeping live there);
 *                                   and generate(), sampling on the same variant (fluency.ts)
 *   lmRowScorer(lm, { variantFor }) the same pass, for methods whose variant needs to know each row's
 *                                   prompt length (GRACE keys on the last prompt token): the variant is
 *                                   built per batch from the rows and their left padding
 *
 * BOS: every encoded text starts with the special tokens the tokenizer's post-processor puts first
 * (`Tokenizer.encodePrompt`: BOS for Llama and Mistral, none for GPT-2, Qwen2, the bundled model and the
 * HF test fixtures), as HF `tok(text).input_ids` has them. `bosId` overrides that with one given id.
 */
import type { CausalLM, Variant } from '../model/causal-lm.js';
import { normalizeTarget } from '../memory/rows.js';
import { leftPad, makeScorer, rowBatches, readLeftPadded, type LeftPadded, type ScoreOut, type ScoreRow, type Scorer } from './scorer.js';

export interface LmScorerOptions {
  /** The routing / edited-weight variant of the state being scored; absent = the plain model. */
  variant?: Variant;
  /** Rows per forward pass (default 16). */
  maxBatch?: number;
  /** Prepended to every encoded text when set (for BOS models; see the file comment). */
  bosId?: number;
  /**
   * The ids of a prompt as the editor runs it, when not plain text (wise.use_chat_template:
   * `editor.memory.queryIds`, the chat template around it): prompt + target rows are then those ids and
   * the target's tokens after them, as the editor's own edit rows (memory/rows.ts).
   */
  promptIds?: (prompt: string) => number[];
}

/** Ids of a text as a sequence of its own: the tokenizer's prefix (BOS for Llama), or `bosId` when given, then the text. */
export function textEncoder(lm: CausalLM, bosId?: number): (text: string) => number[] {
  return bosId === undefined ? (text) => lm.tokenizer.encodePrompt(text) : (text) => [bosId, ...lm.tokenizer.encode(text)];
}

/** A Scorer over `lm` (optionally routed through `variant`). */
export function lmScorer(lm: CausalLM, opts: LmScorerOptions = {}): Scorer {
  const variant = opts.variant;
  const promptIds = opts.promptIds;
  const encode = textEncoder(lm, opts.bosId);
  const scorer = makeScorer({
    encode,
    ...(promptIds ? { row: (prompt: string, target: string) => ({ promptIds: promptIds(prompt), targetIds: lm.tokenizer.encode(normalizeTarget(target)) }) } : {}),
    forward: async (_batch, seqs) => (await lm.forward(seqs, variant ? { side: 'left', variant } : { side: 'left' })).logits,
    vocab: lm.config.vocabSize,
    padId: lm.padId,
    ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
    ...(variant?.maxTokens !== undefined ? { maxTokens: variant.maxTokens } : {}),
  });
  scorer.generate = async (prompt, o) => {
    const ids = promptIds ? promptIds(prompt) : encode(prompt);
    const maxTokens = Math.max(0, Math.min(o.maxLength, variant?.maxTokens ?? Infinity) - ids.length);
    const out = maxTokens === 0 ? { ids: [] } : await lm.generate(ids, { maxTokens, temperature: 1, topK: o.topK, seed: o.seed, stopIds: [], ...(variant ? { variant } : {}) });
    return lm.tokenizer.decode([...ids, ...out.ids], { skipSpecialTokens: true });
  };
  return scorer;
}

export interface LmRowScorerOptions {
  /** The variant for one left-padded batch of rows (undefined = the plain model). */
  variantFor: (rows: readonly ScoreRow[], batch: LeftPadded) => Variant | undefined;
  maxBatch?: number;
  bosId?: number;
}

/** A Scorer whose variant depends on the rows of each batch (e.g. their last prompt token). */
export function lmRowScorer(lm: CausalLM, opts: LmRowScorerOptions): Scorer {
  const maxBatch = Math.max(1, opts.maxBatch ?? 16);
  return {
    encode: textEncoder(lm, opts.bosId),
    async argmaxAndLogprobs(rows) {
      const out: ScoreOut[] = [];
      for (const chunk of rowBatches(rows, maxBatch)) {
        const batch = leftPad(chunk, lm.padId);
        const seqs = chunk.map((r) => [...r.promptIds, ...r.targetIds]);
        const variant = opts.variantFor(chunk, batch);
        const r = await lm.forward(seqs, variant ? { side: 'left', variant } : { side: 'left' });
        out.push(...readLeftPadded(r.logits, lm.config.vocabSize, chunk, batch));
      }
      return out;
    },
  };
}

/** Padded position of each row's last prompt token in a left-padded batch. */
export function lastPromptPositions(rows: readonly ScoreRow[], batch: LeftPadded): number[] {
  return rows.map((r, b) => (batch.pads[b] as number) + r.promptIds.length - 1);
}
