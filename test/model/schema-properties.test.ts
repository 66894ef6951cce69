/**
 * minProperties and maxProperties (src/model/constrain/json-schema.ts, json-machine.ts): texts sampled from the
 * recogniser all validate with ajv and reach every allowed size; once maxProperties leaves room only for the missing
 * required keys, no other key can start; impossible counts are refused when the schema is compiled.
 */
import { describe, expect, it } from 'vitest';
import { compileSchema } from '../../src/model/constrain/json-schema.js';
import { feed, initialStates } from '../../src/model/constrain/json-machine.js';
import { jsonRecognizer } from '../../src/model/constrain/json-recognizer.js';
import { ajvWithFormats } from '../helpers/ajv.js';
import { sampleTexts } from '../helpers/sample-text.js';

const ALPHABET = '{}":,0123456789 abcxyz';
const sizes = (schema: Record<string, unknown>, seed: number): number[] => {
  const validate = ajvWithFormats().compile(schema);
  const texts = sampleTexts(jsonRecognizer(compileSchema(schema)), { alphabet: ALPHABET, closers: '"}', n: 80, seed, soft: 14 });
  expect(texts.length).toBeGreaterThan(40);
  return texts.map((t) => {
    const v = JSON.parse(t) as Record<string, unknown>;
    expect(validate(v), `${t} ${JSON.stringify(validate.errors)}`).toBe(true);
    return Object.keys(v).length;
  });
};

describe('minProperties and maxProperties', () => {
  it('free keys: every sampled object has 2 or 3 keys, the required one among them; both sizes occur', () => {
    const n = sizes({ type: 'object', additionalProperties: { type: 'integer' }, required: ['a'], minProperties: 2, maxProperties: 3 }, 1);
    expect([...new Set(n)].sort()).toEqual([2, 3]);
  });

  it('declared keys: at most 2 of a, b, c with a required; every allowed size occurs', () => {
    const n = sizes({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' }, c: { type: 'integer' } }, required: ['a'], maxProperties: 2 }, 2);
    expect([...new Set(n)].sort()).toEqual([1, 2]);
  });

  it('room only for the missing required keys: no other key starts, and } waits for minProperties', () => {
    const states = initialStates(compileSchema({ type: 'object', additionalProperties: true, required: ['zz'], maxProperties: 1 }));
    expect(feed(states, '{"a')).toEqual([]);
    expect(feed(states, '{"z').length).toBeGreaterThan(0);
    const two = initialStates(compileSchema({ type: 'object', additionalProperties: true, minProperties: 2 }));
    expect(feed(two, '{"a":1}')).toEqual([]);
    expect(feed(two, '{"a":1,"b":2}').some((s) => s.stack.length === 0)).toBe(true);
  });

  it('impossible counts are WISE_BAD_SCHEMA naming them', () => {
    const err = (schema: unknown): string => {
      try {
        compileSchema(schema);
      } catch (e) {
        return (e as Error).message;
      }
      return 'compiled';
    };
    expect(err({ type: 'object', minProperties: 3, maxProperties: 2 })).toMatch(/minProperties 3 > maxProperties 2/);
    expect(err({ type: 'object', properties: { a: {}, b: {} }, required: ['a', 'b'], maxProperties: 1 })).toMatch(/2 required properties > maxProperties 1/);
    expect(err({ type: 'object', properties: { a: {} }, additionalProperties: false, minProperties: 2 })).toMatch(/minProperties 2 > the 1 properties/);
    expect(err({ type: 'object', maxProperties: -1 })).toMatch(/maxProperties: must be a non-negative integer/);
  });
});

describe('uniqueItems (scalar items)', () => {
  const texts = (schema: Record<string, unknown>, seed: number): unknown[][] => {
    const validate = ajvWithFormats().compile(schema);
    const out = sampleTexts(jsonRecognizer(compileSchema(schema)), { alphabet: '[]",0123456789abc.-e', closers: '"]', n: 80, seed, soft: 16 });
    expect(out.length).toBeGreaterThan(40);
    return out.map((t) => {
      const v = JSON.parse(t) as unknown[];
      expect(validate(v), `${t} ${JSON.stringify(validate.errors)}`).toBe(true); // ajv checks the items are distinct
      return v;
    });
  };

  it("strings (pydantic's set[str]) and numbers: every sampled array has distinct items, by JSON value", () => {
    const strs = texts({ type: 'array', items: { type: 'string', maxLength: 2 }, uniqueItems: true, minItems: 2, maxItems: 4 }, 1);
    expect(strs.some((a) => a.length >= 3)).toBe(true);
    texts({ type: 'array', items: { type: 'number' }, uniqueItems: true, minItems: 2 }, 2);
    const s = initialStates(compileSchema({ type: 'array', items: { anyOf: [{ type: 'number' }, { type: 'string' }] }, uniqueItems: true }));
    expect(feed(s, '[1,1]')).toEqual([]);
    expect(feed(s, '[1.0,1]')).toEqual([]); // the number 1, twice (refused where the second ends)
    expect(feed(s, '[1.0,1').length).toBeGreaterThan(0); // it could still become 10
    expect(feed(s, '[1,10]').some((x) => x.stack.length === 0)).toBe(true);
    expect(feed(s, '["a","\\u0061"')).toEqual([]); // the same string, escaped
    expect(feed(s, '["a","ab"]').some((x) => x.stack.length === 0)).toBe(true);
    expect(feed(s, '["1",1]').some((x) => x.stack.length === 0)).toBe(true); // a string and a number differ
  });

  it('enum items: used values are not offered again, so the array never dead-ends; too many required is refused', () => {
    const perms = texts({ type: 'array', items: { enum: ['a', 'b', 'c'] }, uniqueItems: true, minItems: 3 }, 3);
    for (const p of perms) expect([...p].sort()).toEqual(['a', 'b', 'c']);
    const s = initialStates(compileSchema({ type: 'array', items: { type: 'boolean' }, uniqueItems: true }));
    expect(feed(s, '[true,t')).toEqual([]);
    expect(feed(s, '[true,f').length).toBeGreaterThan(0);
    expect(() => compileSchema({ type: 'array', items: { enum: ['a', 'b'] }, uniqueItems: true, minItems: 3 })).toThrow(/minItems 3 > the 2 distinct values/);
    expect(() => compileSchema({ type: 'array', items: { type: 'object' }, uniqueItems: true })).toThrow(/#\/uniqueItems: uniqueItems over items that may be objects or arrays/);
    expect(() => compileSchema({ type: 'array', uniqueItems: true })).toThrow(/scalar items only/); // items: any value
    expect(() => compileSchema({ type: 'array', items: { type: 'object' }, uniqueItems: false })).not.toThrow();
  });
});
