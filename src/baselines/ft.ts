/**
 * FT-L and FT-M: EasyEdit's `FT` method (easyeditor/models/ft/ft_main.py; wise-reference.md §7).
 *
 * One matrix is tuned: the MLP down projection of one layer (default: the WISE layer, so every
 * method edits the same weight; EasyEdit's FT hparams use layer 21 `down_proj` for Llama-2-7B, 21
 * `fc_out` for GPT-J, 0 `c_proj` for GPT-2). Per edit, a fresh Adam (lr 5e-4, weight decay 0) runs
 * up to 25 steps on one row (batch 1); when the loss is below 1e-2 the step is skipped and the
 * edit stops. An optional L∞ `normConstraint` clamps the weight to (weight at the start of this
 * edit) ± c after every step (off for llama-7b; 5e-4 for gpt2-xl; 5e-5 for mistral). The change is
 * kept in place: edits are cumulative (sequential editing), and evaluation runs the plain model with
 * the edited weight (edited-weight.ts).
 *
 * Objectives (the target is " " + target, as execute_ft prepends the space):
 *   FT-L  'prompt_last' (EasyEdit's default; ROME-style): the prompt alone is run; at its LAST token,
 *         loss = −mean_j log softmax(logits)[target_j] over ALL target ids (a bag of tokens at one
 *         position, not teacher forcing).
 *   FT-M  'target_new': prompt + " " + target tokenized jointly; teacher-forced cross-entropy averaged
 *         over the target tokens (positions p−1 … n−2), the prompt masked out.
 * Not ported: EasyEdit's Llama quirk of a BOS inside the separately tokenized target ids (our
 * tokenizers add no BOS), its KL term (kl_factor 0 in the yamls) and batch sizes above 1.
 */
import { grad, type Graph } from '../graph/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import { buildTransformer } from '../model/transformer.js';
import { normalizeTarget } from '../model/edit-text.js';
import type { EvalRecord } from '../eval/datasets.js';
import type { EditMethod } from '../eval/lifelong.js';
import { promptTargetRow } from '../eval/scorer.js';
import { WiseError } from '../util/errors.js';
import { WeightEditMethod } from './edited-weight.js';
import { Adam, lowerPass, rowBatch, rowFeeds, scalarOf, type RowBatch } from './step.js';

export type FtObjective = 'prompt_last' | 'target_new';

export interface FtOptions {
  /** Layer whose MLP down projection is tuned. */
  layer: number;
  objective: FtObjective;
  /** Adam learning rate (EasyEdit 5e-4). */
  lr: number;
  /** Max optimizer steps per edit (EasyEdit num_steps 25). */
  steps: number;
  /** Stop (without stepping) once the loss is below this (EasyEdit 1e-2). */
  stopLoss: number;
  /** L∞ clamp around the weight at the start of each edit; null = off (EasyEdit llama-7b). */
  normConstraint: number | null;
  /** Method name in tables and cache keys (default 'ft-l' / 'ft-m'). */
  name?: string;
  /** Prepended to encoded texts (BOS models only; see eval/scorer-lm.ts). */
  bosId?: number;
}

export const FT_DEFAULTS = { lr: 5e-4, steps: 25, stopLoss: 1e-2, normConstraint: null } as const satisfies Partial<FtOptions>;

/** One training row of an FT objective: the tokens run, the positions scored and their targets. */
export interface FtRow {
  ids: number[];
  positions: number[];
  targets: number[];
}

/** The training row of `objective` for prompt → target (pure; `encode` is the tokenizer). */
export function ftObjectiveRow(objective: FtObjective, encode: (text: string) => number[], prompt: string, target: string): FtRow {
  if (objective === 'target_new') {
    const r = promptTargetRow({ encode }, prompt, target);
    if (r.targetIds.length === 0) throw new WiseError('WISE_BAD_REQUEST', `target "${target}" adds no tokens to the prompt`, { field: 'target' });
    const p = r.promptIds.length;
    return { ids: [...r.promptIds, ...r.targetIds], positions: r.targetIds.map((_, j) => p - 1 + j), targets: r.targetIds };
  }
  const ids = encode(prompt);
  const targets = encode(normalizeTarget(target));
  if (ids.length === 0 || targets.length === 0) throw new WiseError('WISE_BAD_REQUEST', 'FT-L needs a non-empty prompt and target', { field: ids.length === 0 ? 'prompt' : 'target' });
  return { ids, positions: targets.map(() => ids.length - 1), targets };
}

