/**
 * ROME (Meng et al. 2022) as EasyEdit runs it (easyeditor/models/rome: rome_main, compute_u,
 * compute_v), on one MLP down projection (default `romeDefaultLayer`: an early layer, as EasyEdit's
 * llama-7b hparams use layer 5 of 32). A rank-one update per edit, applied in place:
 * sequential edits each see the previous ones, as in EasyEdit's sequential runs.
 *
 * Per edit (prompt with the subject, target, subject):
 *   rows     each context template (model/edit-text.ts: "{}" + 10 generated prefixes) around the
 *            prompt, followed by the target's tokens but its last (the target tokenized on its own
 *            with one leading space, as rome_main prepends it); plus the KL row "<subject> is a".
 *   lookup   in every row, the subject's last token (subject.ts).
 *   key      k* = the down projection's input A(x) at the lookup, averaged over the template rows
 *            (compute_u); u = k* / ‖k*‖ (EasyEdit's llama/qwen/mistral hparams: mom2_adjustment
 *            false), or with `mom2` u = C⁻¹k* / ‖C⁻¹k*‖, C the keys' second moment on a corpus
 *            (second-moment.ts; EasyEdit's GPT-2 hparams, on 100,000 Wikipedia texts).
 *   value    δ ∈ R^d is added to the MLP output at every row's lookup token and trained by Adam
 *            (lr 0.5, 25 iterations) on
 *              NLL (teacher-forced target tokens, per row summed / target length, mean over rows)
 *            + kl_factor · KL(p_δ ‖ p_0) at the KL row's lookup token (torch's kl_div(init, cur,
 *              log_target) as compute_v calls it: the current distribution is the first argument)
 *            + v_weight_decay · ‖δ‖ / ‖t₀‖²   (t₀: the MLP output at row 0's lookup before the edit);
 *            stop when the total is below 5e-2, never step on the last iteration, and after each
 *            step project δ into the ball ‖δ‖ ≤ clamp_norm_factor · ‖t₀‖.
 *   update   W ← W + (δ / (k·u)) uᵀ, k = A(x) at row 0's lookup (the bare prompt; compute_v's
 *            cur_input), so the edited layer outputs t₀ + δ there.
 *
 * Differences, documented in docs/eval.md: the 10 greedy templates WISE uses (EasyEdit samples 20
 * with top-k 5); the lookup index is the subject's last token for BOS tokenizers too; a record whose
 * subject is not in its prompt (ignoring case) uses the prompt's last token (EasyEdit asserts).
 */
import type { Graph } from '../graph/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { EvalRecord } from '../eval/datasets.js';
import type { EditMethod } from '../eval/lifelong.js';
import { generateContextTemplates, normalizeTarget, padRows, templateTargetRows } from '../model/edit-text.js';
import { WiseError } from '../util/errors.js';
import { WeightEditMethod } from './edited-weight.js';
import { lowerPassRows, nextPow2 } from './step.js';
import { deltaFeeds, deltaStepGraph, optimizeDelta, type DeltaOptions } from './value-delta.js';
import { addTo, dot, norm, scaleTo } from './vec.js';
import { choleskyFactor, choleskySolve } from './cholesky.js';
import { secondMoment, type SecondMomentOptions } from './second-moment.js';
import { subjectLastIndex, subjectSpan, type SubjectSpan } from './subject.js';

/** EasyEdit's ROME hparams; the value optimisation's (steps, lr, weightDecay, clampNorm, klFactor, stopLoss) in value-delta.ts. */
export interface RomeOptions extends DeltaOptions, SecondMomentOptions {
  /** Layer whose MLP down projection gets the rank-one update. */
  layer: number;
  /** Generated context templates beside the bare "{}" (at most 10). */
  templates: number;
  /**
   * mom2_adjustment: u = C⁻¹ k* with C the second moment of the layer's keys (second-moment.ts),
   * estimated on the texts given to the constructor (EasyEdit: on for GPT-2, off for Llama/Qwen/Mistral).
   */
  mom2: boolean;
  /**
   * R-ROME (Gupta et al. 2024, EasyEdit r_rome with enable_random_prefix_keys): the update's key and the output it
   * moves from are the template rows' means, as u's key is, instead of the bare prompt's (which makes sequential ROME
   * collapse): right = (t₀ + δ − W k̄ − b) / (k̄·u) = (δ + W(k₀ − k̄)) / (k̄·u), with k₀ row 0's key, k̄ the mean key.
   */
  prefixKeys: boolean;
  name?: string;
  bosId?: number;
}

/**
 * ROME's default layer: EasyEdit's llama-7b hparams edit layer 5 of 32 (the subject's early-site
 * MLPs, where causal tracing finds the fact recall), so ⌊numLayers · 5/32⌋: layer 0 of the bundled
 * model's 6, 1 of GPT-2 small's 12. Not the WISE layer, which is late (⌊0.8 L⌋ or the config's).
 */
export const romeDefaultLayer = (numLayers: number): number => Math.floor((numLayers * 5) / 32);

