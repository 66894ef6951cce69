/**
 * The plain model with one edited down projection: a CausalLM Variant whose hook computes the
 * edited layer's down projection with the weight fed per call (`edited_down_weight`, stored layout)
 * instead of the checkpoint's. Nothing else changes, so this is exactly "the model with W replaced
 * by W_edited" (FT-L / FT-M evaluate on it), without mutating the shared checkpoint or rebuilding
 * graphs per edit (the graph is cached under the variant key; only the feed changes).
 */
import { nn, type Value } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { editWeightName, hasBias, layerName } from '../model/arch.js';
import type { CausalLM, DownHookCtx, Variant } from '../model/causal-lm.js';

export function editedWeightVariant(lm: CausalLM, layer: number, weight: Float32Array): Variant {
  const name = editWeightName(lm.spec, layer);
  const shape = [...lm.ckpt.weights.get(name)!.shape];
  const feed = (): Record<string, TensorData> => ({ edited_down_weight: { dtype: 'float32', dims: shape, data: weight } });
  return {
    key: `edited-down-L${layer}`,
    hook: (ctx: DownHookCtx): Value => {
      if (ctx.layer !== layer) return ctx.base();
      const g = ctx.a.graph;
      const w = g.input('edited_down_weight', g.floatType, ctx.weight.shape);
      let bias: Value | undefined;
      if (hasBias(ctx.spec.biasRule, lm.config)) {
        const b = lm.ckpt.weights.get(layerName(ctx.spec.bias, layer))!;
        bias = g.param('edited_down_bias', b.data, b.shape);
      }
      return nn.linear(ctx.a, w, bias, ctx.spec.layout);
    },
    outputs: [],
    feeds: () => feed(),
    decodeFeeds: () => feed(),
  };
}
