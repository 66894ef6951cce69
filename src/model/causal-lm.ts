/**
 * CausalLM: a loaded checkpoint + tokenizer + engine, with its graphs built once and kept
 * for the life of the object (sessions are cached by graph hash in the engine, so a graph
 * object must be reused, not rebuilt, per call).
 *
 * Variants: WISE (src/router) plugs into the edited layer through a `Variant` — a down-
 * projection hook plus its extra feeds (side-memory weights, thresholds). A variant's
 * graphs are cached under its key; its feeds change per call, so new edits never need
 * new graphs. Decoding: a prefill pass over the prompt (P = 0), then one token per step
 * with the KV cache; `variant.decodeFeeds` carries state decided at prefill (the route)
 * into every step.
 */
import type { Graph } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { Engine, defaultEngine } from '../engine/index.js';
import { WiseError } from '../util/errors.js';
import { buildTransformer, type DownHookCtx, type TransformerOptions } from './transformer.js';
import { padBatch, transformerFeeds, type PaddedBatch } from './feeds.js';
import { loadCheckpoint, type Checkpoint } from './weights.js';
import { stopIdsOf } from './config.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { checkIds } from './tokenizer.js';
import type { Value } from '../graph/index.js';
import { takeRowsAll } from './batch-rows.js';
import type { TokenConstraint } from './constrain/token-constraint.js';
import { poolRows, type Pooling } from './pooling.js';
import { DecodeBatch, decodeRow, rowOutput, sampleInto, type DecodeRow } from './decode-batch.js';
import type { LogitShaping } from './logit-shaping.js';

export interface Variant {
  /** cache key of the variant's graphs (its structure, e.g. 'wise-merge-3mem') */
  key: string;
  hook: (ctx: DownHookCtx) => Value;
  /** extra graph outputs to fetch (e.g. 'route', 'route_score') */
  outputs: string[];
  /** extra feeds of a full pass / prefill over (B, T) tokens with padding mask (B·T) */
  feeds(batch: number, seq: number, mask: readonly number[]): Record<string, TensorData>;
  /** extra feeds of decode steps over (B, T) new tokens, given the prefill's extra outputs */
  decodeFeeds(batch: number, seq: number, prefill: Record<string, TensorData>): Record<string, TensorData>;
  /**
   * The hook of decode steps after the prefill, when they need less than `hook` (the router:
   * the route is already decided, so nothing is scored); `decodeFeeds` then feeds this graph.
   */
  stepHook?: (ctx: DownHookCtx) => Value;
  /**
   * True when the decode steps after this prefill compute exactly what the plain model does, so they
   * run the plain decode graph with no extra feeds (the router: the prompt was routed to main).
   */
  plainSteps?: (prefill: Record<string, TensorData>) => boolean;
  /**
   * The most tokens (B·T) one full pass of this variant should carry, where its intermediates grow
   * with something else than the model (the router: (B·T, M·d) scores for M memories). Callers that
   * batch many rows (the evaluation's scorer) split their batches to stay under it. Absent: no cap.
   */
  maxTokens?: number;
}

export interface ForwardResult {
  /** (B, T, V) */
  logits: Float32Array;
  batch: PaddedBatch;
  extra: Record<string, TensorData>;
}

export interface GenerateOpts {
  maxTokens: number;
  temperature?: number;
  topP?: number;
  /** sampling.ts: 0 or absent = off */
  topK?: number;
  minP?: number;
  /** logit bias and penalties, applied before the choice, greedy or sampled (logit-shaping.ts) */
  shaping?: LogitShaping;
  seed?: number;
  /** token ids that end generation (default: the model's eos ids) */
  stopIds?: number[];
  /** the stop ids cannot be chosen before this many tokens are generated (vLLM's min_tokens) */
  minTokens?: number;
  /**
   * structured output: a new constraint per sequence (constrain/token-constraint.ts); only tokens that
   * keep the text acceptable are chosen, the stop ids only once it is complete, and the sequence ends
   * (finish 'stop') as soon as nothing may follow
   */
  constraint?: () => TokenConstraint;
  /** return true to stop after this token (e.g. a stop string matched); `logits` (V,) are those it was chosen from, valid during the call */
  onToken?: (id: number, logits: Float32Array) => boolean | void;
  signal?: AbortSignal;
  variant?: Variant;
  /** false = recompute the whole context every step (for checks) */
  useCache?: boolean;
  /** called once with this sequence's output as soon as it ends (generateMany: while the other rows go on) */
  onEnd?: (out: GenerateOutput) => void;
}

