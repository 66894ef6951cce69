/**
 * Training the side memory for one edit (wise-reference.md §1.6): plain SGD on W′ only,
 * the gradient multiplied by the shard's Bernoulli(ρ) mask, optional weight decay (applied
 * after masking, as EasyEdit does; our default is 0), an L∞ clamp of W′ to W ± c after every
 * step, and early stop when |Δloss| ≤ tol and loss ≤ stopLoss. Returns the final scores of
 * the rows under the trained W′ (the threshold ε is derived from the edit rows' mean).
 */
import type { TensorData } from '../graph/types.js';

export interface EditHparams {
  lr: number;
  nIter: number;
  normConstraint: number;
  weightDecay: number;
  earlyStopTol: number;
  earlyStopLoss: number;
}

export interface EditTrainResult {
  steps: number;
  losses: number[];
  /** scores (R,) of every row under the final W′ */
  scores: number[];
  /** mean score of the edit rows under the final W′ */
  editScore: number;
  /** score of the first row (the bare prompt, template "{}") under the final W′ */
  promptScore: number;
  /** the highest irrelevant row's score under the final W′ */
  irrelevantMax: number;
  /** the bare prompt's score without its target, under the final W′ */
  promptOnlyScore: number;
  finalLoss: number;
}

/** The rows of the edit batch that the result reads (memory/rows.ts EditBatch). */
export interface TrainRows {
  isEdit: readonly number[];
  isOut: readonly number[];
  probeRow: number;
}

/**
 * One run of the edit's step graph (memory/step-graph.ts) at W′ = `side` (stored layout), every other
 * feed bound: total_loss (1,), scores (R,), grad_side (W′'s shape). In process it is `engine.run`;
 * in the training process, the child's own session of the same graph (train-child.ts).
 */
export type StepRun = (side: TensorData) => Promise<Record<string, TensorData>>;

/** The outputs a StepRun must return. */
export const STEP_FETCHES = ['total_loss', 'scores', 'grad_side'] as const;

/**
 * @param run the step graph with every input but side_weight bound
 * @param side W′ (stored layout), updated in place
 * @param base W, the frozen weight
 * @param mask the shard's gradient mask (same length)
 */
export async function trainSideMemory(
  run: StepRun,
  side: Float32Array,
  base: Float32Array,
  shape: readonly number[],
  mask: Float32Array,
  rows: TrainRows,
  hp: EditHparams,
): Promise<EditTrainResult> {
  const losses: number[] = [];
  const sideT: TensorData = { dtype: 'float32', dims: [...shape], data: side };
  let prev = Infinity;
  let steps = 0;
  for (let it = 0; it < hp.nIter; it++) {
    const out = await run(sideT);
    const loss = (out.total_loss!.data as Float32Array)[0]!;
    losses.push(loss);
    if (Math.abs(loss - prev) <= hp.earlyStopTol && loss <= hp.earlyStopLoss) break;
    prev = loss;
    const g = out.grad_side!.data as Float32Array;
    const c = hp.normConstraint;
    for (let i = 0; i < side.length; i++) {
      const m = mask[i] as number;
      let w = side[i] as number;
      const gi = (g[i] as number) * m + hp.weightDecay * w;
      w -= hp.lr * gi;
      const lo = (base[i] as number) - c, hi = (base[i] as number) + c;
      side[i] = w < lo ? lo : w > hi ? hi : w;
    }
    steps++;
  }
  const fin = await run(sideT);
  const scores = Array.from(fin.scores!.data as Float32Array);
  let s = 0, n = 0;
  const { isEdit, isOut, probeRow } = rows;
  scores.forEach((v, r) => {
    if (isEdit[r]) {
      s += v;
      n++;
    }
  });
  return { steps, losses, scores, editScore: s / Math.max(1, n), promptScore: scores[0] ?? 0, irrelevantMax: Math.max(0, ...scores.filter((_, r) => isOut[r])), promptOnlyScore: scores[probeRow] ?? 0, finalLoss: (fin.total_loss!.data as Float32Array)[0]! };
}
