/**
 * SideMemory: the edited layer's down projection W (frozen, the main memory) and the
 * machinery that trains a copy W′ on one edit: context templates, the edit batch, one pass
 * of the frozen layers below (run once per edit), then n_iter masked SGD steps through a
 * cached static gradient graph per bucket (only the layers above the edited weight).
 */
import type { Graph } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { tensorData } from '../graph/types.js';
import { WiseError } from '../util/errors.js';
import { CausalLM } from '../model/causal-lm.js';
import { editWeightName } from '../model/arch.js';
import { transformerFeeds } from '../model/feeds.js';
import { buildEditBatch, normalizeTarget, type EditBatch } from './rows.js';
import { buildEditStepGraph } from './step-graph.js';
import { accumulateMoment, topEigenvectors } from './projection.js';
import { STEP_FETCHES, trainSideMemory, type EditHparams, type EditTrainResult } from './train.js';
import { TrainProcess } from './train-process.js';
import { generateContextTemplates } from '../model/edit-text.js';
import type { MarginParams } from './loss.js';

export interface SideMemoryOptions {
  layer: number;
  /** how a sequence's score reduces its token scores: mean (WISE) or max */
  scoreReduce?: 'mean' | 'max';
  margin: MarginParams;
  hparams: EditHparams;
  /** wise.use_chat_template: texts run as sequences go through the chat template as one user message */
  chat?: boolean;
  /** run the step loop in a child process (train-process.ts; engine.train_process) */
  child?: boolean;
}

export interface EditInput {
  prompt: string;
  target: string;
  irrelevant: string | readonly string[];
}

export class SideMemory {
  readonly layer: number;
  readonly weightName: string;
  /** W in the checkpoint's layout */
  readonly base: Float32Array;
  readonly shape: number[];
  private readonly stepGraphs = new Map<string, Graph>();
  /** activations by token ids (insertion order = eviction order) */
  private readonly acts = new Map<string, { data: Float32Array; T: number }>();
  /** texts whose activation is kept (~T × ff × 4 bytes each: 55 KB for 20 tokens at ff 688) */
  static actCacheSize = 4096;
  /** U (r, ff) of memory/projection.ts, or null */
  private projection: { rank: number; u: Float32Array } | null = null;
  /** the training process, when opts.child (forked on the first edit) */
  readonly child: TrainProcess | null;

  constructor(readonly lm: CausalLM, readonly opts: SideMemoryOptions) {
    this.layer = opts.layer;
    if (opts.layer < 0 || opts.layer >= lm.config.numLayers) {
      throw new RangeError(`edit layer ${opts.layer} outside 0..${lm.config.numLayers - 1}`);
    }
    this.weightName = editWeightName(lm.spec, opts.layer);
    const w = lm.ckpt.weights.get(this.weightName)!;
    this.base = w.data;
    this.shape = [...w.shape];
    this.child = opts.child ? new TrainProcess(lm.engine.options, this.base) : null;
  }

  get size(): number {
    return this.base.length;
  }

  /** Context templates (model/edit-text.ts): "{}" plus generated prefixes. Generated once per store. */
  contextTemplates(count: number): Promise<string[]> {
    return generateContextTemplates(this.lm, count);
  }

  /**
   * Ids of a text the editor runs as a sequence of its own (an edit row, the bare prompt, an irrelevant or pool
   * text): the tokenizer's prompt prefix and the text, or, with `chat`, the chat template around it as one user
   * message with the generation prompt, tokenized as rendered (the template writes its own BOS).
   */
  queryIds(text: string): number[] {
    const tok = this.lm.tokenizer;
    if (!this.opts.chat) return tok.encodePrompt(text);
    const rendered = tok.applyChatTemplate([{ role: 'user', content: text }], { addGenerationPrompt: true });
    if (rendered === null) throw new WiseError('WISE_BAD_CONFIG', `wise.use_chat_template: ${tok.dir} has no chat template (tokenizer_config.json chat_template)`, { field: 'wise.use_chat_template' });
    return tok.encode(rendered);
  }

  batch(templates: readonly string[], e: EditInput): EditBatch {
    const enc = { encode: (t: string) => this.lm.tokenizer.encode(t), encodePrompt: (t: string) => this.queryIds(t) };
    return buildEditBatch(enc, templates, e.prompt, e.target, e.irrelevant, this.lm.padId, this.lm.config.maxPositionEmbeddings);
  }

  /** The layers below the edited one, and its MLP up to the down projection's input (dynamic B, T). */
  lowerGraph(): Graph {
    return this.lm.graph(`lower-${this.layer}`, { batch: 'B', seq: 'T', toLayer: this.layer + 1, exposeLayer: this.layer, logits: 'none', name: 'lower' });
  }

  /**
   * The frozen part: one pass of the layers below over the E edit rows, giving the residual
   * stream entering the edited layer's MLP (`hidden_in` (E, Tb, d)), and the down projection's
   * input A(x) for the irrelevant rows, packed (`irr_act` (Nb, ff), rows.ts).
   */
  async lowerPass(b: EditBatch): Promise<Record<string, TensorData>> {
    const g = this.lowerGraph();
    const feeds = transformerFeeds(this.lm.spec, this.lm.config, b.ids, b.mask, b.E, b.Tb);
    const out = await this.lm.engine.run(g, feeds, ['resid_mid']);
    const step = transformerFeeds(this.lm.spec, this.lm.config, [], b.mask, b.E, b.Tb);
    delete step.position_ids; // the step graph starts above the embeddings
    const ff = this.ffDim;
    const packed = new Float32Array(b.Nb * ff);
    let at = 0;
    for (const ids of b.irrIds) {
      const a = await this.idsActivation(ids);
      packed.set(a.data, at * ff);
      at += a.T;
    }
    return { ...step, hidden_in: out.resid_mid!, irr_act: tensorData('float32', [b.Nb, ff], packed) };
  }

