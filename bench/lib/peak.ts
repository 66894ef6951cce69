/**
 * Peak MatMul throughput of the engine on this machine: square float32 MatMuls (both
 * operands fed as inputs) on the same Engine (same thread count and session options) as
 * the graphs being rated, so "fraction of peak" compares like with like.
 *
 *   const peak = peakCases(engine, [1024, 2048]);       // BenchCase[] to interleave with yours
 *   const t = await measureInterleaved([...peak.cases, ...mine], { rounds: 7 });
 *   const { gflops } = peak.best(t);                   // best median GFLOP/s over the sizes
 */
import { Graph, matmulFlops, ops } from '../../src/graph/index.js';
import type { Engine } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';
import type { BenchCase, CaseTiming } from './timing.js';
import { uniformFill } from './weights.js';

export interface PeakCases {
  cases: BenchCase[];
  /** FLOPs per run by case name */
  flops: Map<string, number>;
  /** the best median GFLOP/s over the sizes, and the size that gave it */
  best(t: ReadonlyMap<string, CaseTiming>): { gflops: number; size: number; bySize: { size: number; gflops: number; ms: number }[] };
}

export const peakCaseName = (n: number): string => `matmul ${n}x${n}x${n}`;

/** A graph computing a (n×n) · b (n×n), both graph inputs. */
export function squareMatmulGraph(n: number): Graph {
  const g = new Graph({ floatType: 'float32', name: `peak-matmul-${n}` });
  g.output('c', ops.matmul(g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n])));
  return g;
}

export function peakCases(engine: Engine, sizes: readonly number[], seed = 1): PeakCases {
  const rng = new Rng(seed);
  const cases: BenchCase[] = [];
  const flops = new Map<string, number>();
  for (const n of sizes) {
    const g = squareMatmulGraph(n);
    const a = uniformFill(new Float32Array(n * n), 1, rng);
    const b = uniformFill(new Float32Array(n * n), 1, rng);
    const feeds = { a: { dtype: 'float32' as const, dims: [n, n], data: a }, b: { dtype: 'float32' as const, dims: [n, n], data: b } };
    const name = peakCaseName(n);
    flops.set(name, matmulFlops(g));
    cases.push({ name, run: () => engine.run(g, feeds) });
  }
  return {
    cases,
    flops,
    best(t) {
      const bySize = sizes.map((size) => {
        const name = peakCaseName(size);
        const ms = t.get(name)!.median;
        return { size, ms, gflops: flops.get(name)! / ms / 1e6 };
      });
      const top = bySize.reduce((a, b) => (b.gflops > a.gflops ? b : a));
      return { gflops: top.gflops, size: top.size, bySize };
    },
  };
}
