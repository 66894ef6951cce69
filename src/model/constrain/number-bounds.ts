/**
 * JSON Schema's minimum, maximum, exclusiveMinimum, exclusiveMaximum and multipleOf for constrained decoding: whether a
 * number text read so far can still end within the bounds, and whether a complete one is within them. Exact:
 * decimals as BigInt over a power of ten, bounds as the shortest decimal of their double (String(x)). Pure.
 *
 * A bounded number is written without an exponent (json-machine.ts refuses e/E there): its text is
 * -?(0|[1-9][0-9]*)(.[0-9]+)? with at most `maxDigits` digits per part, so the values a prefix can still reach
 * are runs of writable values (multiples of 10^−maxDigits, or integers):
 *   ""  / "-"          any magnitude below 10^maxDigits
 *   "0"                0, or 0.x
 *   "I" (k digits)     I·10^j … (I+1)·10^j − one grid step, for j = 0 … maxDigits − k
 *   "I.F"              I.F … I.F + 10^−|F| − one grid step
 * and a minus sign mirrors them (the magnitude is held to the mirrored bounds). Each run is compared with the
 * bounds on its grid, so a bound between two writable values is judged exactly; under multipleOf, a run must also
 * hold a multiple of the step (decimal: 0.3 is a multiple of 0.1, as the schema's numbers read, not as doubles divide).
 */

/** digits per part of a JSON number (llama.cpp's JSON grammar: 16 integral ones); json-machine.ts's MAX_DIGITS */
export const MAX_NUMBER_DIGITS = 16;

/** n / 10^s */
export interface Dec {
  readonly n: bigint;
  readonly s: number;
}

/** The bounds of a number node; null: none on that side. Open: exclusive. step: multipleOf (> 0), or none. */
export interface Bounds {
  readonly lo: Dec | null;
  readonly loOpen: boolean;
  readonly hi: Dec | null;
  readonly hiOpen: boolean;
  readonly step?: Dec | null;
}

/** The number text so far, without an exponent: sign, integral digits ('' before any), fraction digits (null before a dot). */
export interface NumPrefix {
  neg: boolean;
  int: string;
  frac: string | null;
}

/** The exact decimal of a finite double's shortest representation. */
export function decOf(x: number): Dec {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) throw new Error(`decOf: not a finite number: ${x}`);
  const frac = m[3] ?? '';
  let n = BigInt(`${m[1]}${m[2]}${frac}`);
  let s = frac.length - Number(m[4] ?? 0);
  if (s < 0) {
    n *= 10n ** BigInt(-s);
    s = 0;
  }
  return { n, s };
}

const scaled = (d: Dec, s: number): bigint => d.n * 10n ** BigInt(s - d.s);

