/**
 * Numeric bounds for constrained decoding (src/model/constrain/number-bounds.ts), against brute force: with 2 digits
 * a part, every number text is enumerated; a prefix is viable exactly when some complete text extending it lies
 * within the bounds, and a complete text is within them exactly when its value is.
 */
import { describe, expect, it } from 'vitest';
import { decOf, prefixOf, viable, within, type Bounds } from '../../src/model/constrain/number-bounds.js';
import { compileSchema } from '../../src/model/constrain/json-schema.js';
import { accepting, feed, initialStates } from '../../src/model/constrain/json-machine.js';
import { thrownMessage } from '../helpers/thrown.js';

/** Every JSON number text without an exponent, at most `digits` digits a part (integers only when `integer`). */
function numberTexts(integer: boolean, digits: number): string[] {
  const runs = (first: string): string[] => {
    let cur = [...first];
    const all = [...cur];
    for (let k = 1; k < digits; k++) {
      cur = cur.flatMap((x) => [...'0123456789'].map((d) => x + d));
      all.push(...cur);
    }
    return all;
  };
  const ints = ['0', ...runs('123456789')];
  const fracs = runs('0123456789');
  const out: string[] = [];
  for (const sign of ['', '-']) {
    for (const i of ints) {
      out.push(sign + i);
      if (!integer) for (const f of fracs) out.push(`${sign}${i}.${f}`);
    }
  }
  return out;
}

/** bounds between and on writable values, inside and outside the writable range */
const BOUND_VALUES = [-120, -12.5, -9.95, -1, -0.05, 0, 0.3, 0.95, 1, 1.25, 9, 9.9, 10, 42, 99.5, 1000];

function inBounds(v: number, b: { lo?: number; loOpen?: boolean; hi?: number; hiOpen?: boolean }): boolean {
  if (b.lo !== undefined && (v < b.lo || (v === b.lo && b.loOpen))) return false;
  if (b.hi !== undefined && (v > b.hi || (v === b.hi && b.hiOpen))) return false;
  return true;
}

