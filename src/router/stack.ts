/**
 * The router's one memory input: every memory's delta Δ_k = W′_k − W, side by side as the
 * right operand of a single MatMul, `mem_deltas` (ff, M·d), column block k = Δ_kᵀ (ff, d).
 * A(x) (…, ff) · mem_deltas gives every memory's δ_k = A(x)Δ_kᵀ at once: one large MatMul
 * instead of one per memory (router.ts).
 *
 * Δ_k comes in the checkpoint's layout of the edited weight: 'out_in' (d, ff) (llama, torch
 * Linear) is transposed into its block; 'in_out' (ff, d) (GPT-2 Conv1D) is copied as is.
 * Slots past the given deltas (bucket padding) stay zero.
 *
 * With int8 routing scores (router/quant.ts) the float deltas are stacked as blocks (M, ff, d)
 * instead (StackOrder), and stackQuantized gives the (ff, M·d) stack quantized per column.
 *
 * Restacking M memories copies M·|W| floats, so the last stack per (shape, layout, M) is kept:
 * a list that only appends to it (its first n deltas are the same arrays) fills the new slots
 * in place. Only slots that were padding in the kept stack are written, so a routed variant
 * still holding that buffer sees its real memories unchanged (its padding slots are gated off
 * by an ε no score reaches).
 */
import type { WeightLayout } from '../graph/index.js';
import { quantizeMatrix, type QuantizedColumns } from './quant.js';

/** The edited weight's layout (graph/nn.ts): 'out_in' (d, ff) as torch Linear, 'in_out' (ff, d) as GPT-2's Conv1D. */
export type Layout = WeightLayout;

interface Kept {
  key: string;
  data: Float32Array;
  deltas: Float32Array[];
}

let kept: Kept | null = null;

/**
 * 'columns': (ff, M·d), column block k = Δ_kᵀ, the right operand of one MatMul scoring every
 * memory. 'rows': (M·d, ff), row block k = Δ_k (d, ff), the left operand of that MatMul against
 * A(x)ᵀ, which the router uses while M·d is small (router.ts leftOperand). 'blocks': (M, ff, d),
 * block k = Δ_kᵀ contiguous, for gathering one memory per sequence (int8 scoring, router.ts)
 * with a single copy.
 */
export type StackOrder = 'columns' | 'rows' | 'blocks';

function fill(data: Float32Array, k: number, delta: Float32Array, M: number, ff: number, d: number, layout: Layout, order: StackOrder): void {
  if (order === 'rows') {
    const base = k * d * ff;
    if (layout === 'out_in') {
      data.set(delta, base); // Δ_k (d, ff) as stored
      return;
    }
    for (let j = 0; j < ff; j++) {
      const row = j * d; // Δ_k[j, :] of (ff, d)
      for (let i = 0; i < d; i++) data[base + i * ff + j] = delta[row + i] as number;
    }
    return;
  }
  if (order === 'blocks') {
    if (layout === 'in_out') {
      data.set(delta, k * ff * d);
      return;
    }
    const base = k * ff * d;
    for (let i = 0; i < d; i++) {
      const row = i * ff; // Δ_k[i, :] (d, ff)
      for (let j = 0; j < ff; j++) data[base + j * d + i] = delta[row + j] as number;
    }
    return;
  }
  const stride = M * d; // one row of (ff, M·d)
  if (layout === 'in_out') {
    for (let j = 0; j < ff; j++) data.set(delta.subarray(j * d, (j + 1) * d), j * stride + k * d);
    return;
  }
  for (let i = 0; i < d; i++) {
    const row = i * ff; // Δ_k[i, :] (d, ff)
    for (let j = 0; j < ff; j++) data[j * stride + k * d + i] = delta[row + j] as number;
  }
}

/** [ff, d] of the edited weight's `shape` in `layout`. */
export function stackDims(shape: readonly number[], layout: Layout): [number, number] {
  return layout === 'out_in' ? [shape[1]!, shape[0]!] : [shape[0]!, shape[1]!];
}

