/**
 * minProperties and maxProperties (src/model/constrain/json-schema.ts, json-machine.ts): texts sampled from the
 * recogniser all validate with ajv and reach every allowed size; once maxProperties leaves room only for the missing
 * required keys, no other key can start; impossible counts are refused when the schema is compiled.
 */
import { describe, expect, it } from 'vitest';
import { compileSchema } from '../../src/model/constrain/json-schema.js';
import { feed, initialStates, jsonRecognizer } from '../../src/model/constrain/json-machine.js';
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
