/**
 * Sets of code points as sorted, disjoint, non-adjacent [lo, hi] ranges: the character tests of the regex
 * recogniser (regex.ts) and the GBNF one (grammar.ts). Ranges let a recogniser answer "does some code point
 * in lo..hi step this state?" (Recognizer.takesIn) without trying each one: what a byte-level token that
 * ends inside a multi-byte UTF-8 character needs (token-constraint.ts). Pure.
 */

/** sorted, disjoint, non-adjacent inclusive ranges */
export type Ranges = readonly (readonly [number, number])[];

export const MAX_CODE_POINT = 0x10ffff;

/** The union of `parts` (any order, overlapping or not), normalised. */
export function rangesOf(parts: Iterable<readonly [number, number]>): Ranges {
  const sorted = [...parts].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Every code point not in `r`. */
export function complement(r: Ranges): Ranges {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of r) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export function inRanges(r: Ranges, cp: number): boolean {
  let a = 0;
  let b = r.length - 1;
  while (a <= b) {
    const m = (a + b) >> 1;
    const [lo, hi] = r[m]!;
    if (cp < lo) b = m - 1;
    else if (cp > hi) a = m + 1;
    else return true;
  }
  return false;
}

/** Some code point of lo..hi is in `r`. */
export function meets(r: Ranges, lo: number, hi: number): boolean {
  for (const [a, b] of r) {
    if (a > hi) return false;
    if (b >= lo) return true;
  }
  return false;
}

/** Every code point of lo..hi is in `r` (ranges are non-adjacent, so one range must hold them all). */
export function covers(r: Ranges, lo: number, hi: number): boolean {
  return r.some(([a, b]) => a <= lo && b >= hi);
}

/**
 * lo..hi cut where `r` starts or ends: within a piece every code point is in `r` or none is. Callers that
 * must look at each distinct behaviour over a range take one code point per piece of every set involved.
 */
export function cutPoints(r: Ranges, lo: number, hi: number, into: Set<number>): void {
  for (const [a, b] of r) {
    if (a > lo && a <= hi) into.add(a);
    if (b + 1 > lo && b + 1 <= hi) into.add(b + 1);
  }
}
