/**
 * src/merge public surface: pure Float32Array merge math (no I/O) behind a registry.
 *
 *   import { mergeRegistry } from './merge/index.js';
 *   const merged = mergeRegistry.merge('ties', base, deltas, [0.5, 0.5], { density: 0.53 });
 *   // W = W0 + merged
 *
 * Methods: ties (WISE default), magnitude, sign, task_arithmetic, dare, dare_ties,
 * della, della_linear, breadcrumbs, pcb, slerp, model_stock. See docs/merge.md for the parameter table and references.
 */
import { breadcrumbs } from './breadcrumbs.js';
import { dare, dareTies } from './dare.js';
import { della, dellaLinear } from './della.js';
import { modelStock } from './model-stock.js';
import { slerp } from './slerp.js';
import { pcb } from './pcb.js';
import { MergeRegistry } from './registry.js';
import { taskArithmetic } from './task-arithmetic.js';
import { magnitude, sign, ties } from './ties.js';

export { MergeRegistry, defineMethod } from './registry.js';
export type { LearnedMask, Matrix, MergeFn, MergeMethod, MergeOptions } from './types.js';
export { selectTopAbs, selectKeyRanks, absAtRankDesc, type TopSet } from './select.js';
export { ties, magnitude, sign, taskArithmetic, dare, dareTies, della, dellaLinear, breadcrumbs, pcb, slerp, modelStock };

/** A registry with every built-in method. */
export function createMergeRegistry(): MergeRegistry {
  return new MergeRegistry()
    .register(ties)
    .register(magnitude)
    .register(sign)
    .register(taskArithmetic)
    .register(dare)
    .register(dareTies)
    .register(della)
    .register(dellaLinear)
    .register(breadcrumbs)
    .register(pcb)
    .register(slerp)
    .register(modelStock);
}

/** The shared default registry. */
export const mergeRegistry = createMergeRegistry();

/** Convenience: mergeRegistry.merge(method, ...). */
export function merge(method: string, ...args: Parameters<MergeRegistry['merge']> extends [string, ...infer R] ? R : never): Float32Array {
  return mergeRegistry.merge(method, ...args);
}
