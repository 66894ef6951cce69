/**
 * MatMul/Gemm FLOP counter for benchmarks (2·M·N·K per product; elementwise ops ignored,
 * as in the engine prototype's GFLOP/s figures). Symbolic dims are resolved from `sizes`
 * (product symbols such as 'B*T' multiply their parts).
 */
import { WiseError } from '../util/errors.js';
import type { Graph } from './graph.js';
import type { Dim } from './types.js';

function resolve(d: Dim, sizes: Readonly<Record<string, number>>): number {
  if (typeof d === 'number') return d;
  return d.split('*').reduce((p, f) => {
    const v = /^\d+$/.test(f) ? Number(f) : sizes[f];
    if (v === undefined) throw new WiseError('WISE_GRAPH', `flops: no size for symbolic dim ${f}`, { dim: d });
    return p * v;
  }, 1);
}

/** Total MatMul + Gemm FLOPs of the graph (all nodes, forward and backward). */
export function matmulFlops(g: Graph, sizes: Readonly<Record<string, number>> = {}): number {
  let total = 0;
  for (const n of g.nodes) {
    if (n.op !== 'MatMul' && n.op !== 'Gemm') continue;
    const out = n.output.shape.reduce<number>((p, d) => p * resolve(d, sizes), 1);
    const a = n.inputs[0]!;
    const k = n.op === 'Gemm' && n.attrs['transA'] ? a.shape[0]! : a.shape[a.rank - 1]!;
    total += 2 * out * resolve(k, sizes);
  }
  return total;
}
