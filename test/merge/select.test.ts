/** Linear-time selection agrees with a full sort, masks NaN, treats −0 as +0. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { absAtRankDesc, selectKeyRanks, selectTopAbs } from '../../src/merge/index.js';
import { absKeyScan, floatOfAbsKey, floatOfSignedKey, signedKey } from '../../src/merge/select.js';

function sortedAbsDesc(x: Float32Array): number[] {
  return Array.from(x, Math.abs)
    .filter((v) => !Number.isNaN(v))
    .sort((p, q) => q - p);
}

describe('selectTopAbs', () => {
  const rng = new Rng(77);
  it('matches a sort on random data with ties, zeros, −0 and NaN', () => {
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + rng.int(3000);
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const r = rng.next();
        x[i] = r < 0.1 ? 0 : r < 0.15 ? -0 : r < 0.17 ? Number.NaN : Math.round(rng.normal() * (trial % 3 === 0 ? 3 : 1e4)) / 7;
      }
      const s = sortedAbsDesc(x);
      for (const k of [0, 1, Math.floor(n / 3), s.length - 1, s.length, s.length + 5]) {
        const t = selectTopAbs(x, k);
        const kk = Math.max(0, Math.min(k, s.length));
        expect(t.count).toBe(kk);
        if (kk === 0 || kk === s.length) continue;
        const thr = s[kk - 1] as number;
        expect(t.thr).toBe(thr);
        expect(t.equal).toBe(s.filter((v) => v === thr).length);
        expect(t.quota).toBe(kk - s.filter((v) => v > thr).length);
      }
    }
  });

  it('−0 and +0 are one key; NaN is never counted', () => {
    const x = Float32Array.from([-0, 0, Number.NaN, 1, -0]);
    const t = selectTopAbs(x, 2);
    expect(t).toMatchObject({ count: 2, thr: 0, equal: 3, quota: 1 });
    expect(selectTopAbs(x, 10).count).toBe(4);
  });

  it('absAtRankDesc is the (rank+1)-th largest magnitude', () => {
    const x = Float32Array.from([5, -1, 3, -3, 2]);
    expect([0, 1, 2, 3, 4, 5].map((r) => absAtRankDesc(x, r))).toEqual([5, 3, 3, 2, 1, -1]);
  });
});

describe('selectKeyRanks (streaming, several ranks in two passes)', () => {
  it('matches a sort for signed keys', () => {
    const rng = new Rng(5);
    const x = new Float32Array(5000);
    for (let i = 0; i < x.length; i++) x[i] = rng.next() < 0.05 ? -0 : rng.normal();
    const u = new Uint32Array(x.buffer);
    const keys = Uint32Array.from(u, signedKey);
    const scan = (visit: (k: Uint32Array, n: number) => void) => {
      for (let s = 0; s < keys.length; s += 999) visit(keys.subarray(s, Math.min(keys.length, s + 999)), Math.min(999, keys.length - s));
    };
    const ranks = [0, 17, 2500, 4999, 5000];
    const { hits, total } = selectKeyRanks(scan, ranks);
    expect(total).toBe(5000);
    const desc = Array.from(x).sort((p, q) => q - p);
    ranks.slice(0, 4).forEach((r, j) => expect(floatOfSignedKey(hits[j]?.key as number)).toBe(desc[r] === 0 ? 0 : desc[r]));
    expect(hits[4]).toBeUndefined();
  });

  it('absKeyScan skips NaN', () => {
    const x = Float32Array.from([1, Number.NaN, -4, 2]);
    const { hits, total } = selectKeyRanks(absKeyScan(x, 2), [0, 2]);
    expect(total).toBe(3);
    expect([floatOfAbsKey(hits[0]?.key as number), floatOfAbsKey(hits[1]?.key as number)]).toEqual([4, 1]);
  });
});
