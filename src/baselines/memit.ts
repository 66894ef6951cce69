/**
 * MEMIT (Meng et al. 2023) as EasyEdit runs it (easyeditor/models/memit: memit_main, compute_z,
 * compute_ks), on the down projections of a range of early layers (default `memitDefaultLayers`:
 * EasyEdit's llama-7b hparams use layers 4–8 of 32). Two ways to feed it edits:
 *   memit       each edit is its own batch of one, applied in place (sequential MEMIT, the paper's
 *               "MEMIT" row);
 *   memit-mass  the chunk's edits are collected and applied as one batch when the chunk ends
 *               (`finishEdits`; the paper's "MEMIT-MASS": one batch edit of all T).
 *
 * Per batch of requests, with L the last layer of the range:
 *   z        for each request, δ is trained at layer L's output (value-delta.ts, the rows of ROME:
 *            rome.ts `romeBatch`) and z = t₀ + δ, t₀ the layer's output at the bare prompt's
 *            subject token;
 *   layers   for each layer l in order, on the model as updated so far: the keys k (ff, n) at the
 *            subject's last token, each ½ (bare prompt + mean of the generated templates), as
 *            compute_ks averages its two template groups; the residual r = (z − h_L) / (layers
 *            left), h_L the layer-L output at the bare prompt's subject token; and the update
 *            W_l += r · ((λ C_l + K Kᵀ)⁻¹ K)ᵀ, λ = mom2_update_weight (15000 · ff / 11008), C_l the keys'
 *            second moment (second-moment.ts) on the unedited model, solved by Cholesky in float64.
 *
 * Differences (docs/eval.md): the 10 greedy templates of WISE and ROME (EasyEdit: 5 sampled ones of
 * 10 tokens); C from the evaluation's train split with ROME's ridge, not from 100,000 Wikipedia
 * texts; λ scaled to the MLP width; ROME's lookup and subject fallback (subject.ts).
 */
import type { Graph } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { editWeightName } from '../model/arch.js';
import type { CausalLM } from '../model/causal-lm.js';
import { generateContextTemplates } from '../model/edit-text.js';
import type { EvalRecord } from '../eval/datasets.js';
import type { EditMethod } from '../eval/lifelong.js';
import type { Scorer } from '../eval/scorer.js';
import { lmScorer, textEncoder } from '../eval/scorer-lm.js';
import { WiseError } from '../util/errors.js';
import { choleskyFactor, choleskySolve } from './cholesky.js';
import { editedWeightsVariant } from './edited-weight.js';
import { applyRankOne, romeBatch, type RomeBatch } from './rome.js';
import { secondMoment, type SecondMomentOptions } from './second-moment.js';
import { prefixPass } from './step.js';
import { deltaFeeds, deltaStepGraph, optimizeDelta, type DeltaOptions } from './value-delta.js';
import { addTo } from './vec.js';

export interface MemitOptions extends DeltaOptions, SecondMomentOptions {
  /** the down projections updated, in order; the last is where z is trained */
  layers: number[];
  /** apply the edits of a chunk as one batch (MEMIT-MASS) instead of one by one */
  mass: boolean;
  /** generated context templates beside the bare "{}" (at most 10) */
  templates: number;
  /**
   * mom2_update_weight λ; null = EasyEdit llama-7b's 15000 scaled by ff / 11008 (Llama-2-7B's MLP
   * width). The share of the residual one key's update writes is s / (λ + s), s = kᵀC⁻¹k, which
   * grows with ff, so an unscaled 15000 on the bundled model's ff of 688 writes about a twentieth
   * of what it writes on Llama-2-7B (measured: docs/eval.md).
   */
  mom2UpdateWeight: number | null;
  name?: string;
  bosId?: number;
}