export interface FtEditResult {
  steps: number;
  losses: number[];
}

export class FtMethod extends WeightEditMethod implements EditMethod {
  readonly name: string;
  readonly opts: FtOptions;
  private readonly graphs = new Map<string, Graph>();

  constructor(lm: CausalLM, opts: Partial<FtOptions> & Pick<FtOptions, 'layer' | 'objective'>) {
    super(lm, opts.layer, opts.bosId, 'FT');
    this.opts = { ...FT_DEFAULTS, ...opts };
    this.name = opts.name ?? (this.opts.objective === 'prompt_last' ? 'ft-l' : 'ft-m');
  }

  /** The row batch of one edit (exposed for tests). */
  batchFor(prompt: string, target: string): RowBatch {
    const r = ftObjectiveRow(this.opts.objective, (t) => this.encode(t), prompt, target);
    return rowBatch(r.ids, r.positions, r.targets, this.lm.padId, this.lm.config.maxPositionEmbeddings);
  }

  /** The static gradient graph for a bucket: loss and dLoss/dW, W fed as `<weight name>`. */
  stepGraph(Tb: number, Kb: number): Graph {
    const key = `${Tb}k${Kb}`;
    let g = this.graphs.get(key);
    if (!g) {
      const { lm, weightName } = this;
      g = buildTransformer(lm.spec, lm.config, lm.ckpt.weights, {
        batch: 1, seq: Tb, rowCount: Kb, fromLayer: this.opts.layer, fromMlp: true, loss: 'rows', logits: 'none',
        inputWeights: new Set([weightName]), name: `ft-step-${this.opts.layer}-${key}`,
      });
      const w = g.inputs.find((v) => v.name === weightName)!;
      const [dw] = grad(g, g.outputs.find((o) => o.name === 'loss')!.value, [w]);
      g.output('grad_weight', dw!);
      this.graphs.set(key, g);
    }
    return g;
  }

  /** The objective's loss under `weight` (default: the current weight). */
  async loss(prompt: string, target: string, weight: Float32Array = this.weight): Promise<number> {
    const b = this.batchFor(prompt, target);
    const lower = await lowerPass(this.lm, this.opts.layer, b);
    const out = await this.lm.engine.run(this.stepGraph(b.Tb, b.Kb), { ...lower.feeds, ...rowFeeds(b), [this.weightName]: this.tensor(weight) }, ['loss']);
    return scalarOf(out.loss);
  }

  async applyEdit(rec: EvalRecord): Promise<void> {
    await this.edit(rec.prompt, rec.target);
  }

  /** One FT edit in place on `weight`; returns the losses seen (one per forward). */
  async edit(prompt: string, target: string): Promise<FtEditResult> {
    const b = this.batchFor(prompt, target);
    const lower = await lowerPass(this.lm, this.opts.layer, b);
    const g = this.stepGraph(b.Tb, b.Kb);
    const fixed = { ...lower.feeds, ...rowFeeds(b) };
    const w = this.weight;
    const start = this.opts.normConstraint !== null ? Float32Array.from(w) : null;
    const adam = new Adam(w.length, this.opts.lr);
    const losses: number[] = [];
    let steps = 0;
    for (let it = 0; it < this.opts.steps; it++) {
      const out = await this.lm.engine.run(g, { ...fixed, [this.weightName]: this.tensor(w) }, ['loss', 'grad_weight']);
      const loss = scalarOf(out.loss);
      losses.push(loss);
      if (loss < this.opts.stopLoss) break;
      adam.step(w, out.grad_weight!.data as Float32Array);
      if (start) clampAround(w, start, this.opts.normConstraint as number);
      steps++;
    }
    if (steps > 0) this.edited = true;
    return { steps, losses };
  }
}

/** w ← clamp(w, ref − c, ref + c), elementwise. */
export function clampAround(w: Float32Array, ref: Float32Array, c: number): void {
  for (let i = 0; i < w.length; i++) {
    const lo = (ref[i] as number) - c, hi = (ref[i] as number) + c;
    const x = w[i] as number;
    w[i] = x < lo ? lo : x > hi ? hi : x;
  }
}