export interface GenerateOutput {
  ids: number[];
  finishReason: 'stop' | 'length';
  /** extra outputs of the prefill (e.g. the route) */
  prefill: Record<string, TensorData>;
  /** the logits each token was chosen from (V,) per step, when requested */
  stepLogits?: Float32Array[];
}

export type { DownHookCtx };

export class CausalLM {
  private readonly graphs = new Map<string, Graph>();

  constructor(
    readonly ckpt: Checkpoint,
    readonly tokenizer: Tokenizer,
    readonly engine: Engine = defaultEngine(),
  ) {}

  static async load(dir: string, engine?: Engine): Promise<CausalLM> {
    const [ckpt, tok] = await Promise.all([loadCheckpoint(dir), loadTokenizer(dir)]);
    return new CausalLM(ckpt, tok, engine);
  }

  get config() {
    return this.ckpt.config;
  }
  get spec() {
    return this.ckpt.spec;
  }
  get padId(): number {
    return this.tokenizer.padId ?? this.config.padTokenId ?? this.tokenizer.eosId ?? 0;
  }
  /** config.json's eos ids, then generation_config.json's, then the tokenizer's eos token */
  get eosIds(): number[] {
    return stopIdsOf(this.config.eosTokenIds, this.ckpt.generationEosIds, this.tokenizer.eosId);
  }

  /**
   * Frozen weights go into graphs as initializers (ORT prepacks them: fastest) unless the model
   * is large: a protobuf cannot exceed 2 GB, and each initializer session holds its own copy,
   * so above this many bytes of weights they are graph inputs fed zero-copy from JS memory.
   */
  static initializerLimitBytes = 1.2e9;

  get weightBytes(): number {
    let n = 0;
    for (const w of this.ckpt.weights.values()) n += w.data.byteLength;
    return n;
  }

  /** A cached graph of this model. `key` must identify `opts` (and the variant) uniquely. */
  graph(key: string, opts: TransformerOptions): Graph {
    let g = this.graphs.get(key);
    if (!g) {
      if (opts.inputWeights === undefined && this.weightBytes > CausalLM.initializerLimitBytes) opts = { ...opts, inputWeights: 'all' };
      g = buildTransformer(this.spec, this.config, this.ckpt.weights, opts);
      this.graphs.set(key, g);
    }
    return g;
  }

  private fullGraph(v?: Variant): Graph {
    return this.graph(`full:${v?.key ?? 'base'}`, { batch: 'B', seq: 'T', logits: 'all', hooks: v ? { down: v.hook } : {}, name: 'forward' });
  }

  /** The prefill's graph (step 0), or with `step` the graph of the decode steps after it. */
  decodeGraph(v?: Variant, step = false): Graph {
    if (step && v?.stepHook) return this.graph(`step:${v.key}`, { batch: 'B', seq: 'T', cache: true, logits: 'last', hooks: { down: v.stepHook }, name: 'decode-step' });
    return this.graph(`decode:${v?.key ?? 'base'}`, { batch: 'B', seq: 'T', cache: true, logits: 'last', hooks: v ? { down: v.hook } : {}, name: 'decode' });
  }

  checkIds(seqs: readonly (readonly number[])[]): void {
    seqs.forEach((s) => checkIds(s, this.config.vocabSize, 'input ids'));
  }

  /**
   * The longest sequence the model takes: config max_position_embeddings (n_positions for GPT-2).
   * Learned positions end there (a longer input fails inside onnxruntime's Gather); RoPE models
   * were trained up to it, so wise-edit holds them to it too, as llama.cpp holds a model to n_ctx.
   */
  get contextLength(): number {
    return this.config.maxPositionEmbeddings;
  }