/**
 * (ff, M·d) for `deltas` (each of the edited weight's `shape`, in `layout`), padded to M slots.
 * `keep` false: a new array, and the kept stack is left alone (one-off scoring runs).
 */
export function stackDeltas(deltas: readonly Float32Array[], M: number, shape: readonly number[], layout: Layout, keep = true, order: StackOrder = 'columns'): Float32Array {
  if (deltas.length > M) throw new RangeError(`stackDeltas: ${deltas.length} memories for ${M} slots`);
  const [ff, d] = stackDims(shape, layout);
  if (!keep) {
    const data = new Float32Array(ff * M * d);
    deltas.forEach((x, k) => fill(data, k, x, M, ff, d, layout, order));
    return data;
  }
  const key = `${shape.join('x')}:${layout}:${M}:${order}`;
  const prefix = kept !== null && kept.key === key && kept.deltas.length <= deltas.length && kept.deltas.every((x, k) => x === deltas[k]);
  const data = prefix ? kept!.data : new Float32Array(ff * M * d);
  for (let k = prefix ? kept!.deltas.length : 0; k < deltas.length; k++) fill(data, k, deltas[k]!, M, ff, d, layout, order);
  kept = { key, data, deltas: [...deltas] };
  return data;
}

interface KeptQuant {
  key: string;
  deltas: Float32Array[];
  q: QuantizedColumns;
}
let keptQuant: KeptQuant | null = null;

/**
 * Each delta's Δᵀ (ff, d) quantized per column, cached per delta array (a memory's delta array
 * is never written after it is made, as edit-scores.ts also relies on): the router's stack and
 * the threshold scorer's stacks of the same memory quantize it once.
 */
const blockCache = new WeakMap<Float32Array, QuantizedColumns>();
function quantizedBlock(delta: Float32Array, ff: number, d: number, layout: Layout): QuantizedColumns {
  let qk = blockCache.get(delta);
  if (!qk) {
    const block = new Float32Array(ff * d);
    fill(block, 0, delta, 1, ff, d, layout, 'blocks'); // Δᵀ (ff, d)
    qk = quantizeMatrix(block, ff, d);
    blockCache.set(delta, qk);
  }
  return qk;
}

/**
 * The stack (ff, M·d) of `deltas` quantized per column (router/quant.ts), for the int8 routing
 * scores: memory k's column block is its Δ_kᵀ (ff, d) quantized on its own (columns are
 * independent; quantizedBlock), padding slots are zero with scale 1. Like stackDeltas, the last
 * result is kept, and a list that only appends to it fills only the new memories' blocks.
 */
export function stackQuantized(deltas: readonly Float32Array[], M: number, shape: readonly number[], layout: Layout, keep = true): QuantizedColumns {
  if (deltas.length > M) throw new RangeError(`stackQuantized: ${deltas.length} memories for ${M} slots`);
  const [ff, d] = stackDims(shape, layout);
  const key = `${shape.join('x')}:${layout}:${M}`;
  const prev = keptQuant;
  const prefix = keep && prev !== null && prev.key === key && prev.deltas.length <= deltas.length && prev.deltas.every((x, k) => x === deltas[k]);
  const out: QuantizedColumns = prefix ? prev!.q : { q: new Int8Array(ff * M * d), scale: new Float32Array(M * d).fill(1) };
  for (let k = prefix ? prev!.deltas.length : 0; k < deltas.length; k++) {
    const qk = quantizedBlock(deltas[k]!, ff, d, layout);
    for (let j = 0; j < ff; j++) out.q.set(qk.q.subarray(j * d, (j + 1) * d), j * M * d + k * d);
    out.scale.set(qk.scale, k * d);
  }
  if (keep) keptQuant = { key, deltas: [...deltas], q: out };
  return out;
}
