/**
 * DecodeBatch: sequences decoding together with the KV cache, for CausalLM.generateMany and the
 * DecodeScheduler (decode-scheduler.ts). Every row is in the same state between calls: its
 * tokens so far are in the cache except the last one sampled, which the next `step` feeds.
 *
 *  - `prefill(rows)` runs the prompts as one left-padded batch (every row's last token in the last
 *    column, so `logits_last` (B, V) holds each row's next-token logits) and samples each row's
 *    first token; padding is masked out of attention and positions count real tokens only
 *    (feeds.ts), and a variant decides per row (the router's route (B), kept in `prefill`);
 *  - `step()` feeds every row its last token and samples the next;
 *  - `dropEnded()` takes the rows that ended (stop id, onToken, budget, aborted signal) out of the
 *    batch, their KV-cache rows, key-mask rows and prefill outputs with them, and returns them (the
 *    caller reports each: its onEnd);
 *  - `merge(other)` joins another batch of the same variant: the shorter caches are padded on the
 *    left (masked key columns), so rows that started at different times decode together;
 *  - `takePlain()` moves the rows whose steps the plain model computes exactly (the router sent
 *    them to main) into a batch of their own on the plain step graph, which can merge with the
 *    plain rows of any other variant.
 * Each row gets what it would get alone up to float rounding (a GEMM over B rows may sum in
 * another order than over one).
 * Shapes: past_key_i / past_value_i (B, kv, P, D); keyMask (B, P) row-major, 1 = token.
 */
import type { Graph, TensorData } from '../graph/index.js';
import type { Engine } from '../engine/index.js';
import { Rng } from '../util/rng.js';
import { WiseError } from '../util/errors.js';
import { padBatch, transformerFeeds } from './feeds.js';
import { sampleToken } from './sampling.js';
import { shapeLogits } from './logit-shaping.js';
import type { TokenConstraint } from './constrain/token-constraint.js';
import { concatRows, padPast, sharedPadding, takeMaskRows, takeRowsAll, trimPast } from './batch-rows.js';
import type { ArchSpec } from './arch.js';
import type { ModelConfig } from './config.js';
import type { GenerateOpts, GenerateOutput, Variant } from './causal-lm.js';

/** What a DecodeBatch needs of its model. */
export interface DecodeModel {
  readonly spec: ArchSpec;
  readonly config: ModelConfig;
  readonly engine: Engine;
  readonly padId: number;
  /** the prefill's graph, or with `step` the graph of the decode steps after it */
  decodeGraph(v: Variant | undefined, step: boolean): Graph;
}

/** One sequence: its options, context so far and sampling state. */
export interface DecodeRow {
  o: GenerateOpts;
  /** prompt + generated ids */
  ctx: number[];
  ids: number[];
  budget: number;
  rng: Rng;
  stop: Set<number>;
  finish: 'stop' | 'length';
  /** this row's slice of the prefill's extra outputs */
  prefill: Record<string, TensorData>;
  /** the logits each token was chosen from, when kept */
  stepLogits?: Float32Array[];
  /** structured output's state (GenerateOpts.constraint) */
  constraint?: TokenConstraint;
  /** ended: leaves the batch at the next dropEnded */
  done: boolean;
  /** what the row's onToken threw: the row ended there, and its caller gets this error */
  error?: unknown;
}

/** A row for `prompt` under `o` in a model of context `contextLength` (eos ids: the default stop ids). */
export function decodeRow(prompt: readonly number[], o: GenerateOpts, contextLength: number, eosIds: readonly number[], keepLogits: boolean): DecodeRow {
  // Rng keeps a number's low 32 bits; a larger seed (the server takes up to 2^53 − 1) is hashed instead, so it does not alias a small one
  const seed = o.seed ?? 0;
  return {
    o,
    ctx: [...prompt],
    ids: [],
    budget: Math.min(o.maxTokens, contextLength - prompt.length),
    rng: new Rng(seed <= 0xffffffff ? seed : String(seed)),
    stop: new Set(o.stopIds ?? eosIds),
    finish: 'length',
    prefill: {},
    ...(keepLogits ? { stepLogits: [] } : {}),
    ...(o.constraint ? { constraint: o.constraint() } : {}),
    done: false,
  };
}

/** The row's output as `generate` returns it. */
export const rowOutput = (r: DecodeRow): GenerateOutput => ({ ids: r.ids, finishReason: r.finish, prefill: r.prefill, ...(r.stepLogits ? { stepLogits: r.stepLogits } : {}) });

