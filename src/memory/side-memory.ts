/**
 * SideMemory: the edited layer's down projection W (frozen, the main memory) and the
 * machinery that trains a copy W′ on one edit: context templates, the edit batch, one pass
 * of the frozen layers below (run once per edit), then n_iter masked SGD steps through a
 * cached static gradient graph per bucket (only the layers above the edited weight).
 */
import type { Graph } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { tensorData } from '../graph/types.js';
import { CausalLM } from '../model/causal-lm.js';
import { editWeightName } from '../model/arch.js';
import { transformerFeeds } from '../model/feeds.js';
import { buildEditBatch, type EditBatch } from './rows.js';
import { buildEditStepGraph } from './step-graph.js';
import { trainSideMemory, type EditHparams, type EditTrainResult } from './train.js';
import type { MarginParams } from './loss.js';

export interface SideMemoryOptions {
  layer: number;
  /** how a sequence's score reduces its token scores: mean (WISE) or max */
  scoreReduce?: 'mean' | 'max';
  margin: MarginParams;
  hparams: EditHparams;
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

  constructor(readonly lm: CausalLM, readonly opts: SideMemoryOptions) {
    this.layer = opts.layer;
    if (opts.layer < 0 || opts.layer >= lm.config.numLayers) {
      throw new RangeError(`edit layer ${opts.layer} outside 0..${lm.config.numLayers - 1}`);
    }
    this.weightName = editWeightName(lm.spec, opts.layer);
    const w = lm.ckpt.weights.get(this.weightName)!;
    this.base = w.data;
    this.shape = [...w.shape];
  }

  get size(): number {
    return this.base.length;
  }

  /**
   * Context templates (wise-reference.md §1.3): the bare "{}" plus greedy continuations of
   * short seeds by the base model, each used as "<prefix> {}". Generated once per store.
   */
  async contextTemplates(count: number): Promise<string[]> {
    const seeds = ['I', 'You', 'Because', 'Yes', 'Q:'];
    const lengths = [5, 10];
    const out = ['{}'];
    for (const len of lengths) {
      for (const s of seeds) {
        if (out.length > count) break;
        const ids = this.lm.tokenizer.encode(s);
        const r = await this.lm.generate(ids, { maxTokens: len, stopIds: [] });
        const text = (s + this.lm.tokenizer.decode(r.ids, { skipSpecialTokens: true })).replace(/[{}]/g, ' ').replace(/\s+/g, ' ').trim();
        out.push(`${text} {}`);
      }
    }
    return out.slice(0, count + 1);
  }

  batch(templates: readonly string[], e: EditInput): EditBatch {
    return buildEditBatch(this.lm.tokenizer, templates, e.prompt, e.target, e.irrelevant, this.lm.padId, this.lm.config.maxPositionEmbeddings);
  }

  /** The frozen part: the residual stream entering the edited layer's MLP, (R, Tb, d). */
  private async lowerPass(b: EditBatch): Promise<Record<string, TensorData>> {
    const g = this.lm.graph(`lower-${this.layer}`, { batch: 'B', seq: 'T', toLayer: this.layer + 1, exposeLayer: this.layer, logits: 'none', name: 'lower' });
    const feeds = transformerFeeds(this.lm.spec, this.lm.config, b.ids, b.mask, b.R, b.Tb);
    const out = await this.lm.engine.run(g, feeds, ['resid_mid']);
    const step = transformerFeeds(this.lm.spec, this.lm.config, [], b.mask, b.R, b.Tb);
    delete step.position_ids; // the step graph starts above the embeddings
    return { ...step, hidden_in: out.resid_mid! };
  }

  private stepGraph(b: EditBatch): Graph {
    const key = `${b.R}x${b.Tb}k${b.Kb}`;
    let g = this.stepGraphs.get(key);
    if (!g) {
      g = buildEditStepGraph(this.lm.spec, this.lm.config, this.lm.ckpt.weights, this.layer, b, this.opts.margin, this.opts.scoreReduce ?? 'mean', this.lm.weightBytes > CausalLM.initializerLimitBytes);
      this.stepGraphs.set(key, g);
    }
    return g;
  }

  /** Trains `side` (W′, in place) on one edit inside the gradient `mask`. */
  async train(side: Float32Array, mask: Float32Array, b: EditBatch, hp: EditHparams = this.opts.hparams): Promise<EditTrainResult> {
    const lower = await this.lowerPass(b);
    const feeds: Record<string, TensorData> = {
      ...lower,
      rows: tensorData('int64', [b.Kb], b.rows),
      row_targets: tensorData('int64', [b.Kb], b.targets),
      row_weights: tensorData('float32', [b.Kb], b.weights),
      token_mask: tensorData('float32', [b.R, b.Tb], b.mask),
      is_edit: tensorData('float32', [b.R], b.isEdit),
    };
    return trainSideMemory(this.lm.engine, this.stepGraph(b), feeds, side, this.base, this.shape, mask, b.isEdit, hp);
  }
}