export function cmp(a: Dec, b: Dec): number {
  const s = Math.max(a.s, b.s);
  const x = scaled(a, s);
  const y = scaled(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}

const neg = (d: Dec): Dec => ({ n: -d.n, s: d.s });
const ten = (k: number): bigint => 10n ** BigInt(k);

/** ⌊d · 10^g⌋: d in grid units of 10^−g */
function gridFloor(d: Dec, g: number): bigint {
  if (d.s <= g) return d.n * ten(g - d.s);
  const div = ten(d.s - g);
  const q = d.n / div; // toward zero
  return d.n < 0n && q * div !== d.n ? q - 1n : q;
}
const gridCeil = (d: Dec, g: number): bigint => -gridFloor(neg(d), g);

/** The writable values a prefix can still reach: lo..hi in grid units of 10^−g (g = 0: integers), both ends writable. */
interface Span {
  lo: bigint;
  hi: bigint;
  g: number;
}

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/**
 * The grid units (10^−g) whose multiples are multiples of `step`: v·10^−g = k·step ⟺ v·10^step.s ≡ 0 (mod step.n·10^g),
 * so v runs over multiples of step.n·10^g / gcd(10^step.s, step.n·10^g).
 */
function stepUnits(step: Dec, g: number): bigint {
  const b = step.n * ten(g);
  return b / gcd(ten(step.s), b);
}

/** Whether a grid point of `span` lies within `b` (and on its step). */
function meets(span: Span, b: Bounds): boolean {
  let first = span.lo;
  let last = span.hi;
  if (b.lo) {
    const l = b.loOpen ? gridFloor(b.lo, span.g) + 1n : gridCeil(b.lo, span.g);
    if (l > first) first = l;
  }
  if (b.hi) {
    const h = b.hiOpen ? gridCeil(b.hi, span.g) - 1n : gridFloor(b.hi, span.g);
    if (h < last) last = h;
  }
  if (first > last) return false;
  if (!b.step) return true;
  const u = stepUnits(b.step, span.g); // first ≥ 0: magnitudes
  return ((first + u - 1n) / u) * u <= last;
}

/** The spans of magnitudes `p` (its sign aside) can still reach, with at most maxDigits digits a part. */
function magnitudeSpans(p: NumPrefix, integer: boolean, maxDigits: number): Span[] {
  const g = integer ? 0 : maxDigits;
  if (p.frac !== null) {
    // I.F then up to maxDigits − |F| more fraction digits ("I." needs at least one)
    const x = BigInt(`${p.int}${p.frac}`) * ten(g - p.frac.length);
    return [{ lo: x, hi: x + ten(g - p.frac.length) - 1n, g }];
  }
  if (p.int === '') return [{ lo: 0n, hi: ten(maxDigits + g) - 1n, g }];
  if (p.int === '0') return [{ lo: 0n, hi: ten(g) - 1n, g }]; // 0, or 0.x
  const I = BigInt(p.int);
  const spans: Span[] = [];
  for (let j = 0; j + p.int.length <= maxDigits; j++) spans.push({ lo: I * ten(j + g), hi: (I + 1n) * ten(j + g) - 1n, g }); // j more integral digits
  return spans;
}

/** −b: v is within b exactly when −v is within mirror(b). */
const mirror = (b: Bounds): Bounds => ({ lo: b.hi && neg(b.hi), loOpen: b.hiOpen, hi: b.lo && neg(b.lo), hiOpen: b.loOpen, step: b.step ?? null });

/** Whether some number text extending `p` (no exponent; at most maxDigits digits per part) ends within `b`. */
export function viable(p: NumPrefix, b: Bounds, integer: boolean, maxDigits: number): boolean {
  const bb = p.neg ? mirror(b) : b; // a minus sign: the magnitude within the mirrored bounds
  return magnitudeSpans(p, integer, maxDigits).some((m) => meets(m, bb));
}

/** The complete number `p` lies within `b`. */
export function within(p: NumPrefix, b: Bounds): boolean {
  const frac = p.frac ?? '';
  const m: Dec = { n: BigInt(`${p.int || '0'}${frac}`), s: frac.length };
  const v = p.neg ? neg(m) : m;
  if (b.lo && (cmp(v, b.lo) < 0 || (cmp(v, b.lo) === 0 && b.loOpen))) return false;
  if (b.hi && (cmp(v, b.hi) > 0 || (cmp(v, b.hi) === 0 && b.hiOpen))) return false;
  // v / step an integer: v.n · 10^step.s divisible by step.n · 10^v.s
  return !b.step || (v.n * ten(b.step.s)) % (b.step.n * ten(v.s)) === 0n;
}

/** The number text so far as a prefix (no exponent in it). */
export function prefixOf(txt: string): NumPrefix {
  const neg = txt.startsWith('-');
  const body = neg ? txt.slice(1) : txt;
  const dot = body.indexOf('.');
  return dot < 0 ? { neg, int: body, frac: null } : { neg, int: body.slice(0, dot), frac: body.slice(dot + 1) };
}
