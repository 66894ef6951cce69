/**
 * One edit's training batch (wise-reference.md §1.3): the edit as `template(prompt + " " +
 * target)` under each context template (the bare prompt plus the generated prefixes), then
 * the irrelevant rows (x_i) for the activation margin, then the bare prompt without its target
 * (scored only: the score a generation is routed on).
 *
 * Only the E edit rows need the layers above the edited one (the irrelevant rows enter the
 * loss through their activation score alone), so the two kinds are laid out apart:
 * - edit rows are right-padded to a bucketed length Tb (a multiple of 16), one static gradient
 *   graph per bucket; the target-token positions are exact because prompt and target are
 *   tokenized separately;
 * - irrelevant rows (and the probe row) are packed token after token into Nb positions (no
 *   padding inside rows: they are most of the step's MatMul work), with a (Ri, Nb) membership
 *   mask; their count is padded to a power of two Ri with empty rows (isOut = 0).
 * Pure: takes an encoder, returns arrays.
 */
import { WiseError } from '../util/errors.js';
import { normalizeTarget, padRows, templateTargetRows } from '../model/edit-text.js';

export interface Encoder {
  /** a piece appended to a sequence (the target after its prompt) */
  encode(text: string): number[];
  /** a text as a sequence of its own (tokenizer.ts encodePrompt: BOS first for Llama; or under a chat template); default encode */
  encodePrompt?(text: string): number[];
}

export interface EditBatch {
  /** rows R = E edit rows (one per template) + Ri irrelevant rows (the last rows) */
  R: number;
  /** edit rows (the first E rows) */
  E: number;
  /** bucketed edit-row length */
  Tb: number;
  /** bucketed number of target positions */
  Kb: number;
  /** (E, Tb) token ids of the edit rows, right-padded */
  ids: number[];
  /** (E, Tb) 1 = token, 0 = padding */
  mask: number[];
  /** (Kb,) flat positions r·Tb + t whose next token is a target token; padded with 0 */
  rows: number[];
  /** (Kb,) the target token at each position */
  targets: number[];
  /** (Kb,) 1 / (edit rows × target length); 0 for padding entries */
  weights: number[];
  /** (R,) 1 for edit rows, 0 for the others */
  isEdit: number[];
  /** (R,) 1 for real irrelevant rows, 0 for edit rows, the probe row and bucket padding */
  isOut: number[];
  /** the row holding the bare prompt without its target: scored, outside the loss (routing at generation sees only the prompt) */
  probeRow: number;
  /** target token ids */
  targetIds: number[];
  /** the texts of rows E .. probeRow (irrelevant samples, then the bare prompt), packed in this order */
  irrTexts: string[];
  /** their token ids */
  irrIds: number[][];
  /** bucketed packed length of the irrelevant rows (Nb ≥ Σ irrLengths) */
  Nb: number;
  /** (Ri, Nb) 1 where packed token n belongs to irrelevant row r (Ri = R − E) */
  irrMask: number[];
}

export const nextPow2 = (n: number, min = 1): number => {
  let p = min;
  while (p < n) p *= 2;
  return p;
};

/** Rounds n up to a multiple of `step` (at least `step`). */
export const roundUp = (n: number, step: number): number => Math.max(step, Math.ceil(n / step) * step);

/**
 * Packed-token bucket: powers of two up to 256, then multiples of 256. Each bucket is one more
 * step-graph session (~0.1 GB of ORT arena each), so coarse steps: ≤ 256 padded tokens.
 */
export const packedBucket = (n: number): number => (n <= 256 ? nextPow2(n, 16) : roundUp(n, 256));

export { normalizeTarget } from '../model/edit-text.js';

/**
 * @param templates strings containing one "{}" (the first is usually the bare "{}")
 * @param irrelevant the irrelevant samples' texts (loc + " " + loc_ans); EasyEdit uses one
 */
export function buildEditBatch(tok: Encoder, templates: readonly string[], prompt: string, target: string, irrelevant: string | readonly string[], pad: number, maxLen: number): EditBatch {
  const targetIds = tok.encode(normalizeTarget(target));
  const start = (text: string): number[] => (tok.encodePrompt ? tok.encodePrompt(text) : tok.encode(text)); // a row's own sequence
  const seqs: number[][] = [];
  const starts: number[] = [];
  for (const t of templates) {
    const ctx = start(t.replace('{}', prompt));
    starts.push(ctx.length);
    seqs.push([...ctx, ...targetIds]);
  }
  const E = seqs.length;
  const irrTexts = [...(typeof irrelevant === 'string' ? [irrelevant] : irrelevant), prompt];
  const irrIds = irrTexts.map(start);
  const irrLengths = irrIds.map((ids) => ids.length);
  const longest = Math.max(...seqs.map((s) => s.length), ...irrLengths);
  if (longest > maxLen) throw new WiseError('WISE_CONTEXT_LENGTH', `edit row of ${longest} tokens (the prompt and target under the longest context template, or an irrelevant sample) exceeds the model context of ${maxLen}`, { field: 'prompt', tokens: longest, context: maxLen });
  const probeRow = E + irrTexts.length - 1;
  const Ri = nextPow2(irrTexts.length, 1); // irrelevant rows + the probe row, bucketed
  const R = E + Ri;
  const Tb = Math.min(roundUp(Math.max(...seqs.map((s) => s.length)), 16), Math.max(maxLen, 16));
  const { ids, mask } = padRows(seqs, Tb, pad);
  const Nb = packedBucket(irrLengths.reduce((a, b) => a + b, 0));
  const irrMask = new Array<number>(Ri * Nb).fill(0);
  let at = 0;
  irrLengths.forEach((n, r) => {
    irrMask.fill(1, r * Nb + at, r * Nb + at + n);
    at += n;
  });
  const Kb = nextPow2(templates.length * targetIds.length, 8);
  const { rows, targets, weights } = templateTargetRows(starts, Tb, targetIds, Kb);
  const isEdit = Array.from({ length: R }, (_, r) => (r < E ? 1 : 0));
  const isOut = Array.from({ length: R }, (_, r) => (r >= E && r < probeRow ? 1 : 0));
  return { R, E, Tb, Kb, ids, mask, rows, targets, weights, isEdit, isOut, probeRow, targetIds, irrTexts, irrIds, Nb, irrMask };
}
