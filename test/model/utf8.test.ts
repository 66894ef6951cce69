/**
 * UTF-8 one byte at a time (src/model/constrain/utf8.ts) against TextEncoder/TextDecoder, and code-point
 * range sets (char-ranges.ts) against membership checked point by point.
 */
import { describe, expect, it } from 'vitest';
import { BETWEEN, codePointOf, feedByte, isWholeUtf8, needOf, pendingRanges } from '../../src/model/constrain/utf8.js';
import { complement, covers, cutPoints, inRanges, meets, rangesOf } from '../../src/model/constrain/char-ranges.js';
import { Rng } from '../../src/util/rng.js';

const enc = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });

/** every byte of `bytes` fed from BETWEEN: the code points completed, or null at the first refused byte */
function feedAll(bytes: Uint8Array): { cps: number[]; pend: number } | null {
  let p = BETWEEN;
  const cps: number[] = [];
  for (const b of bytes) {
    p = feedByte(p, b);
    if (p < 0) return null;
    if (needOf(p) === 0) {
      cps.push(codePointOf(p));
      p = BETWEEN;
    }
  }
  return { cps, pend: p };
}

describe('utf8 (pure)', () => {
  it('every scalar value round-trips; each prefix of its encoding is pending with a range that holds it', () => {
    const wrong: number[] = [];
    let n = 0;
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x3000 ? 1 : 97) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const bytes = enc.encode(String.fromCodePoint(cp));
      let p = BETWEEN;
      let ok = true;
      bytes.forEach((b, i) => {
        p = feedByte(p, b);
        if (p < 0) ok = false;
        else if (i < bytes.length - 1) ok &&= needOf(p) === bytes.length - 1 - i && pendingRanges(p).some(([lo, hi]) => cp >= lo && cp <= hi);
      });
      if (!ok || needOf(p) !== 0 || codePointOf(p) !== cp) wrong.push(cp);
      n++;
    }
    expect(wrong).toEqual([]);
    expect(n).toBeGreaterThan(20_000);
  });

  it('surrogates, overlong forms, past U+10FFFF, stray continuation and invalid lead bytes are refused at the first byte that rules out every character', () => {
    expect(feedAll(Uint8Array.of(0xed, 0xa0))).toBeNull(); // U+D800.. only
    expect(feedAll(Uint8Array.of(0xed))!.pend).toBeGreaterThan(0); // U+D000–U+D7FF still possible
    expect(pendingRanges(feedAll(Uint8Array.of(0xed))!.pend)).toEqual([[0xd000, 0xd7ff]]);
    expect(feedAll(Uint8Array.of(0xc0))).toBeNull();
    expect(feedAll(Uint8Array.of(0xc1))).toBeNull();
    expect(feedAll(Uint8Array.of(0xe0, 0x9f))).toBeNull(); // overlong 3-byte
    expect(feedAll(Uint8Array.of(0xf0, 0x8f))).toBeNull(); // overlong 4-byte
    expect(feedAll(Uint8Array.of(0xf4, 0x90))).toBeNull(); // past U+10FFFF
    expect(feedAll(Uint8Array.of(0xf5))).toBeNull();
    expect(feedAll(Uint8Array.of(0xff))).toBeNull();
    expect(feedAll(Uint8Array.of(0x80))).toBeNull();
    expect(feedAll(Uint8Array.of(0xc3, 0x41))).toBeNull(); // a lead byte then ASCII
    expect(pendingRanges(feedAll(Uint8Array.of(0xe4))!.pend)).toEqual([[0x4000, 0x4fff]]);
    expect(pendingRanges(feedAll(Uint8Array.of(0xf0, 0x9f))!.pend)).toEqual([[0x1f000, 0x1ffff]]);
  });

  it('random byte strings: whole valid UTF-8 exactly when a strict TextDecoder reads them, with the same code points', () => {
    const rng = new Rng(11);
    const pool = [0x41, 0x7f, 0x80, 0xa9, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xe4, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0x9f, 0x90, 0x8f, 0xa0];
    for (let run = 0; run < 20_000; run++) {
      const bytes = Uint8Array.from({ length: 1 + rng.int(6) }, () => (rng.int(3) === 0 ? rng.int(256) : pool[rng.int(pool.length)]!));
      let text: string | null;
      try {
        text = strict.decode(bytes);
      } catch {
        text = null;
      }
      expect(isWholeUtf8(bytes), Array.from(bytes).join(',')).toBe(text !== null);
      if (text !== null) expect(feedAll(bytes)!.cps).toEqual([...text].map((c) => c.codePointAt(0)));
    }
  });
});

describe('char-ranges (pure)', () => {
  it('union, complement, membership, meets, covers and cut points agree with a point-by-point check', () => {
    const rng = new Rng(5);
    const U = 300; // the points checked (complements reach U+10FFFF; below U they are checked exactly)
    for (let run = 0; run < 300; run++) {
      const parts = Array.from({ length: rng.int(5) }, () => {
        const a = rng.int(U);
        return [a, a + rng.int(40)] as [number, number];
      });
      const r = rangesOf(parts);
      const inPart = (c: number): boolean => parts.some(([a, b]) => c >= a && c <= b);
      for (let k = 1; k < r.length; k++) expect(r[k]![0]).toBeGreaterThan(r[k - 1]![1] + 1); // sorted, disjoint, not adjacent
      const c = complement(r);
      const wrong: number[] = [];
      for (let x = 0; x < U + 60; x++) if (inRanges(r, x) !== inPart(x) || inRanges(c, x) === inPart(x)) wrong.push(x);
      expect(wrong).toEqual([]);
      expect(inRanges(c, 0x10ffff)).toBe(true);
      const lo = rng.int(U);
      const hi = lo + rng.int(80);
      const pts = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
      expect(meets(r, lo, hi)).toBe(pts.some(inPart));
      expect(covers(r, lo, hi)).toBe(pts.every(inPart));
      const cuts = new Set<number>([lo]);
      cutPoints(r, lo, hi, cuts);
      const sorted = [...cuts].sort((a, b) => a - b);
      for (let x = lo + 1; x <= hi; x++) if (inPart(x) !== inPart(x - 1)) expect(cuts.has(x)).toBe(true); // every change is cut
      for (const x of sorted) expect(x >= lo && x <= hi).toBe(true);
    }
  });
});
