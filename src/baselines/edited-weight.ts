/**
 * The plain model with edited down projections: a CausalLM Variant whose hook computes each
 * edited layer's down projection with the weight fed per call (`edited_down_weight_<layer>`, stored layout)
 * instead of the checkpoint's. Nothing else changes, so this is exactly "the model with W replaced
 * by W_edited" (FT-L / FT-M evaluate on it), without mutating the shared checkpoint or rebuilding
 * graphs per edit (the graph is cached under the variant key; only the feed changes).
 */
import { nn, type Value } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { editWeightName, hasBias, layerName } from '../model/arch.js';
import type { CausalLM, DownHookCtx, Variant } from '../model/causal-lm.js';
import type { Scorer } from '../eval/scorer.js';
import { lmScorer, textEncoder } from '../eval/scorer-lm.js';
import { WiseError } from '../util/errors.js';

export function editedWeightVariant(lm: CausalLM, layer: number, weight: Float32Array): Variant {
  return editedWeightsVariant(lm, new Map([[layer, weight]]));
}

/** The plain model with several edited down projections (MEMIT), each fed as `edited_down_weight_<layer>`. */
export function editedWeightsVariant(lm: CausalLM, weights: ReadonlyMap<number, Float32Array>): Variant {
  const layers = [...weights.keys()].sort((a, b) => a - b);
  const feed = (): Record<string, TensorData> =>
    Object.fromEntries(layers.map((l) => [`edited_down_weight_${l}`, { dtype: 'float32', dims: [...lm.ckpt.weights.get(editWeightName(lm.spec, l))!.shape], data: weights.get(l)! }]));
  return {
    key: `edited-down-L${layers.join('-')}`,
    hook: (ctx: DownHookCtx): Value => {
      if (!weights.has(ctx.layer)) return ctx.base();
      const g = ctx.a.graph;
      const w = g.input(`edited_down_weight_${ctx.layer}`, g.floatType, ctx.weight.shape);
      let bias: Value | undefined;
      if (hasBias(ctx.spec.biasRule, lm.config)) {
        const b = lm.ckpt.weights.get(layerName(ctx.spec.bias, ctx.layer))!;
        bias = g.param(`edited_down_bias_${ctx.layer}`, b.data, b.shape);
      }
      return nn.linear(ctx.a, w, bias, ctx.spec.layout);
    },
    outputs: [],
    feeds: () => feed(),
    decodeFeeds: () => feed(),
  };
}

/**
 * The state every weight-editing baseline (FT-L/FT-M, ROME) keeps: the one down projection it
 * edits, the unedited copy, the current weight, and a scorer over the plain model with that weight.
 */
export abstract class WeightEditMethod {
  abstract readonly name: string;
  readonly weightName: string;
  /** The unedited weight (the checkpoint's, never written). */
  readonly base: Float32Array;
  readonly shape: number[];
  /** The current edited weight (a copy of `base` after reset). */
  weight: Float32Array;
  /** whether `weight` differs from `base` (the scorer then feeds it) */
  protected edited = false;

  constructor(
    readonly lm: CausalLM,
    readonly layer: number,
    private readonly bosId: number | undefined,
    method: string,
  ) {
    if (layer < 0 || layer >= lm.config.numLayers) {
      throw new WiseError('WISE_BAD_CONFIG', `${method} layer ${layer} outside 0..${lm.config.numLayers - 1}`, { field: 'layer' });
    }
    this.weightName = editWeightName(lm.spec, layer);
    const w = lm.ckpt.weights.get(this.weightName)!;
    this.base = w.data;
    this.shape = [...w.shape];
    this.weight = Float32Array.from(this.base);
  }

  encode(text: string): number[] {
    return textEncoder(this.lm, this.bosId)(text);
  }

  async reset(): Promise<void> {
    this.weight = Float32Array.from(this.base);
    this.edited = false;
  }

  scorer(): Scorer {
    const variant = this.edited ? editedWeightVariant(this.lm, this.layer, this.weight) : undefined;
    return lmScorer(this.lm, { ...(variant ? { variant } : {}), ...(this.bosId !== undefined ? { bosId: this.bosId } : {}) });
  }

  /** `w` as the step graphs' weight feed. */
  protected tensor(w: Float32Array): TensorData {
    return { dtype: 'float32', dims: this.shape, data: w };
  }
}