  /**
   * A(x) (T, ff) of one text on its own (B = 1, no padding), cached by its token ids: the same
   * text (a train-split sample drawn again, a replayed prompt) always gets the same bits,
   * whatever batch it came in.
   */
  textActivation(text: string): Promise<{ data: Float32Array; T: number }> {
    return this.idsActivation(this.queryIds(text));
  }

  private async idsActivation(ids: readonly number[]): Promise<{ data: Float32Array; T: number }> {
    const key = ids.join(',');
    let a = this.acts.get(key);
    if (!a) {
      a = ids.length === 0 ? { data: new Float32Array(0), T: 0 } : await this.activationOf([...ids]);
      if (this.acts.size >= SideMemory.actCacheSize) this.acts.delete(this.acts.keys().next().value!); // oldest first
      this.acts.set(key, a);
    }
    return a;
  }

  private async activationOf(ids: number[]): Promise<{ data: Float32Array; T: number }> {
    const out = await this.lm.engine.run(this.lowerGraph(), transformerFeeds(this.lm.spec, this.lm.config, ids, ids.map(() => 1), 1, ids.length), ['mlp_down_input']);
    return { data: Float32Array.from(out.mlp_down_input!.data as Float32Array), T: ids.length };
  }

  /**
   * A(x) (T, ff): the down projection's input at the edited layer for `prompt + " " + target`,
   * tokenized as the edit's bare-prompt row is (the row its threshold score comes from), or for
   * the prompt alone when `target` is null.
   */
  async promptActivation(prompt: string, target: string | null): Promise<{ data: Float32Array; T: number }> {
    if (target === null) return this.textActivation(prompt);
    return this.activationOf([...this.queryIds(prompt), ...this.lm.tokenizer.encode(normalizeTarget(target))]);
  }

  /**
   * U (r, ff) for setProjection: the top-r eigenvectors of Σ a aᵀ over every token of `texts`
   * at the down projection's input (memory/projection.ts).
   */
  async projectionFrom(texts: readonly string[], rank: number): Promise<Float32Array> {
    const ff = this.ffDim;
    const C = new Float64Array(ff * ff);
    for (const text of texts) {
      const ids = this.queryIds(text);
      if (ids.length === 0) continue;
      accumulateMoment(C, (await this.activationOf(ids)).data, ff);
    }
    return topEigenvectors(C, ff, rank);
  }

  /** Every input of the step graph for batch `b` except side_weight. */
  async stepFeeds(b: EditBatch): Promise<Record<string, TensorData>> {
    return {
      ...(await this.lowerPass(b)),
      rows: tensorData('int64', [b.Kb], b.rows),
      row_targets: tensorData('int64', [b.Kb], b.targets),
      row_weights: tensorData('float32', [b.Kb], b.weights),
      token_mask: tensorData('float32', [b.E, b.Tb], b.mask),
      irr_mask: tensorData('float32', [b.R - b.E, b.Nb], b.irrMask),
      is_edit: tensorData('float32', [b.R], b.isEdit),
      is_out: tensorData('float32', [b.R], b.isOut),
    };
  }

  /** Projects every training step's gradient off U (r, ff) from now on (null: none). */
  setProjection(p: { rank: number; u: Float32Array } | null): void {
    this.projection = p;
  }

  /** The down projection's input width (ff). */
  get ffDim(): number {
    return this.lm.spec.layer.mlp.down.layout === 'out_in' ? this.shape[1]! : this.shape[0]!;
  }

  stepGraph(b: EditBatch): Graph {
    const projRank = this.projection?.rank ?? 0;
    const key = `${b.E}x${b.Tb}+${b.R - b.E}n${b.Nb}k${b.Kb}p${projRank}`;
    let g = this.stepGraphs.get(key);
    if (!g) {
      g = buildEditStepGraph(this.lm.spec, this.lm.config, this.lm.ckpt.weights, this.layer, { ...b, projRank }, this.opts.margin, this.opts.scoreReduce ?? 'mean', this.lm.weightBytes > CausalLM.initializerLimitBytes);
      this.stepGraphs.set(key, g);
    }
    return g;
  }

  /** Trains `side` (W′, in place) on one edit inside the gradient `mask`. */
  async train(side: Float32Array, mask: Float32Array, b: EditBatch, hp: EditHparams = this.opts.hparams): Promise<EditTrainResult> {
    const feeds = await this.stepFeeds(b);
    if (this.projection) {
      feeds.proj_u = tensorData('float32', [this.projection.rank, this.ffDim], this.projection.u);
      feeds.grad_mask = tensorData('float32', [...this.shape], mask);
    }
    const g = this.stepGraph(b);
    if (this.child) return this.child.train(g, feeds, side, mask, this.shape, b, hp);
    return trainSideMemory((w) => this.lm.engine.run(g, { ...feeds, side_weight: w }, STEP_FETCHES), side, this.base, this.shape, mask, b, hp);
  }

  /** Stops the training process, if any. */
  close(): Promise<void> {
    return this.child?.close() ?? Promise.resolve();
  }
}
