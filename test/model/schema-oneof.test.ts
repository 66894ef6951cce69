/**
 * oneOf (src/model/constrain/json-schema.ts, schema-overlap.ts): decoded as anyOf once its alternatives are proved
 * apart, so every value written fits exactly one. Judged by ajv (which enforces "exactly one") on texts sampled from
 * the recogniser: pydantic's discriminated union, and every pair of a pool of alternatives that the proof accepts;
 * pairs it cannot prove apart are refused naming the two.
 */
import { ajvWithFormats } from '../helpers/ajv.js';
import { describe, expect, it } from 'vitest';
import { compileSchema } from '../../src/model/constrain/json-schema.js';
import { jsonRecognizer } from '../../src/model/constrain/json-recognizer.js';
import { isWiseError } from '../../src/util/errors.js';
import { sampleTexts } from '../helpers/sample-text.js';

const ajv = ajvWithFormats();
const ALPHABET = '{}[]":,0123456789-. abcdefghijklmnopqrstuvwxyz_';
const sample = (schema: unknown, seed: number, n = 40): unknown[] =>
  sampleTexts(jsonRecognizer(compileSchema(schema)), { alphabet: ALPHABET, closers: '"}]', n, seed, soft: 12 }).map((t) => JSON.parse(t) as unknown);

/** pydantic v2's JSON schema of `pet: Annotated[Cat | Dog, Field(discriminator='pet_type')]` */
const PYDANTIC = {
  $defs: {
    Cat: { properties: { pet_type: { const: 'cat', title: 'Pet Type', type: 'string' }, lives: { title: 'Lives', type: 'integer' } }, required: ['pet_type', 'lives'], title: 'Cat', type: 'object' },
    Dog: { properties: { pet_type: { const: 'dog', title: 'Pet Type', type: 'string' }, good: { title: 'Good', type: 'boolean' } }, required: ['pet_type', 'good'], title: 'Dog', type: 'object' },
  },
  properties: { pet: { discriminator: { mapping: { cat: '#/$defs/Cat', dog: '#/$defs/Dog' }, propertyName: 'pet_type' }, oneOf: [{ $ref: '#/$defs/Cat' }, { $ref: '#/$defs/Dog' }], title: 'Pet' } },
  required: ['pet'],
  title: 'Owner',
  type: 'object',
};

const POOL: unknown[] = [
  { type: 'string', maxLength: 4 },
  { type: 'integer' },
  { type: 'number' },
  { enum: ['a', 'b'] },
  { const: 'b' },
  { type: 'null' },
  { type: 'boolean' },
  { properties: { t: { const: 'x' }, v: { type: 'integer' } }, required: ['t', 'v'] },
  { properties: { t: { const: 'y' } }, required: ['t'] },
  { type: 'object', properties: { t: { const: 'x' }, v: { type: 'integer' } }, required: ['t', 'v'] },
  { type: 'object', properties: { t: { const: 'y' } }, required: ['t'] },
  { properties: { t: { const: 'x' }, w: { type: 'string', maxLength: 3 } }, required: ['t'] },
  { properties: { a: { type: 'integer' } }, required: ['a'] },
  { properties: { b: { type: 'integer' } }, required: ['b'] },
  { type: 'array', items: { type: 'integer' }, maxItems: 2 },
  { enum: [1, 'a', null] },
  { const: { k: 1 } },
  { properties: { k: { type: 'integer' } }, required: ['k'] },
  { type: 'object', additionalProperties: { type: 'integer' } },
];

describe('oneOf', () => {
  it("pydantic's discriminated union compiles, and every sampled value is exactly one of the models (ajv)", () => {
    const values = sample(PYDANTIC, 1);
    expect(values.length).toBeGreaterThan(20);
    const validate = ajv.compile(PYDANTIC);
    for (const v of values) expect(validate(v), JSON.stringify(v)).toBe(true);
    const kinds = new Set(values.map((v) => (v as { pet: { pet_type: string } }).pet.pet_type));
    expect([...kinds].sort()).toEqual(['cat', 'dog']); // both alternatives are reachable
  });

  it('every pair of the pool: accepted pairs write only values that match exactly one (ajv); the others are refused naming both', () => {
    let accepted = 0;
    let refused = 0;
    POOL.forEach((a, i) =>
      POOL.forEach((b, j) => {
        if (j <= i) return;
        const schema = { oneOf: [a, b].map((x) => JSON.parse(JSON.stringify(x)) as unknown) };
        let ok = true;
        try {
          compileSchema(schema);
        } catch (e) {
          ok = false;
          expect(isWiseError(e) && e.code === 'WISE_BAD_SCHEMA', String(e)).toBe(true);
          expect((e as Error).message).toContain('alternatives 0 and 1 may both match');
          expect((e as Error).message).toContain('#/oneOf');
          refused++;
        }
        if (!ok) return;
        accepted++;
        const validate = ajv.compile(schema);
        for (const v of sample(schema, i * 100 + j, 25)) expect(validate(v), `${JSON.stringify(schema)}: ${JSON.stringify(v)}`).toBe(true);
      }),
    );
    expect(accepted).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(5);
  });

  it('refused where values can fit both: the same type twice, integer inside number, overlapping enums, objects with no tag', () => {
    const cases: unknown[][] = [
      [{ type: 'string' }, { type: 'string', maxLength: 3 }],
      [{ type: 'integer' }, { type: 'number' }],
      [{ enum: ['a', 'b'] }, { enum: ['b', 'c'] }],
      [{ properties: { a: { type: 'integer' } } }, { properties: { b: { type: 'integer' } } }],
      [{ const: { k: 1, j: 2 } }, { const: { j: 2, k: 1 } }], // the same value, keys in another order
      [true, { type: 'null' }],
    ];
    for (const alts of cases) expect(() => compileSchema({ oneOf: alts }), JSON.stringify(alts)).toThrow(/may both match/);
    // and accepted where a type, a value or a required tag parts them
    for (const alts of [[{ type: 'string' }, { type: 'integer' }, { type: 'null' }], [{ enum: ['a'] }, { enum: ['b', 1] }], [{ const: { k: 1 } }, { const: { k: 2 } }]]) expect(() => compileSchema({ oneOf: alts })).not.toThrow();
  });
});
