/**
 * Benchmark timing helpers (generic, shared by the bench/ scripts).
 *
 * `measureInterleaved` runs every case once as a discarded warm-up (first runs are 10–50%
 * slower: arena growth, prepacking), then in `rounds` rounds runs each case in turn, so a
 * burst of load from another process hits all cases alike and ratios measured in the same
 * run stay meaningful. Each round visits the cases in its own seeded random order: in a fixed
 * order a case's cost can depend on the case before it (bench:edit, twelfth session: the same
 * plain forward timed twice in one fixed order gave a ratio of minima of 0.80, and the case
 * after it was slow in every round), and a shuffled order spreads that over all cases. A case
 * faster than `minSampleMs` is repeated within its sample and the sample is the mean per run.
 * Report medians (`median`), not means.
 *
 * Each sample also records the process's CPU time (user + system, all threads; meaningful
 * with ORT's spinning off) and every case keeps its minimum. On a box whose other load comes
 * in bursts, a sample is the case's own cost plus whatever the burst added, so the minimum
 * over many rounds estimates the undisturbed cost (the argument of Python's `timeit`), and CPU
 * time is not inflated by waiting for a core. Ratios of minima and of CPU times are the
 * estimators to read when the wall-time medians are noisy.
 *
 * A full garbage collection runs before every sample, outside its timing, so that a collection
 * owed to an earlier case's allocations (a forward's logits are 25 MB at GPT-2 size) does not
 * land inside a later case's sample (a precaution: it did not remove the order bias above;
 * docs/bench-edit.md, "Twelfth session").
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Rng } from '../../src/util/rng.js';

export interface BenchCase {
  name: string;
  /** one run of the measured operation */
  run: () => unknown;
}

export interface CaseTiming {
  name: string;
  /** ms per run, one entry per round */
  samples: number[];
  /** process CPU ms (user + system) per run, one entry per round */
  cpuSamples: number[];
  /** runs per sample */
  reps: number;
  /** the discarded first run, ms */
  firstMs: number;
  median: number;
  min: number;
  max: number;
  /** median of `cpuSamples` */
  cpuMedian: number;
  /** minimum of `cpuSamples` */
  cpuMin: number;
}

export interface InterleaveOpts {
  /** rounds after the warm-up (≥ 5 for a median worth reporting) */
  rounds: number;
  /** cases faster than this are repeated inside one sample (default 50 ms) */
  minSampleMs?: number;
  /** cap on repetitions per sample (default 50) */
  maxReps?: number;
  /** called after each round (progress) */
  onRound?: (round: number) => void;
  /** seed of the rounds' case orders (default 1) */
  seed?: number;
}

/** A seeded Fisher–Yates shuffle of a copy of `xs`. */
function shuffled<T>(xs: readonly T[], rng: Rng): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const now = (): number => performance.now();

/** V8's full collection (exposed at run time: bench scripts run without --expose-gc). */
const fullGc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

export async function timeOnce(f: () => unknown): Promise<number> {
  const t0 = now();
  await f();
  return now() - t0;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Warm-up once per case (discarded), then `rounds` interleaved rounds over all cases. */
export async function measureInterleaved(cases: readonly BenchCase[], o: InterleaveOpts): Promise<Map<string, CaseTiming>> {
  const minSample = o.minSampleMs ?? 50;
  const maxReps = o.maxReps ?? 50;
  const out = new Map<string, CaseTiming>();
  for (const c of cases) {
    if (out.has(c.name)) throw new Error(`duplicate bench case ${c.name}`);
    const firstMs = await timeOnce(c.run);
    const second = await timeOnce(c.run); // also a warm-up: sizes the repetitions
    const reps = Math.max(1, Math.min(maxReps, Math.ceil(minSample / Math.max(second, 1e-3))));
    out.set(c.name, { name: c.name, samples: [], cpuSamples: [], reps, firstMs, median: NaN, min: NaN, max: NaN, cpuMedian: NaN, cpuMin: NaN });
  }
  const rng = new Rng(o.seed ?? 1);
  for (let r = 0; r < o.rounds; r++) {
    for (const c of shuffled(cases, rng)) {
      const t = out.get(c.name)!;
      fullGc();
      const c0 = process.cpuUsage();
      const t0 = now();
      for (let i = 0; i < t.reps; i++) await c.run();
      t.samples.push((now() - t0) / t.reps);
      const dc = process.cpuUsage(c0); // µs since c0
      t.cpuSamples.push((dc.user + dc.system) / 1000 / t.reps);
    }
    o.onRound?.(r + 1);
  }
  for (const t of out.values()) {
    t.median = median(t.samples);
    t.min = Math.min(...t.samples);
    t.max = Math.max(...t.samples);
    t.cpuMedian = median(t.cpuSamples);
    t.cpuMin = Math.min(...t.cpuSamples);
  }
  return out;
}

/** Least-squares slope of y against x. */
export function lsSlope(pts: readonly (readonly [number, number])[]): number {
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  return pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
}

/** Spread of the samples: (max − min) / median. */
export const spread = (t: CaseTiming): number => (t.max - t.min) / t.median;

/** A duration in ms as a bare number with sensible precision (tables add the unit). */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

/** A duration with its unit: "850 ms", "16.7 s". */
export const fmtDuration = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${fmtMs(ms)} ms`);

/** A plain-text table with right-aligned columns except the first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