/** Samples row `r`'s next token from `row` (V,), and marks the row done when it ends. */
export function sampleInto(r: DecodeRow, row: Float32Array): void {
  r.stepLogits?.push(Float32Array.from(row));
  const o = r.o;
  let shaped = shapeLogits(row, o.shaping, r.ctx, r.ids);
  if (r.ids.length < (o.minTokens ?? 0) && r.stop.size > 0) {
    // min_tokens: no stop id before then (a copy: `row` is what the model computed, reported as is)
    if (shaped === row) shaped = Float32Array.from(row);
    for (const id of r.stop) if (id >= 0 && id < shaped.length) shaped[id] = -Infinity;
  }
  if (r.constraint) {
    shaped = constrained(r, shaped);
    if (!shaped.some((x) => x > -Infinity)) {
      // no token keeps the text acceptable (a vocabulary that cannot spell what must come next): end here, as
      // 'length' (the text is incomplete: a 'stop' choice under a constraint is always complete)
      r.finish = 'length';
      r.done = true;
      return;
    }
  }
  const next = sampleToken(shaped, { temperature: o.temperature ?? 0, topP: o.topP ?? 1, topK: o.topK ?? 0, minP: o.minP ?? 0 }, r.rng);
  if (r.stop.has(next)) {
    r.finish = 'stop';
    r.done = true;
    return;
  }
  r.ids.push(next);
  r.ctx.push(next);
  let end: boolean | void;
  try {
    end = r.o.onToken?.(next, row);
  } catch (e) {
    // one caller's callback must not fail the other rows of the batch: only this row ends
    r.error = e;
    r.done = true;
    return;
  }
  r.constraint?.advance(next);
  if (end === true || r.constraint?.finished) {
    r.finish = 'stop';
    r.done = true;
  } else if (r.ids.length >= r.budget) r.done = true;
}

/** `row` with every token the constraint refuses at −∞; the stop ids stay only where the text is complete (and min_tokens reached). */
function constrained(r: DecodeRow, row: Float32Array): Float32Array {
  const c = r.constraint!;
  const out = new Float32Array(row.length).fill(-Infinity);
  for (const id of c.allowed()) if (id < row.length) out[id] = row[id] as number;
  if (c.accepting) for (const id of r.stop) if (id >= 0 && id < row.length) out[id] = row[id] as number;
  return out;
}

export class DecodeBatch {
  private constructor(
    private readonly m: DecodeModel,
    readonly variant: Variant | undefined,
    private rows: DecodeRow[],
    private past: Record<string, TensorData>,
    private keyMask: number[],
    /** the prefill's extra outputs of the rows, (B, …) each */
    private prefill: Record<string, TensorData>,
  ) {}

  get size(): number {
    return this.rows.length;
  }

  /** the rows decoding in this batch */
  get members(): readonly DecodeRow[] {
    return this.rows;
  }

  /** cached tokens per row (P), padding included */
  get pastLength(): number {
    return this.rows.length === 0 ? 0 : this.keyMask.length / this.rows.length;
  }

  /** Runs the prompts of `rows` (each with budget > 0) as one prefill and samples their first tokens. */
  static async prefill(m: DecodeModel, rows: DecodeRow[], v: Variant | undefined): Promise<DecodeBatch> {
    const B = rows.length;
    const { numKvHeads: kv, headDim: D, numLayers: L, vocabSize: V } = m.config;
    const b = padBatch(rows.map((r) => r.ctx), 'left', m.padId);
    const empty: Record<string, TensorData> = {};
    for (let i = 0; i < L; i++) {
      empty[`past_key_${i}`] = { dtype: 'float32', dims: [B, kv, 0, D], data: new Float32Array(0) };
      empty[`past_value_${i}`] = { dtype: 'float32', dims: [B, kv, 0, D], data: new Float32Array(0) };
    }
    const feeds = { ...transformerFeeds(m.spec, m.config, b.ids, b.mask, B, b.seq, 0), ...empty, ...(v?.feeds(B, b.seq, b.mask) ?? {}) };
    const out = await m.engine.run(m.decodeGraph(v, false), feeds, [...presentNames(L), ...(v?.outputs ?? [])]);
    const prefill: Record<string, TensorData> = {};
    for (const k of v?.outputs ?? []) prefill[k] = out[k]!;
    rows.forEach((r, j) => (r.prefill = takeRowsAll(prefill, [j])));
    const batch = new DecodeBatch(m, v, rows, pastOf(out, L), b.mask, prefill);
    const logits = out.logits_last!.data as Float32Array;
    rows.forEach((r, j) => sampleInto(r, logits.subarray(j * V, (j + 1) * V)));
    return batch;
  }

  /** Feeds every row its last token and samples the next. */
  async step(): Promise<void> {
    const B = this.rows.length;
    if (B === 0) return;
    const P = this.pastLength;
    const { numLayers: L, vocabSize: V } = this.m.config;
    const grown: number[] = [];
    for (let j = 0; j < B; j++) grown.push(...this.keyMask.slice(j * P, (j + 1) * P), 1);
    const fresh = this.rows.map((r) => r.ctx[r.ctx.length - 1]!);
    const sv = this.variant; // rows routed to main have left for a plain batch (takePlain)
    const feeds = { ...transformerFeeds(this.m.spec, this.m.config, fresh, grown, B, 1, P), ...this.past, ...(sv?.decodeFeeds(B, 1, this.prefill) ?? {}) };
    const out = await this.m.engine.run(this.m.decodeGraph(sv, true), feeds, presentNames(L));
    this.past = pastOf(out, L);
    this.keyMask = grown;
    const logits = out.logits_last!.data as Float32Array;
    this.rows.forEach((r, j) => sampleInto(r, logits.subarray(j * V, (j + 1) * V)));
  }