  /** WISE_CONTEXT_LENGTH unless `tokens` fit the context. */
  private checkContext(tokens: number, what: string): void {
    const L = this.contextLength;
    if (tokens > L) throw new WiseError('WISE_CONTEXT_LENGTH', `${what} of ${tokens} tokens exceeds the model context of ${L} (max_position_embeddings)`, { field: 'prompt', tokens, context: L });
  }

  /** Full teacher-forced pass over a padded batch: logits (B, T, V). */
  async forward(seqs: readonly (readonly number[])[], opts: { side?: 'left' | 'right'; variant?: Variant } = {}): Promise<ForwardResult> {
    this.checkIds(seqs);
    this.checkContext(Math.max(0, ...seqs.map((s) => s.length)), 'a sequence');
    const b = padBatch(seqs, opts.side ?? 'left', this.padId);
    const v = opts.variant;
    const feeds = { ...transformerFeeds(this.spec, this.config, b.ids, b.mask, b.batch, b.seq), ...(v?.feeds(b.batch, b.seq, b.mask) ?? {}) };
    const out = await this.engine.run(this.fullGraph(v), feeds, ['logits', ...(v?.outputs ?? [])]);
    const extra: Record<string, TensorData> = {};
    for (const k of v?.outputs ?? []) extra[k] = out[k]!;
    return { logits: out.logits!.data as Float32Array, batch: b, extra };
  }

  /**
   * One embedding (d) per sequence: the last hidden state (after the final norm) pooled over the
   * sequence (pooling.ts; with pooling 'none' every token's state, (n, d) row-major), through `variant`
   * when given (the router decides per sequence, as for a forward). One pass over the padded batch;
   * the caller chunks (Variant.maxTokens).
   */
  async embed(seqs: readonly (readonly number[])[], o: { variant?: Variant; pooling: Pooling; normalize: boolean }): Promise<{ vectors: Float32Array[]; extra: Record<string, TensorData> }> {
    this.checkIds(seqs);
    this.checkContext(Math.max(0, ...seqs.map((s) => s.length)), 'an input');
    if (seqs.some((s) => s.length === 0)) throw new WiseError('WISE_BAD_REQUEST', 'an input to embed has no tokens', { field: 'input' });
    const b = padBatch(seqs, 'left', this.padId);
    const v = o.variant;
    const g = this.graph(`embed:${v?.key ?? 'base'}`, { batch: 'B', seq: 'T', logits: 'none', finalHidden: true, hooks: v ? { down: v.hook } : {}, name: 'embed' });
    const feeds = { ...transformerFeeds(this.spec, this.config, b.ids, b.mask, b.batch, b.seq), ...(v?.feeds(b.batch, b.seq, b.mask) ?? {}) };
    const name = `hidden_${this.config.numLayers}`;
    const out = await this.engine.run(g, feeds, [name, ...(v?.outputs ?? [])]);
    const extra: Record<string, TensorData> = {};
    for (const k of v?.outputs ?? []) extra[k] = out[k]!;
    const vectors = poolRows(out[name]!.data as Float32Array, this.config.hiddenSize, b.seq, b.offsets, b.lengths, o.pooling, o.normalize);
    return { vectors, extra };
  }

  /** WISE_BAD_REQUEST / WISE_CONTEXT_LENGTH unless `prompt` can be decoded from. */
  checkPrompt(prompt: readonly number[]): void {
    if (prompt.length === 0) throw new WiseError('WISE_BAD_REQUEST', 'prompt must have at least one token', { field: 'prompt' });
    this.checkIds([prompt]);
    const ctxLen = this.contextLength;
    if (prompt.length >= ctxLen) throw new WiseError('WISE_CONTEXT_LENGTH', `a prompt of ${prompt.length} tokens leaves no room for a new token in the model context of ${ctxLen} (max_position_embeddings)`, { field: 'prompt', tokens: prompt.length, context: ctxLen });
  }