/** ⌊L · 4/32⌋ … ⌊L · 8/32⌋ (EasyEdit llama-7b: 4–8 of 32): [0, 1] on the bundled model's 6 layers, [1, 2, 3] on GPT-2 small's 12. */
export function memitDefaultLayers(numLayers: number): number[] {
  const lo = Math.floor((numLayers * 4) / 32);
  const hi = Math.max(lo, Math.floor((numLayers * 8) / 32));
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

export const MEMIT_DEFAULTS = { steps: 25, lr: 0.5, weightDecay: 1e-3, clampNorm: 4, klFactor: 0.0625, stopLoss: 5e-2, templates: 10, mom2UpdateWeight: null, mom2Texts: 1000, mom2Ridge: 1e-2, mass: false } as const satisfies Partial<MemitOptions>;

export interface MemitBatchResult {
  /** per request: the total loss at each iteration of its z optimisation */
  losses: number[][];
  /** per layer: ‖z − h_L‖ averaged over the requests before that layer's update */
  residuals: number[];
}

export class MemitMethod implements EditMethod {
  readonly name: string;
  readonly opts: MemitOptions;
  readonly layers: number[];
  private readonly names: Map<number, string>;
  private readonly bases: Map<number, Float32Array>;
  private readonly shapes: Map<number, number[]>;
  /** the current down projections of `layers` */
  weights: Map<number, Float32Array>;
  private edited = false;
  private pending: EvalRecord[] = [];
  private templates: string[] | null = null;
  private readonly graphs = new Map<string, Graph>();
  /** C_l (ff, ff) per layer, estimated on the unedited model */
  private readonly moments = new Map<number, { c: Float64Array; ff: number }>();

  /** @param texts the corpus of the second moments: the evaluation's train split */
  constructor(readonly lm: CausalLM, opts: Partial<MemitOptions> & Pick<MemitOptions, 'layers'>, protected readonly texts: readonly string[] = []) {
    this.opts = { ...MEMIT_DEFAULTS, ...opts };
    this.layers = [...new Set(this.opts.layers)].sort((a, b) => a - b);
    this.name = opts.name ?? (this.opts.mass ? 'memit-mass' : 'memit');
    const n = lm.config.numLayers;
    if (this.layers.length === 0 || this.layers.some((l) => !Number.isInteger(l) || l < 0 || l >= n - 1)) {
      throw new WiseError('WISE_BAD_CONFIG', `${this.name.toUpperCase()} layers [${this.opts.layers.join(', ')}] must be within 0..${n - 2} (z is read after the last one, below the model's top layer)`, { field: 'layers' });
    }
    if (!(this.opts.templates >= 0 && this.opts.templates <= 10)) throw new WiseError('WISE_BAD_CONFIG', `${this.name.toUpperCase()} templates ${this.opts.templates} outside 0..10`, { field: 'templates' });
    this.names = new Map(this.layers.map((l) => [l, editWeightName(lm.spec, l)]));
    this.bases = new Map(this.layers.map((l) => [l, lm.ckpt.weights.get(this.names.get(l)!)!.data]));
    this.shapes = new Map(this.layers.map((l) => [l, [...lm.ckpt.weights.get(this.names.get(l)!)!.shape]]));
    this.weights = new Map(this.layers.map((l) => [l, Float32Array.from(this.bases.get(l)!)]));
  }

  encode(text: string): number[] {
    return textEncoder(this.lm, this.opts.bosId)(text);
  }

  async reset(): Promise<void> {
    this.weights = new Map(this.layers.map((l) => [l, Float32Array.from(this.bases.get(l)!)]));
    this.edited = false;
    this.pending = [];
  }

  async applyEdit(rec: EvalRecord): Promise<void> {
    if (this.opts.mass) this.pending.push(rec);
    else await this.editBatch([rec]);
  }

  async finishEdits(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) await this.editBatch(batch);
  }

  scorer(): Scorer {
    const variant = this.edited ? editedWeightsVariant(this.lm, this.weights) : undefined;
    return lmScorer(this.lm, { ...(variant ? { variant } : {}), ...(this.opts.bosId !== undefined ? { bosId: this.opts.bosId } : {}) });
  }

  /** One MEMIT update for `reqs` (prompt with its subject, target), applied in place. */
  async editBatch(reqs: readonly Pick<EvalRecord, 'prompt' | 'target' | 'subject'>[]): Promise<MemitBatchResult> {
    const o = this.opts;
    const L = this.layers[this.layers.length - 1]!;
    const d = this.lm.config.hiddenSize;
    this.templates ??= await generateContextTemplates(this.lm, o.templates);
    const batches = reqs.map((r) => romeBatch((t) => this.encode(t), (t) => this.lm.tokenizer.encode(t), this.templates!, r.prompt, r.target, r.subject, this.lm.padId, this.lm.config.maxPositionEmbeddings));
    // z for every request, on the model as it is before this batch
    const zs: Float32Array[] = [];
    const losses: number[][] = [];
    for (const b of batches) {
      const { out, stepFeeds } = await this.prefix(b);
      const key = `${b.E}x${b.Tb}k${b.Kb}`;
      let g = this.graphs.get(key);
      if (!g) this.graphs.set(key, (g = deltaStepGraph(this.lm, L, this.names.get(L)!, b.E, b.Tb, b.Kb, 'memit')));
      const fixed = deltaFeeds(b, { ...stepFeeds, hidden_in: out.resid_mid! }, this.names.get(L)!, this.tensor(L));
      const r = await optimizeDelta(this.lm, g, fixed, b, o, 'layer');
      addTo(r.t0, r.delta, 1); // z = t₀ + δ
      zs.push(r.t0);
      losses.push(r.losses);
    }
    const residuals: number[] = [];
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      const keys: Float32Array[] = [];
      const resid: Float32Array[] = [];
      let err = 0;
      for (let j = 0; j < batches.length; j++) {
        const b = batches[j]!;
        const { out } = await this.prefix(b);
        keys.push(this.subjectKey(out, l, b));
        const h = (out.hidden_out!.data as Float32Array).subarray(b.lookup[0]! * d, (b.lookup[0]! + 1) * d); // row 0
        const target = Float32Array.from(zs[j]!, (z, q) => z - h[q]!);
        err += Math.hypot(...target) / batches.length;
        resid.push(Float32Array.from(target, (x) => x / (this.layers.length - i)));
      }
      residuals.push(err);
      const adj = await this.solve(l, keys); // (λC + KKᵀ)⁻¹ k_j, one per request
      for (let j = 0; j < keys.length; j++) applyRankOne(this.weights.get(l)!, this.shapes.get(l)!, this.lm.spec.layer.mlp.down.layout, resid[j]!, adj[j]!);
      this.edited = true;
    }
    await this.afterBatch(batches);
    return { losses, residuals };
  }

  /**
   * The key (ff) of one request at layer l from a prefix pass: the subject's last token in the bare
   * prompt (row 0) and the generated templates' mean (rows 1 … E−2; the last row is the KL row), ½
   * each, as compute_ks averages its two template groups.
   */
  protected subjectKey(out: Record<string, TensorData>, l: number, b: RomeBatch): Float32Array {
    const L = this.layers[this.layers.length - 1]!;
    const a = out[l === L ? 'mlp_down_input' : `a_${l}`]!;
    const ff = a.dims[2] as number;
    const at = (r: number): Float32Array => (a.data as Float32Array).subarray((r * b.Tb + b.lookup[r]!) * ff, (r * b.Tb + b.lookup[r]! + 1) * ff);
    const k = Float32Array.from(at(0));
    const gen = b.E - 2;
    if (gen > 0) {
      k.forEach((x, q) => (k[q] = x / 2));
      for (let r = 1; r <= gen; r++) addTo(k, at(r), 1 / (2 * gen));
    }
    return k;
  }

  /** Called once a batch is written into every layer (AlphaEdit records the batch's keys here). */
  protected async afterBatch(_batches: readonly RomeBatch[]): Promise<void> {}

  /** (λ C_l + K Kᵀ)⁻¹ K by Cholesky, C_l estimated once per layer. */
  protected async solve(l: number, keys: readonly Float32Array[]): Promise<Float32Array[]> {
    let m = this.moments.get(l);
    if (!m) {
      m = await secondMoment(this.lm, l, this.texts.slice(0, this.opts.mom2Texts), (t) => this.encode(t), this.opts.mom2Ridge);
      this.moments.set(l, m);
    }
    return adjustedKeys(m.c, m.ff, this.opts.mom2UpdateWeight ?? (15000 * m.ff) / 11008, keys);
  }

  /** The layers up to L on the current weights: resid_mid and mlp_down_input at L, a_l below, hidden_out after L. */
  protected async prefix(b: RomeBatch): Promise<{ out: Record<string, TensorData>; stepFeeds: Record<string, TensorData> }> {
    const L = this.layers[this.layers.length - 1]!;
    const below = this.layers.filter((l) => l !== L);
    const g = this.lm.graph(`memit-prefix-${this.layers.join('-')}`, {
      batch: 'B', seq: 'T', toLayer: L + 1, exposeLayer: L, logits: 'none', name: 'memit-prefix',
      inputWeights: new Set(this.names.values()),
      hooks: {
        down: (ctx) => {
          if (below.includes(ctx.layer)) ctx.a.graph.output(`a_${ctx.layer}`, ctx.a);
          return ctx.base();
        },
      },
    });
    const feeds = Object.fromEntries(this.layers.map((l) => [this.names.get(l)!, this.tensor(l)]));
    return prefixPass(this.lm, g, b.ids, b.mask, b.E, b.Tb, feeds, ['resid_mid', 'mlp_down_input', 'hidden_out', ...below.map((l) => `a_${l}`)]);
  }

  private tensor(l: number): TensorData {
    return { dtype: 'float32', dims: this.shapes.get(l)!, data: this.weights.get(l)! };
  }
}

/** (λ C + K Kᵀ)⁻¹ k_j for each key (K = [k_1 … k_n], (ff, n)), by Cholesky in float64. Pure. */
export function adjustedKeys(c: Float64Array, ff: number, lambda: number, keys: readonly Float32Array[]): Float32Array[] {
  const a = Float64Array.from(c, (x) => lambda * x);
  for (const k of keys) {
    for (let p = 0; p < ff; p++) {
      const kp = k[p]!;
      if (kp === 0) continue;
      for (let q = 0; q < ff; q++) a[p * ff + q]! += kp * k[q]!;
    }
  }
  const fac = choleskyFactor(a, ff);
  return keys.map((k) => Float32Array.from(choleskySolve(fac, ff, k)));
}