describe('number bounds against brute force', () => {
  for (const [integer, digits] of [[true, 3], [false, 1], [false, 2]] as const) {
    it(`${integer ? 'integers' : 'numbers'}, ${digits} digits a part: viable and within agree with enumeration for every bound pair`, () => {
      const texts = numberTexts(integer, digits);
      const prefixes = new Set<string>();
      for (const t of texts) for (let k = 1; k <= t.length; k++) prefixes.add(t.slice(0, k));
      const values = digits === 2 ? BOUND_VALUES.filter((_, i) => i % 3 === 0) : BOUND_VALUES; // 2 digits: fewer pairs (time)
      const wrong: string[] = [];
      let checked = 0;
      for (const lo of [undefined, ...values]) {
        for (const hi of [undefined, ...values]) {
          for (const [loOpen, hiOpen] of [[false, false], [true, false], [false, true]] as const) {
            const spec = { lo, loOpen, hi, hiOpen };
            const b: Bounds = { lo: lo === undefined ? null : decOf(lo), loOpen, hi: hi === undefined ? null : decOf(hi), hiOpen };
            const goodPrefixes = new Set<string>();
            for (const t of texts) {
              const good = inBounds(Number(t), spec);
              if (within(prefixOf(t), b) !== good) wrong.push(`within ${t} ${JSON.stringify(spec)}`);
              if (good) for (let k = 1; k <= t.length; k++) goodPrefixes.add(t.slice(0, k));
            }
            for (const p of prefixes) {
              if (viable(prefixOf(p), b, integer, digits) !== goodPrefixes.has(p)) wrong.push(`viable ${p} ${JSON.stringify(spec)}`);
              checked++;
            }
          }
        }
      }
      expect(wrong.slice(0, 10)).toEqual([]);
      expect(checked).toBeGreaterThan(10_000);
    }, 120_000);
  }

  it('multipleOf, alone and with bounds: viable and within agree with enumeration (integers 3 digits, numbers 2 digits a part)', () => {
    /** the value in hundredths, from the text (exact) */
    const hundredths = (t: string): number => {
      const neg = t.startsWith('-');
      const [i, f = ''] = (neg ? t.slice(1) : t).split('.');
      const v = Number(i) * 100 + Number(f.padEnd(2, '0'));
      return neg ? -v : v;
    };
    const wrong: string[] = [];
    let checked = 0;
    for (const [integer, digits] of [[true, 3], [false, 2]] as const) {
      const texts = numberTexts(integer, digits);
      const prefixes = new Set<string>();
      for (const t of texts) for (let k = 1; k <= t.length; k++) prefixes.add(t.slice(0, k));
      for (const step of [3, 2.5, 0.5, 0.25, 7, 0.3, 40]) {
        for (const [lo, hi] of [[undefined, undefined], [-12.5, 9.9], [1, 99.5], [0.3, 0.95], [-120, -1]] as const) {
          const spec = { lo, hi };
          const b: Bounds = { lo: lo === undefined ? null : decOf(lo), loOpen: false, hi: hi === undefined ? null : decOf(hi), hiOpen: false, step: decOf(step) };
          const good = new Set<string>();
          for (const t of texts) {
            const ok = inBounds(Number(t), spec) && hundredths(t) % Math.round(step * 100) === 0;
            if (within(prefixOf(t), b) !== ok) wrong.push(`within ${t} step ${step} ${JSON.stringify(spec)}`);
            if (ok) for (let k = 1; k <= t.length; k++) good.add(t.slice(0, k));
          }
          for (const p of prefixes) {
            if (viable(prefixOf(p), b, integer, digits) !== good.has(p)) wrong.push(`viable ${p} step ${step} ${JSON.stringify(spec)}`);
            checked++;
          }
        }
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
  }, 120_000);

  it('decOf: the shortest decimal of a double, exponents included', () => {
    expect(decOf(0.1)).toEqual({ n: 1n, s: 1 });
    expect(decOf(-12.5)).toEqual({ n: -125n, s: 1 });
    expect(decOf(1e21)).toEqual({ n: 10n ** 21n, s: 0 });
    expect(decOf(1.5e-7)).toEqual({ n: 15n, s: 8 });
  });
});

describe('bounded numbers in the JSON recogniser', () => {
  const verdict = (schema: unknown, text: string): string => {
    const st = feed(initialStates(compileSchema(schema)), text);
    return st.length === 0 ? 'dead' : accepting(st) ? 'accept' : 'open';
  };
  it('minimum, maximum and the exclusive forms hold; a bounded number takes no exponent', () => {
    const age = { type: 'integer', minimum: 18, maximum: 65 };
    expect(verdict(age, '18')).toBe('accept');
    expect(verdict(age, '65')).toBe('accept');
    expect(verdict(age, '1')).toBe('open'); // 1x may follow
    expect(verdict(age, '7')).toBe('dead'); // 7, 7x: all outside
    expect(verdict(age, '-')).toBe('dead');
    expect(verdict(age, '66')).toBe('dead');
    expect(verdict(age, '100')).toBe('dead');
    const p = { type: 'number', exclusiveMinimum: 0, maximum: 1 };
    expect(verdict(p, '0')).toBe('open'); // 0 itself is out; 0.x is in
    expect(verdict(p, '0.5')).toBe('accept');
    expect(verdict(p, '1')).toBe('accept');
    expect(verdict(p, '1.0')).toBe('accept');
    expect(verdict(p, '1.01')).toBe('dead');
    expect(verdict(p, '0.5e')).toBe('dead');
    expect(verdict({ type: 'number' }, '5e3')).toBe('accept'); // unbounded numbers keep exponents
    const obj = { type: 'object', properties: { n: { type: 'integer', exclusiveMaximum: 3, minimum: -2 } }, required: ['n'], additionalProperties: false };
    expect(feed(initialStates(compileSchema(obj)), '{"n": 3}')).toEqual([]);
    expect(feed(initialStates(compileSchema(obj)), '{"n": -2}').length).toBeGreaterThan(0);
  });
  it('multipleOf in the recogniser: only multiples end the number; a step with no multiple in the bounds is refused', () => {
    const five = { type: 'integer', multipleOf: 5, minimum: 0, maximum: 100 };
    expect(verdict(five, '15')).toBe('accept');
    expect(verdict(five, '1')).toBe('open'); // 10..19: 10 and 15
    expect(verdict(five, '17')).toBe('dead');
    expect(verdict(five, '105')).toBe('dead');
    const cents = { type: 'number', multipleOf: 0.01 };
    expect(verdict(cents, '19.99')).toBe('accept');
    expect(verdict(cents, '19.995')).toBe('dead');
    expect(verdict(cents, '19.990')).toBe('accept'); // the same value
    expect(verdict(cents, '1e3')).toBe('dead'); // written without an exponent, as bounded numbers are
    expect(verdict({ type: 'number', multipleOf: 0.1 }, '0.3')).toBe('accept'); // decimal, not double division
    expect(thrownMessage(() => compileSchema({ type: 'integer', multipleOf: 0 }), 'WISE_BAD_SCHEMA')).toMatch(/#\/multipleOf: must be greater than 0/);
    expect(thrownMessage(() => compileSchema({ type: 'integer', multipleOf: 7, minimum: 1, maximum: 6 }), 'WISE_BAD_SCHEMA')).toMatch(/no integer lies within the bounds/);
  });

  it('bounds no writable number meets are refused, naming the path', () => {
    const err = (s: unknown): string => thrownMessage(() => compileSchema(s), 'WISE_BAD_SCHEMA');
    expect(err({ type: 'integer', minimum: 1.2, maximum: 1.8 })).toMatch(/at #: no integer lies within the bounds/);
    expect(err({ type: 'object', properties: { x: { type: 'number', minimum: 2, exclusiveMaximum: 2 } } })).toMatch(/#\/properties\/x: no number/);
    expect(err({ type: 'number', minimum: true })).toMatch(/#\/minimum: must be a finite number/);
  });
});