  /**
   * Decodes one prompt (B = 1). Greedy unless temperature > 0 (seeded). The prompt and the new
   * tokens together stay within the context: a prompt that leaves no room for one new token is
   * WISE_CONTEXT_LENGTH, and generation stops at the context's end with finish reason 'length'
   * (llama.cpp's behaviour; OpenAI refuses such a max_tokens instead).
   */
  async generate(prompt: readonly number[], o: GenerateOpts, keepLogits = false): Promise<GenerateOutput> {
    return (await this.generateMany([prompt], [o], keepLogits))[0]!;
  }

  /**
   * Decodes several prompts as one batch, each under its own options (budget, seed, stop ids,
   * onToken, signal) and each exactly as `generate` would alone, up to float rounding: the rows
   * are left-padded (every row's last token in the last column, so `logits_last` (B, V) holds each
   * row's next-token logits), padding is masked out of attention and positions count real tokens
   * only, and a variant decides per row (the router's route (B)). GEMMs over B rows may sum in
   * another order than over one, so logits can differ in the last bits (llama.cpp and vLLM batch
   * the same way). A row that ends (stop id, onToken, budget, its signal) leaves the batch: the
   * later steps run on the other rows' KV cache, key mask and prefill outputs only.
   * Every row must use the same `variant` (one graph) and the same `useCache`.
   */
  async generateMany(prompts: readonly (readonly number[])[], opts: readonly GenerateOpts[], keepLogits = false): Promise<GenerateOutput[]> {
    if (opts.length !== prompts.length) throw new WiseError('WISE_INTERNAL', `generateMany: ${prompts.length} prompts but ${opts.length} option sets`);
    if (prompts.length === 0) return [];
    const v = opts[0]!.variant;
    const useCache = opts[0]!.useCache ?? true;
    if (opts.some((o) => o.variant !== v || (o.useCache ?? true) !== useCache)) throw new WiseError('WISE_INTERNAL', 'generateMany: every row must use the same variant and useCache');
    prompts.forEach((p) => this.checkPrompt(p));
    const rows = prompts.map((p, i) => decodeRow(p, opts[i]!, this.contextLength, this.eosIds, keepLogits));
    for (const r of rows) {
      if (r.budget > 0 && !r.o.signal?.aborted) continue;
      r.done = true;
      r.o.onEnd?.(rowOutput(r));
    }
    let live = rows.filter((r) => !r.done);
    if (live.length === 0) return rows.map(rowOutput);
    if (useCache) {
      // rows the router sent to main step on the plain graph, in a batch of their own (takePlain)
      const first = await DecodeBatch.prefill(this, live, v);
      const batches = [first, first.takePlain()].filter((b): b is DecodeBatch => b !== undefined);
      const report = (): void => {
        const ended = new Set(batches.flatMap((b) => b.dropEnded()));
        for (const r of rows) if (ended.has(r)) r.o.onEnd?.(rowOutput(r)); // in prompt order
      };
      for (report(); batches.some((b) => b.size > 0); report()) await Promise.all(batches.map((b) => (b.size > 0 ? b.step() : undefined)));
      return outputs(rows);
    }
    // without the cache (for checks): every step recomputes the whole context of the live rows
    const V = this.config.vocabSize;
    for (let step = 0; live.length > 0; step++) {
      const r = await this.forward(live.map((x) => x.ctx), { variant: v });
      const T = r.batch.seq;
      live.forEach((x, j) => {
        if (step === 0) x.prefill = takeRowsAll(r.extra, [j]);
        sampleInto(x, r.logits.subarray((j * T + T - 1) * V, (j * T + T) * V));
      });
      for (const x of live) if (x.o.signal?.aborted) x.done = true;
      for (const x of live) if (x.done) x.o.onEnd?.(rowOutput(x));
      live = live.filter((x) => !x.done);
    }
    return outputs(rows);
  }
}

/** Every row's output; the first error a row's onToken threw is thrown instead. */
function outputs(rows: readonly DecodeRow[]): GenerateOutput[] {
  const failed = rows.find((r) => r.error !== undefined);
  if (failed) throw failed.error;
  return rows.map(rowOutput);
}
