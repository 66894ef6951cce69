/**
 * Shared types of src/merge: the matrix/delta record, the method contract kept by the
 * registry, the learned-mask hook, and the row-block size every kernel iterates with.
 *
 * Reference: mergekit `merge_methods/registry.py` (a name → method table) and
 * `generalized_task_arithmetic.py` (the method signature this mirrors).
 */
import type { z } from 'zod';

/**
 * A dense row-major matrix or delta. `data.length` must equal the product of `shape`.
 * A 1-D tensor (a bias) is `[n]` and is treated as one row. Kernels never look at the
 * shape beyond that: every method here is element-wise across deltas with one
 * threshold per matrix, so rows only decide where blocks are cut.
 */
export interface Matrix {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/**
 * Hook for a learned mask (Concrete subspace learning, tanganke/subspace_fusion): a
 * per-element gate m ∈ [0, 1] shared by all deltas. Learning it needs the model in the
 * loop (entropy objective, thousands of forward/backward passes), so it is out of scope
 * here; a caller that has learned one passes it through `MergeOptions.mask`.
 *
 * `fill(start, end, out)` writes m[start..end) into out[0..end-start). It is called with
 * ascending, non-overlapping ranges, possibly more than once per element (one pass to
 * take mean(m), one to apply it), and must return the same values each time.
 * Only `task_arithmetic` accepts a mask today, where Concrete TA is exact:
 * merged = λ·(m ⊙ Σ_i w_i Δ_i) / mean(m). Other methods reject it (WISE_MERGE_PARAM).
 */
export interface LearnedMask {
  fill(start: number, end: number, out: Float32Array): void;
}

export interface MergeOptions {
  mask?: LearnedMask;
}

/**
 * The merge function of a method: deltas[i] are Δ_i = W_i − W0 (all validated: same
 * shape as `base`, finite), weights[i] the per-delta weights (validated: finite, length
 * k, sign checked against `allowsNegativeWeights`). Returns the merged delta (a fresh
 * Float32Array of N entries); the caller adds it to the base: W = W0 + merged.
 */
export type MergeFn<P> = (
  base: Matrix,
  deltas: readonly Matrix[],
  weights: readonly number[],
  params: P,
  options: MergeOptions,
) => Float32Array;

/** A registry entry. `schema` is a zod strict object: unknown keys are errors. */
export interface MergeMethod<P = unknown> {
  readonly name: string;
  /** One line: what it does and which reference it follows. */
  readonly description: string;
  readonly schema: z.ZodType<P>;
  /** True when permuting deltas together with their weights cannot change the result. */
  readonly orderInvariant: boolean;
  /** Whether negative weights are meaningful for these (parsed) params. */
  allowsNegativeWeights(params: P): boolean;
  /** Whether the method honours `MergeOptions.mask`. */
  readonly acceptsMask?: boolean;
  readonly merge: MergeFn<P>;
}

/** Target elements per row block: 16 Ki elements keeps k Float64 block buffers in L2. */
export const BLOCK_TARGET = 16384;

/**
 * Block length in elements for a matrix with `cols` columns: whole rows when a row fits
 * the target, else the target itself (one very wide row is cut inside the row).
 */
export function blockLength(cols: number): number {
  if (cols <= 0) return BLOCK_TARGET;
  if (cols >= BLOCK_TARGET) return BLOCK_TARGET;
  return cols * Math.floor(BLOCK_TARGET / cols);
}

/** Columns of a shape: the last dimension (1-D → n; scalar → 1). */
export function colsOf(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : (shape[shape.length - 1] as number);
}
