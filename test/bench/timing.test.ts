import { describe, expect, it } from 'vitest';
import { lsSlope, measureInterleaved, median } from '../../bench/lib/timing.js';

/**
 * Busy work until this process has used `ms` more milliseconds of CPU and `ms` of wall time have
 * passed. CPU, so that load elsewhere cannot shorten it; wall too, because the process's CPU time
 * counts all its threads (GC, a thread pool), which can reach `ms` before one thread has run that
 * long (a run measured 8.9 ms wall for 12 ms of process CPU).
 */
function spin(ms: number): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1);
    const d = process.cpuUsage(c0);
    if ((d.user + d.system) / 1000 >= ms && performance.now() - t0 >= ms) return x;
  }
}

describe('bench timing helpers', () => {
  it('lsSlope recovers a line and a noiseless fit', () => {
    expect(lsSlope([[0, 1], [1, 1.02], [4, 1.08], [8, 1.16]])).toBeCloseTo(0.02, 12);
    expect(lsSlope([[1, 3], [2, 1]])).toBeCloseTo(-2, 12);
    // least squares, not endpoints: (0,0),(1,1),(2,0) has slope 0
    expect(lsSlope([[0, 0], [1, 1], [2, 0]])).toBeCloseTo(0, 12);
  });

  it('records wall and CPU samples per round, and the minima', async () => {
    const t = await measureInterleaved(
      [{ name: 'short', run: () => spin(4) }, { name: 'long', run: () => spin(12) }],
      { rounds: 3, minSampleMs: 1 },
    );
    const s = t.get('short')!, l = t.get('long')!;
    for (const x of [s, l]) {
      expect(x.samples).toHaveLength(3);
      expect(x.cpuSamples).toHaveLength(3);
      expect(x.min).toBe(Math.min(...x.samples));
      expect(x.cpuMin).toBe(Math.min(...x.cpuSamples));
      expect(x.cpuMedian).toBe(median(x.cpuSamples));
    }
    // each run burns at least its CPU budget and lasts at least as long in wall time
    expect(s.cpuMin).toBeGreaterThanOrEqual(4);
    expect(l.cpuMin).toBeGreaterThanOrEqual(12);
    expect(l.cpuMedian).toBeGreaterThan(s.cpuMedian);
    expect(l.min).toBeGreaterThanOrEqual(0.9 * 12);
  });

  it('visits every case once per round, in a seeded order that changes from round to round', async () => {
    const order = async (seed: number): Promise<string[][]> => {
      const seen: string[] = [];
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      await measureInterleaved(names.map((name) => ({ name, run: () => seen.push(name) })), { rounds: 6, minSampleMs: 0, maxReps: 1, seed });
      const rounds = seen.slice(2 * names.length); // after the two warm-up runs per case
      return Array.from({ length: 6 }, (_, r) => rounds.slice(r * names.length, (r + 1) * names.length));
    };
    const x = await order(7);
    for (const r of x) expect([...r].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(new Set(x.map((r) => r.join(''))).size).toBeGreaterThan(1); // not one fixed order
    expect(await order(7)).toEqual(x); // seeded
    expect(await order(8)).not.toEqual(x);
  });
});
