/**
 * `npm run bench:merge`: merge costs on random 4096×11008 Float32 deltas (the running
 * example of docs/merging-reference.md §9), in one process so the ratios share a machine
 * state: ties and pcb at k = 2 and 8, the task-arithmetic sum at the same k, and the
 * linear-time selection against Float32Array.prototype.sort of the same |Δ| array.
 * Targets: ties(k=2) ≤ 6× task_arithmetic(k=2); selection ≥ 10× faster than the sort.
 * Every merge goes through the registry (params parse, shape/weight/finite checks).
 * Env: MERGE_BENCH_ROWS / MERGE_BENCH_COLS shrink the matrix for a smoke run.
 */
import { Rng } from '../src/util/rng.js';
import { mergeRegistry, selectTopAbs, type Matrix } from '../src/merge/index.js';

const rows = Number(process.env.MERGE_BENCH_ROWS ?? 4096);
const cols = Number(process.env.MERGE_BENCH_COLS ?? 11008);
const N = rows * cols;
const KS = [2, 8] as const;
const REPEATS = 3; // the fast k = 2 timings take the best of 3 to damp noise on a shared 2-core box

/** Cheap seeded uniform deltas in (−1e-3, 1e-3): one u32 draw per entry. */
function randomDelta(seed: number): Matrix {
  const rng = new Rng(seed);
  const data = new Float32Array(N);
  for (let i = 0; i < N; i++) data[i] = ((rng.nextU32() >>> 8) / 16777216 - 0.5) * 2e-3;
  return { data, shape: [rows, cols] };
}

function time<T>(f: () => T): [number, T] {
  const t0 = performance.now();
  const r = f();
  return [performance.now() - t0, r];
}

function best(repeats: number, f: () => unknown): number {
  let b = Infinity;
  for (let r = 0; r < repeats; r++) b = Math.min(b, time(f)[0]);
  return b;
}

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function main(): void {
  console.log(`merge bench: ${rows}×${cols} = ${N} entries (${((N * 4) / 1e6).toFixed(1)} MB per delta), node ${process.version}`);
  const [genMs, deltas] = time(() => Array.from({ length: 8 }, (_, i) => randomDelta(1000 + i)));
  console.log(`generated 8 deltas in ${fmt(genMs)}`);
  const base: Matrix = { data: new Float32Array(N), shape: [rows, cols] };

  const rowsOut: { name: string; k: number; ms: number }[] = [];
  const ta: Record<number, number> = {};
  for (const k of KS) {
    const ds = deltas.slice(0, k);
    const w = ds.map(() => 1 / k);
    const rep = k === 2 ? REPEATS : 1;
    ta[k] = best(rep, () => mergeRegistry.merge('task_arithmetic', base, ds, w, { lambda: 1 }));
    rowsOut.push({ name: 'task_arithmetic', k, ms: ta[k] as number });
    rowsOut.push({ name: 'ties (density 0.53)', k, ms: best(rep, () => mergeRegistry.merge('ties', base, ds, w, {})) });
    rowsOut.push({ name: 'pcb (ratio 0.1)', k, ms: best(1, () => mergeRegistry.merge('pcb', base, ds, w, {})) });
  }
  console.log('\n| method | k | time | × task_arithmetic (same k) |\n|---|---|---|---|');
  for (const r of rowsOut) console.log(`| ${r.name} | ${r.k} | ${fmt(r.ms)} | ${(r.ms / (ta[r.k] as number)).toFixed(2)}× |`);

  // Selection vs sort of the same array: the top ⌊0.53·N⌋ threshold of |Δ_0|.
  const d0 = (deltas[0] as Matrix).data;
  const keep = Math.floor(0.53 * N);
  const selMs = best(REPEATS, () => selectTopAbs(d0, keep));
  const top = selectTopAbs(d0, keep);
  const abs = new Float32Array(N);
  for (let i = 0; i < N; i++) abs[i] = Math.abs(d0[i] as number);
  const [sortMs] = time(() => abs.sort());
  const sortThr = abs[N - keep] as number;
  console.log(`\nselection (radix, 2 passes): ${fmt(selMs)}; Float32Array.sort of |Δ|: ${fmt(sortMs)}; speed-up ${(sortMs / selMs).toFixed(1)}×`);
  console.log(`thresholds agree: ${top.thr === sortThr} (radix ${top.thr}, sort ${sortThr})`);

  const tiesK2 = rowsOut.find((r) => r.k === 2 && r.name.startsWith('ties'))?.ms ?? NaN;
  const r1 = tiesK2 / (ta[2] as number);
  const r2 = sortMs / selMs;
  console.log(`\ntarget ties(k=2) ≤ 6× task_arithmetic(k=2): ${r1.toFixed(2)}× ${r1 <= 6 ? 'MET' : 'MISSED'}`);
  console.log(`target selection ≥ 10× faster than sort: ${r2.toFixed(1)}× ${r2 >= 10 ? 'MET' : 'MISSED'}`);
}

main();
