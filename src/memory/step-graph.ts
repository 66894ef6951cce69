/**
 * The gradient graph of one WISE training step, for a bucket (E edit rows + Ri irrelevant
 * rows, Tb tokens, Kb target positions).
 *
 * Edit rows start at the edited layer's MLP input stream (`hidden_in` (E, Tb, d), computed
 * once per edit by the frozen layers below), run that layer's MLP with the side memory W′ in
 * place of the down projection, then the layers above and the LM head on the Kb target rows
 * only. Irrelevant rows only enter the loss through their activation score, which needs
 * nothing above the edited weight: they come in as their frozen activation A(x), packed token
 * after token without padding (`irr_act` (Nb, ff)), and cost one MatMul per step, not a pass
 * through the upper layers. `irr_mask` (Ri, Nb) says which packed tokens form each row; a row's
 * score is the mean (or max) of its tokens' norms, as the router computes it.
 *
 * Outputs: `total_loss` = NLL + L_a, `loss` (the NLL), `scores` (E + Ri,) (edit rows first) and
 * `grad_side` (dL/dW′, in the checkpoint's layout).
 * Extra inputs: side_weight (W′, stored layout), token_mask (E, Tb), irr_act, irr_mask (Ri, Nb),
 * is_edit and is_out (E + Ri,). With a projection (projRank r > 0): proj_u (r, ff) and
 * grad_mask (stored layout), and `grad_side` is P(mask ⊙ dL/dW′), P projecting the ff axis off U.
 */
import { grad, nn, ops, type Graph, type Value } from '../graph/index.js';
import { buildTransformer } from '../model/transformer.js';
import type { ArchSpec } from '../model/arch.js';
import type { ModelConfig } from '../model/config.js';
import type { Weight } from '../model/weights.js';
import { sequenceScore, tokenNorms } from '../router/score.js';
import { marginLoss, type MarginParams } from './loss.js';

export interface StepBucket {
  /** edit rows */
  E: number;
  /** all rows: E + the bucketed irrelevant rows */
  R: number;
  Tb: number;
  Kb: number;
  /** packed tokens of the irrelevant rows */
  Nb: number;
  /** rows of the projection U (r, ff), 0 = none (memory/projection.ts) */
  projRank?: number;
}

export function buildEditStepGraph(spec: ArchSpec, cfg: ModelConfig, weights: ReadonlyMap<string, Weight>, layer: number, b: StepBucket, margin: MarginParams, reduce: 'mean' | 'max' = 'mean', weightsAsInputs = false): Graph {
  const Ri = b.R - b.E;
  let side: Value | undefined;
  let scores: Value | undefined;
  const useMax = reduce === 'max' ? ('always' as const) : undefined;
  const g = buildTransformer(spec, cfg, weights, {
    batch: b.E, seq: b.Tb, rowCount: b.Kb, fromLayer: layer, fromMlp: true, loss: 'rows', logits: 'none',
    ...(weightsAsInputs ? { inputWeights: 'all' as const } : {}),
    name: `wise-step-${layer}-${b.E}x${b.Tb}+${Ri}n${b.Nb}k${b.Kb}-${reduce}`,
    hooks: {
      down: (ctx) => {
        if (ctx.layer !== layer) return ctx.base();
        const w = ctx.weight; // frozen W, stored layout
        const gr = w.graph;
        side = gr.input('side_weight', gr.floatType, w.shape);
        const d = ops.sub(side, w); // W′ − W
        const delta = nn.linear(ctx.a, d, undefined, ctx.spec.layout); // (E, Tb, dm) = A (W′ − W)ᵀ
        const editScores = sequenceScore(tokenNorms(delta), gr.input('token_mask', gr.floatType, [b.E, b.Tb]), useMax); // (E,)
        const ff = ctx.a.shape[2] as number;
        const irrAct = gr.input('irr_act', gr.floatType, [b.Nb, ff]);
        const irrNorms = ops.unsqueeze(tokenNorms(nn.linear(irrAct, d, undefined, ctx.spec.layout)), [0]); // (1, Nb)
        const irrScores = sequenceScore(irrNorms, gr.input('irr_mask', gr.floatType, [Ri, b.Nb]), useMax); // (Ri,): (1, Nb) broadcasts over the rows
        scores = ops.concat([editScores, irrScores], 0); // (E + Ri,)
        return ops.add(ctx.base(), delta);
      },
    },
  });
  const nll = g.outputs.find((o) => o.name === 'loss')!.value;
  const isEdit = g.input('is_edit', g.floatType, [b.R]);
  const isOut = g.input('is_out', g.floatType, [b.R]);
  const total = ops.add(nll, marginLoss(scores!, isEdit, margin, isOut));
  g.output('total_loss', total);
  g.output('scores', scores!);
  const [dw] = grad(g, total, [side!]);
  const r = b.projRank ?? 0;
  if (r === 0) {
    g.output('grad_side', dw!);
    return g;
  }
  const shape = side!.shape as number[];
  const layout = spec.layer.mlp.down.layout;
  const ff = layout === 'out_in' ? shape[1]! : shape[0]!;
  const u = g.input('proj_u', g.floatType, [r, ff]);
  const gm = ops.mul(dw!, g.input('grad_mask', g.floatType, shape));
  const ut = ops.transpose(u, [1, 0]); // (ff, r)
  // out_in (d, ff): G − (G Uᵀ) U; in_out (ff, d): G − Uᵀ (U G)
  g.output('grad_side', ops.sub(gm, layout === 'out_in' ? ops.matmul(ops.matmul(gm, ut), u) : ops.matmul(ut, ops.matmul(u, gm))));
  return g;
}