export const ROME_DEFAULTS = { steps: 25, lr: 0.5, weightDecay: 1e-3, clampNorm: 4, klFactor: 0.0625, templates: 10, stopLoss: 5e-2, mom2: false, mom2Texts: 1000, mom2Ridge: 1e-2, prefixKeys: false } as const satisfies Partial<RomeOptions>;

/** One edit's rows: E = templates + 1 (the KL row last), right-padded to Tb; Kb scored positions. */
export interface RomeBatch {
  E: number;
  Tb: number;
  Kb: number;
  /** (E, Tb) */
  ids: number[];
  mask: number[];
  /** lookup position in each row */
  lookup: number[];
  /** (Kb,) flat positions r·Tb + t: the template rows' target positions, then the KL row's lookup */
  rows: number[];
  targets: number[];
  /** (Kb,) 1 / (templates · target length) on target positions, 0 elsewhere (the KL entry too) */
  weights: number[];
  /** index into rows of the KL entry */
  klEntry: number;
  targetIds: number[];
  subject: SubjectSpan;
}

/** The rows of one ROME edit (pure; `encode` gives a row's ids, `encodePiece` the target's). */
export function romeBatch(encode: (text: string) => number[], encodePiece: (text: string) => number[], templates: readonly string[], prompt: string, target: string, subject: string | undefined, pad: number, maxLen: number): RomeBatch {
  const targetIds = encodePiece(normalizeTarget(target));
  if (targetIds.length === 0) throw new WiseError('WISE_BAD_REQUEST', `target "${target}" has no tokens`, { field: 'target' });
  const span = subjectSpan(prompt, subject);
  const seqs: number[][] = [];
  const lookup: number[] = [];
  const starts: number[] = [];
  for (const t of templates) {
    const ctx = encode(t.replace('{}', () => prompt));
    starts.push(ctx.length);
    lookup.push(subjectLastIndex(encode, t, prompt, span));
    seqs.push([...ctx, ...targetIds.slice(0, -1)]);
  }
  const subj = subject?.trim() || prompt; // the KL row "{subject} is a" (no subject: the prompt stands in)
  const klIds = encode(`${subj} is a`);
  seqs.push(klIds);
  lookup.push(Math.max(0, Math.min(encode(subj).length, klIds.length) - 1));
  const longest = Math.max(...seqs.map((s) => s.length));
  if (longest > maxLen) throw new WiseError('WISE_CONTEXT_LENGTH', `ROME row of ${longest} tokens exceeds the model context of ${maxLen}`, { field: 'prompt', tokens: longest, context: maxLen });
  const E = seqs.length;
  const Tb = Math.min(Math.ceil(longest / 16) * 16, Math.max(maxLen, 16)); // a multiple of 16: few cached step graphs
  const { ids, mask } = padRows(seqs, Tb, pad);
  const Kb = nextPow2(templates.length * targetIds.length + 1, 8); // + the KL entry
  const { rows, targets, weights, K: k } = templateTargetRows(starts, Tb, targetIds, Kb);
  rows[k] = (E - 1) * Tb + (lookup[E - 1] as number);
  return { E, Tb, Kb, ids, mask, lookup, rows, targets, weights, klEntry: k, targetIds, subject: span };
}

export interface RomeEditResult {
  /** total loss seen at each iteration (NLL + KL + weight decay) */
  losses: number[];
  /** optimizer steps taken */
  steps: number;
  /** the trained δ (d) and the rank-one factors: W ← W + right ⊗ u */
  delta: Float32Array;
  u: Float32Array;
  right: Float32Array;
  /** the down projection's input at row 0's lookup (k) */
  key: Float32Array;
  subjectMatch: SubjectSpan['match'];
}

export class RomeMethod extends WeightEditMethod implements EditMethod {
  readonly name: string;
  readonly opts: RomeOptions;
  private templates: string[] | null = null;
  private readonly graphs = new Map<string, Graph>();
  private mom2: { l: Float64Array; ff: number; tokens: number } | null = null;

  /** @param texts the corpus of the second moment (with opts.mom2): the evaluation's train split */
  constructor(lm: CausalLM, opts: Partial<RomeOptions> & Pick<RomeOptions, 'layer'>, private readonly texts: readonly string[] = []) {
    super(lm, opts.layer, opts.bosId, 'ROME');
    this.opts = { ...ROME_DEFAULTS, ...opts };
    if (!(this.opts.templates >= 0 && this.opts.templates <= 10)) throw new WiseError('WISE_BAD_CONFIG', `ROME templates ${this.opts.templates} outside 0..10`, { field: 'templates' });
    this.name = opts.name ?? 'rome';
  }

  /** The context templates ("{}" first), generated once by the base model. */
  async contextTemplates(): Promise<string[]> {
    this.templates ??= await generateContextTemplates(this.lm, this.opts.templates);
    return this.templates;
  }

  async batchFor(prompt: string, target: string, subject: string | undefined): Promise<RomeBatch> {
    return romeBatch((t) => this.encode(t), (t) => this.lm.tokenizer.encode(t), await this.contextTemplates(), prompt, target, subject, this.lm.padId, this.lm.config.maxPositionEmbeddings);
  }