  /** Marks rows whose signal aborted as ended, takes every ended row out of the batch, and returns them in batch order. */
  dropEnded(): DecodeRow[] {
    for (const r of this.rows) if (r.o.signal?.aborted) r.done = true;
    if (!this.rows.some((r) => r.done)) return [];
    const keep = this.rows.flatMap((r, j) => (r.done ? [] : [j]));
    const ended = this.rows.filter((r) => r.done);
    this.past = takeRowsAll(this.past, keep);
    this.keyMask = takeMaskRows(this.keyMask, this.pastLength, keep);
    this.prefill = takeRowsAll(this.prefill, keep);
    this.rows = keep.map((j) => this.rows[j]!);
    this.compact();
    return ended;
  }

  /**
   * Drops the cache positions that are padding in every remaining row (left there for rows that have
   * left). Without it a batch that never empties, as under steady traffic, grows by one position per
   * step: measured on bench:serve, 960 requests ran at half the rate of 240.
   */
  private compact(): void {
    const drop = sharedPadding(this.keyMask, this.rows.length);
    if (drop === 0) return;
    const P = this.pastLength;
    for (const k of Object.keys(this.past)) this.past[k] = trimPast(this.past[k]!, drop);
    this.keyMask = this.keyMask.filter((_, i) => i % P >= drop);
  }

  /**
   * Takes out the rows that `variant.plainSteps` clears one by one (each on its own prefill
   * slice) and returns them as a batch with no variant, whose steps run the plain decode graph;
   * undefined when there are none. A row keeps its prefill outputs (its routing report).
   */
  takePlain(): DecodeBatch | undefined {
    const plain = this.variant?.plainSteps;
    if (!plain) return undefined;
    const moved = this.rows.flatMap((r, j) => (plain(r.prefill) ? [j] : []));
    if (moved.length === 0) return undefined;
    const keep = this.rows.flatMap((_, j) => (moved.includes(j) ? [] : [j]));
    const P = this.pastLength;
    const out = new DecodeBatch(this.m, undefined, moved.map((j) => this.rows[j]!), takeRowsAll(this.past, moved), takeMaskRows(this.keyMask, P, moved), {});
    this.past = takeRowsAll(this.past, keep);
    this.keyMask = takeMaskRows(this.keyMask, P, keep);
    this.prefill = takeRowsAll(this.prefill, keep);
    this.rows = keep.map((j) => this.rows[j]!);
    this.compact();
    out.compact();
    return out;
  }

  /** Moves every row of `other` (same variant) into this batch; `other` is left empty. */
  merge(other: DecodeBatch): void {
    if (other.variant !== this.variant) throw new WiseError('WISE_INTERNAL', 'DecodeBatch.merge: the batches run different variants');
    if (other.size === 0) return;
    if (this.size === 0) {
      [this.rows, this.past, this.keyMask, this.prefill] = [other.rows, other.past, other.keyMask, other.prefill];
    } else {
      const P = Math.max(this.pastLength, other.pastLength);
      const [a, b] = [this.padded(P), other.padded(P)];
      const past: Record<string, TensorData> = {};
      for (const k of Object.keys(a.past)) past[k] = concatRows(a.past[k]!, b.past[k]!);
      const prefill: Record<string, TensorData> = {};
      for (const k of Object.keys(this.prefill)) prefill[k] = concatRows(this.prefill[k]!, other.prefill[k]!);
      [this.rows, this.past, this.keyMask, this.prefill] = [[...this.rows, ...other.rows], past, [...a.keyMask, ...b.keyMask], prefill];
    }
    [other.rows, other.past, other.keyMask, other.prefill] = [[], {}, [], {}];
  }

  /** The cache and key mask padded on the left to P cached tokens per row. */
  private padded(P: number): { past: Record<string, TensorData>; keyMask: number[] } {
    const p0 = this.pastLength;
    if (p0 === P) return { past: this.past, keyMask: this.keyMask };
    const past: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(this.past)) past[k] = padPast(t, P);
    const keyMask: number[] = [];
    for (let j = 0; j < this.rows.length; j++) keyMask.push(...new Array<number>(P - p0).fill(0), ...this.keyMask.slice(j * p0, (j + 1) * p0));
    return { past, keyMask };
  }
}

const presentNames = (L: number): string[] => ['logits_last', ...Array.from({ length: L }, (_, i) => [`present_key_${i}`, `present_value_${i}`]).flat()];

/** The step's present_* outputs as the next step's past_* feeds. */
function pastOf(out: Record<string, TensorData>, L: number): Record<string, TensorData> {
  const past: Record<string, TensorData> = {};
  for (let i = 0; i < L; i++) {
    past[`past_key_${i}`] = out[`present_key_${i}`]!;
    past[`past_value_${i}`] = out[`present_value_${i}`]!;
  }
  return past;
}
