/**
 * The gradient graph of one WISE training step, for a bucket (R rows, Tb tokens, Kb target
 * positions). It starts at the edited layer's MLP input stream (`hidden_in`, computed once
 * per edit by the frozen layers below), runs that layer's MLP with the side memory W′ in
 * place of the down projection, then the layers above and the LM head on the Kb target rows
 * only. Outputs: `total_loss` = NLL + L_a, `nll`, `scores` (R,) and `grad_side` (dL/dW′, in
 * the checkpoint's layout).
 *
 * Extra inputs: side_weight (W′, stored layout), token_mask (R, Tb), is_edit (R,).
 */
import { grad, nn, ops, type Graph, type Value } from '../graph/index.js';
import { buildTransformer } from '../model/transformer.js';
import type { ArchSpec } from '../model/arch.js';
import type { ModelConfig } from '../model/config.js';
import type { Weight } from '../model/weights.js';
import { sequenceScore, tokenNorms } from '../router/score.js';
import { marginLoss, type MarginParams } from './loss.js';

export interface StepBucket {
  R: number;
  Tb: number;
  Kb: number;
}

export function buildEditStepGraph(spec: ArchSpec, cfg: ModelConfig, weights: ReadonlyMap<string, Weight>, layer: number, b: StepBucket, margin: MarginParams, reduce: 'mean' | 'max' = 'mean', weightsAsInputs = false): Graph {
  let side: Value | undefined;
  let scores: Value | undefined;
  const g = buildTransformer(spec, cfg, weights, {
    batch: b.R, seq: b.Tb, rowCount: b.Kb, fromLayer: layer, fromMlp: true, loss: 'rows', logits: 'none',
    ...(weightsAsInputs ? { inputWeights: 'all' as const } : {}),
    name: `wise-step-${layer}-${b.R}x${b.Tb}k${b.Kb}-${reduce}`,
    hooks: {
      down: (ctx) => {
        if (ctx.layer !== layer) return ctx.base();
        const w = ctx.weight; // frozen W, stored layout
        side = w.graph.input('side_weight', w.graph.floatType, w.shape);
        const delta = nn.linear(ctx.a, ops.sub(side, w), undefined, ctx.spec.layout); // (R, Tb, d) = A (W′ − W)ᵀ
        const tokenMask = w.graph.input('token_mask', w.graph.floatType, [b.R, b.Tb]);
        scores = sequenceScore(tokenNorms(delta), tokenMask, reduce === 'max' ? 'always' : undefined); // (R,)
        return ops.add(ctx.base(), delta);
      },
    },
  });
  const nll = g.outputs.find((o) => o.name === 'loss')!.value;
  const isEdit = g.input('is_edit', g.floatType, [b.R]);
  const total = ops.add(nll, marginLoss(scores!, isEdit, margin));
  g.output('total_loss', total);
  g.output('scores', scores!);
  const [dw] = grad(g, total, [side!]);
  g.output('grad_side', dw!);
  return g;
}