  /** The value graph of a bucket (value-delta.ts), cached per shape. */
  stepGraph(E: number, Tb: number, Kb: number): Graph {
    const key = `${E}x${Tb}k${Kb}`;
    let g = this.graphs.get(key);
    if (!g) {
      g = deltaStepGraph(this.lm, this.opts.layer, this.weightName, E, Tb, Kb, 'rome');
      this.graphs.set(key, g);
    }
    return g;
  }

  async applyEdit(rec: EvalRecord): Promise<void> {
    await this.edit(rec.prompt, rec.target, rec.subject);
  }

  /** One ROME edit, applied in place to `weight`. */
  async edit(prompt: string, target: string, subject: string | undefined): Promise<RomeEditResult> {
    const o = this.opts;
    const b = await this.batchFor(prompt, target, subject);
    const lower = await lowerPassRows(this.lm, o.layer, b.ids, b.mask, b.E, b.Tb);
    const ff = lower.ff;
    const keyAt = (r: number): Float32Array => lower.downInput.subarray((r * b.Tb + (b.lookup[r] as number)) * ff, (r * b.Tb + (b.lookup[r] as number) + 1) * ff);
    // u = (C⁻¹) k*, k* the mean of the template rows' keys, normalized (compute_u)
    const T = b.E - 1;
    let u = new Float32Array(ff);
    for (let r = 0; r < T; r++) addTo(u, keyAt(r), 1 / T);
    const meanKey = Float32Array.from(u);
    if (o.mom2) {
      const m = await this.secondMoment();
      u = Float32Array.from(choleskySolve(m.l, m.ff, u));
    }
    scaleTo(u, 1 / norm(u));
    const key = Float32Array.from(keyAt(0));
    const fixed = deltaFeeds(b, lower.feeds, this.weightName, this.tensor(this.weight));
    const { delta, losses, steps } = await optimizeDelta(this.lm, this.stepGraph(b.E, b.Tb, b.Kb), fixed, b, o, 'mlp');
    let right: Float32Array;
    if (o.prefixKeys) {
      // R-ROME: (δ + W(k₀ − k̄)) / (k̄·u); the down projection is linear, so W k₀ − W k̄ is the outputs' difference
      const diff = Float32Array.from(key, (x, i) => x - meanKey[i]!);
      const moved = downTimes(this.weight, this.shape, this.lm.spec.layer.mlp.down.layout, diff);
      const ku = dot(meanKey, u);
      right = Float32Array.from(delta, (x, i) => (x + moved[i]!) / ku);
    } else {
      const ku = dot(key, u);
      right = Float32Array.from(delta, (x) => x / ku);
    }
    applyRankOne(this.weight, this.shape, this.lm.spec.layer.mlp.down.layout, right, u);
    if (steps > 0) this.edited = true;
    return { losses, steps, delta, u, right, key, subjectMatch: b.subject.match };
  }

  /** The Cholesky factor of C, estimated once on the first edit that needs it (it depends on the unedited layers below). */
  async secondMoment(): Promise<{ l: Float64Array; ff: number; tokens: number }> {
    if (!this.mom2) {
      const m = await secondMoment(this.lm, this.opts.layer, this.texts.slice(0, this.opts.mom2Texts), (t) => this.encode(t), this.opts.mom2Ridge);
      this.mom2 = { l: choleskyFactor(m.c, m.ff), ff: m.ff, tokens: m.tokens };
    }
    return this.mom2;
  }
}

/** W += right ⊗ u in the stored layout: out_in (d, ff): W[i][j] += right_i u_j; in_out (ff, d): W[j][i] += u_j right_i. */
/** W v for the down projection `w` (d × ff as used: out_in stores (d, ff), in_out (ff, d)), v (ff) → (d). */
export function downTimes(w: Float32Array, shape: readonly number[], layout: 'out_in' | 'in_out', v: ArrayLike<number>): Float64Array {
  const [r0, r1] = shape as [number, number];
  const out = new Float64Array(layout === 'out_in' ? r0 : r1);
  for (let i = 0; i < r0; i++) {
    for (let j = 0; j < r1; j++) {
      const x = (w[i * r1 + j] as number);
      if (layout === 'out_in') out[i] = out[i]! + x * (v[j] as number);
      else out[j] = out[j]! + x * (v[i] as number);
    }
  }
  return out;
}

export function applyRankOne(w: Float32Array, shape: readonly number[], layout: 'out_in' | 'in_out', right: Float32Array, u: Float32Array): void {
  const [r0, r1] = shape as [number, number];
  const rowsAre = layout === 'out_in' ? right : u;
  const colsAre = layout === 'out_in' ? u : right;
  if (rowsAre.length !== r0 || colsAre.length !== r1) throw new WiseError('WISE_INTERNAL', `rank-one update ${rowsAre.length}×${colsAre.length} for a weight of shape [${shape.join(', ')}]`, {});
  for (let i = 0; i < r0; i++) {
    const a = rowsAre[i] as number;
    for (let j = 0; j < r1; j++) w[i * r1 + j] = (w[i * r1 + j] as number) + a * (colsAre[j] as number);
  }
}
