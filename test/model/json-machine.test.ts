/**
 * Structured output's recogniser (src/model/constrain/json-machine.ts) and schema subset
 * (json-schema.ts): texts a schema accepts, prefixes that may go on, texts that are dead, the
 * whitespace and digit limits, and the refusals of what the subset does not cover, with their paths.
 */
import { describe, expect, it } from 'vitest';
import { thrownMessage } from '../helpers/thrown.js';
import { choiceNode, compileSchema } from '../../src/model/constrain/json-schema.js';
import { accepting, feed, finished, initialStates, MAX_DIGITS, MAX_INDENT, step, type MachineState } from '../../src/model/constrain/json-machine.js';

/** 'done' (complete, nothing may follow), 'accept' (complete, may go on), 'open' (a prefix), 'dead' */
function verdict(schema: unknown, text: string, raw = false): 'done' | 'accept' | 'open' | 'dead' {
  const st = feed(initialStates(raw ? choiceNode(schema as string[]) : compileSchema(schema), raw), text);
  if (st.length === 0) return 'dead';
  if (finished(st)) return 'done';
  return accepting(st) ? 'accept' : 'open';
}

const person = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { enum: ['a', 'bc'] }, minItems: 1, maxItems: 2 } },
  required: ['name', 'age'],
  additionalProperties: false,
};

describe('json-machine', () => {
  it.each([
    ['{"name": "Bo", "age": 3}', 'done'],
    ['{"age":3,"name":"x"}', 'done'], // any order
    ['{\n  "name": "x",\n  "age": -12\n}', 'done'],
    ['{"name":"a\\u00e9\\n\\"","age":0,"tags":["bc"]}', 'done'],
    ['{"name":"x"}', 'dead'], // age is required
    ['{"name":"x","age":3.5}', 'dead'], // integer
    ['{"name":"x","age":3e2}', 'dead'],
    ['{"nam', 'open'],
    ['{"nom', 'dead'], // not a declared key
    ['{"name":"x","name":"y"}', 'dead'], // twice
    ['{"name":"x","age":1,"tags":[]}', 'dead'], // minItems 1
    ['{"name":"x","age":1,"tags":["a","bc","a"]}', 'dead'], // maxItems 2
    ['{"name":"x","age":1,"tags":["b"]}', 'dead'], // enum
    ['{"name":"x","age":1,}', 'dead'],
    ['{"name":"x","age":01}', 'dead'],
    ['{"name":"tab\there"}', 'dead'], // a raw control character in a string
    ['{"name":"x","age":1', 'open'],
    [' {"name":"x","age":1}', 'dead'], // nothing before the top-level value
    ['{"name":"x","age":1} ', 'dead'], // nor after it
    ['{"name":"x",  "age":1}', 'dead'], // one space, or a newline and indentation
    ['{"name":"x",\n\t\t"age":1}', 'done'],
  ])('person schema: %j is %s', (text, want) => {
    expect(verdict(person, text)).toBe(want);
  });

  it('any value ({}): numbers, literals, nesting; a top-level number may go on', () => {
    expect(verdict({}, '12')).toBe('accept');
    expect(verdict({}, '-1.5e+3')).toBe('accept');
    expect(verdict({}, '-')).toBe('open');
    expect(verdict({}, '1.')).toBe('open');
    expect(verdict({}, '1e')).toBe('open');
    expect(verdict({}, '{"a":[1,{"b":null}], "c": true}')).toBe('done');
    expect(verdict({}, '[1,]')).toBe('dead');
    expect(verdict({}, 'tru')).toBe('open');
    expect(verdict({}, 'nul1')).toBe('dead');
    expect(verdict({}, '"\\x"')).toBe('dead'); // not an escape
    expect(verdict({}, '"\\u12G4"')).toBe('dead');
    expect(verdict(true, '[]')).toBe('done');
  });

  it('limits whitespace runs and digits', () => {
    const indent = (n: number): string => `{"a":\n${' '.repeat(n)}1}`;
    expect(verdict({ type: 'object' }, indent(MAX_INDENT))).toBe('done');
    expect(verdict({ type: 'object' }, indent(MAX_INDENT + 1))).toBe('dead');
    expect(verdict({ type: 'number' }, '9'.repeat(MAX_DIGITS))).toBe('accept');
    expect(verdict({ type: 'number' }, '9'.repeat(MAX_DIGITS + 1))).toBe('dead');
    expect(verdict({ type: 'number' }, `1.${'5'.repeat(MAX_DIGITS)}e${'1'.repeat(MAX_DIGITS)}`)).toBe('accept');
  });

  it('string lengths: minLength and maxLength in characters, an escape counting as one', () => {
    const s = { type: 'string', minLength: 2, maxLength: 3 };
    expect(verdict(s, '"a"')).toBe('dead');
    expect(verdict(s, '"ab"')).toBe('done');
    expect(verdict(s, '"a\\u00e9\\n"')).toBe('done');
    expect(verdict(s, '"abcd')).toBe('dead');
    expect(verdict({ maxLength: 0 }, '""')).toBe('done'); // implies a string
  });

  it('unions: anyOf, type lists, const, additionalProperties schemas, free objects', () => {
    const s = { anyOf: [{ type: 'string' }, { type: 'null' }] };
    expect(verdict(s, 'null')).toBe('done');
    expect(verdict(s, '"x"')).toBe('done');
    expect(verdict(s, '1')).toBe('dead');
    expect(verdict({ type: ['integer', 'boolean'] }, 'false')).toBe('done');
    expect(verdict({ type: ['integer', 'boolean'] }, '"x"')).toBe('dead');
    expect(verdict({ const: { a: [1, 2] } }, '{"a":[1,2]}')).toBe('done');
    expect(verdict({ const: { a: [1, 2] } }, '{"a": [1,2]}')).toBe('dead'); // enum and const texts match exactly
    expect(verdict({ enum: [1, 12] }, '1')).toBe('accept');
    expect(verdict({ enum: [1, 12] }, '12')).toBe('done');
    const counts = { type: 'object', additionalProperties: { type: 'integer' } };
    expect(verdict(counts, '{"x":1,"y\\n":2}')).toBe('done');
    expect(verdict(counts, '{"x":"1"}')).toBe('dead');
    expect(verdict({ type: 'object' }, '{"k":{"deep":[true,"s",-0.5]}}')).toBe('done');
    // all declared keys used: no comma may follow
    expect(verdict({ type: 'object', properties: { a: { type: 'null' } } }, '{"a":null,')).toBe('dead');
  });

  it('$ref and $defs as pydantic writes them: nested models, an enum, an optional field, recursion', () => {
    // pydantic v2's model_json_schema() of Order(customer: Person, status: Status, note: str | None, items: list[Item])
    const order = {
      $defs: {
        Person: { properties: { name: { title: 'Name', type: 'string' } }, required: ['name'], title: 'Person', type: 'object', additionalProperties: false },
        Status: { enum: ['open', 'closed'], title: 'Status', type: 'string' },
        Item: { properties: { sku: { type: 'string' }, sub: { anyOf: [{ $ref: '#/$defs/Item' }, { type: 'null' }], default: null } }, required: ['sku', 'sub'], type: 'object', additionalProperties: false },
      },
      properties: {
        customer: { $ref: '#/$defs/Person', description: 'who ordered' },
        status: { $ref: '#/$defs/Status' },
        note: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null, title: 'Note' },
        items: { items: { $ref: '#/$defs/Item' }, title: 'Items', type: 'array' },
      },
      required: ['customer', 'status', 'note', 'items'],
      title: 'Order',
      type: 'object',
      additionalProperties: false,
    };
    const ok = '{"customer": {"name": "Ada"}, "status": "open", "note": null, "items": [{"sku": "a", "sub": {"sku": "b", "sub": {"sku": "c", "sub": null}}}]}';
    expect(verdict(order, ok)).toBe('done');
    expect(verdict(order, ok.replace('"open"', '"pending"'))).toBe('dead'); // the enum behind the ref
    expect(verdict(order, ok.replace('{"name": "Ada"}', '{"nom": "Ada"}'))).toBe('dead');
    expect(verdict(order, ok.replace('"sub": null}}}', '"sub": 3}}}'))).toBe('dead'); // recursion keeps its schema at depth 3
    expect(verdict(order, '{"customer": {"name": "Ada"}, "status": "closed", "note": "x", "items": [{"sku": "a", "sub": {"sku"')).toBe('open');
    // # is the whole schema; allOf of one schema is that schema (pydantic v1)
    expect(verdict({ type: 'array', items: { anyOf: [{ $ref: '#' }, { type: 'integer' }] } }, '[1, [2, [[]]], 3]')).toBe('done');
    expect(verdict({ definitions: { n: { type: 'integer' } }, allOf: [{ $ref: '#/definitions/n' }], description: 'd' }, '12')).toBe('accept');
    expect(verdict({ $defs: { 'a/b': { const: 1 } }, $ref: '#/$defs/a~1b' }, '1')).toBe('done'); // JSON pointer escapes
  });

  it('pattern: the decoded string matches it, searched as JSON Schema reads it (anchors where given)', () => {
    const code = { type: 'string', pattern: '^[A-Z]{2}\\d{3}$' };
    expect(verdict(code, '"AB123"')).toBe('done');
    expect(verdict(code, '"AB12"')).toBe('dead'); // the closing quote waits for the match
    expect(verdict(code, '"AB12')).toBe('open');
    expect(verdict(code, '"ab')).toBe('dead');
    expect(verdict(code, '"AB1234')).toBe('dead');
    const cat = { type: 'string', pattern: 'cat' }; // unanchored: anywhere in the text
    expect(verdict(cat, '"concatenate"')).toBe('done');
    expect(verdict(cat, '"dog"')).toBe('dead');
    expect(verdict(cat, '"dog and c')).toBe('open');
    // escapes are read decoded: \n is a newline, \u00e9 is é, \" is a quote
    expect(verdict({ pattern: '^a\\nb$' }, '"a\\nb"')).toBe('done');
    expect(verdict({ pattern: '^é+$' }, '"\\u00e9é\\u00E9"')).toBe('done');
    expect(verdict({ pattern: '^"x"$' }, '"\\"x\\""')).toBe('done');
    expect(verdict({ pattern: '^a\\$$' }, '"a$"')).toBe('done'); // an escaped $ is a character
    expect(verdict({ pattern: '^a\\$$' }, '"a"')).toBe('dead');
    // with maxLength: both hold, and a character that leaves no room to finish the match is refused (no dead end)
    expect(verdict({ type: 'string', pattern: '^\\d+$', maxLength: 3 }, '"1234')).toBe('dead');
    expect(verdict({ type: 'string', pattern: '^a+b$', maxLength: 3 }, '"aa')).toBe('open');
    expect(verdict({ type: 'string', pattern: '^a+b$', maxLength: 3 }, '"aaa')).toBe('dead'); // "aab" is the longest
    expect(verdict({ type: 'string', pattern: '^\\d{5}$', maxLength: 3 }, '"')).toBe('dead'); // no string matches
    // an escape starts only if it can decode to a character the pattern takes
    expect(verdict({ pattern: '^[A-Z]{2}$' }, '"AB\\')).toBe('dead'); // complete: nothing more
    expect(verdict({ pattern: '^[A-Z]{2}$' }, '"A\\u004')).toBe('open'); // \u0041..\u004F: letters
    expect(verdict({ pattern: '^[A-Z]{2}$' }, '"A\\u003')).toBe('dead'); // \u0030..\u003F: no letter
    expect(verdict({ pattern: '^[A-Z]{2}$' }, '"A\\u0042"')).toBe('done');
    // ... and only if, decoded, it still leaves a match within maxLength: 日 (U+65E5) needs an "a" after it
    const kanji = { type: 'string', pattern: '^(日a|c)$', maxLength: 1 };
    expect(verdict(kanji, '"\\u006')).toBe('open'); // \u0063: c
    expect(verdict(kanji, '"\\u65e')).toBe('dead'); // U+65E0..U+65EF: 日 fits the pattern, not maxLength
    expect(verdict(kanji, '"\\n')).toBe('dead');
    expect(verdict({ ...kanji, maxLength: 2 }, '"\\u65e5a"')).toBe('done');
    expect(verdict({ type: 'string', pattern: '^(\\na|c)$', maxLength: 1 }, '"\\')).toBe('open'); // \u0063 still
    expect(verdict({ type: 'string', pattern: '^(\\na|c)$', maxLength: 1 }, '"\\n')).toBe('dead'); // \n needs an "a" after it
    expect(verdict({ type: 'object', properties: { zip: { type: 'string', pattern: '^\\d{5}$' } }, required: ['zip'], additionalProperties: false }, '{"zip": "12345"}')).toBe('done');
    const err = (s: unknown): string => thrownMessage(() => compileSchema(s), 'WISE_BAD_SCHEMA');
    expect(err({ type: 'object', properties: { a: { type: 'string', pattern: '(?=x)' } } })).toMatch(/at #\/properties\/a\/pattern: "\(\?=x\)"/);
    expect(err({ type: 'string', pattern: 5 })).toMatch(/#\/pattern: must be a string/);
  });

  it('a patterned string under maxLength never walks into a dead end, escapes included (search of every reachable state)', () => {
    // Every reachable state that is not complete has a next character in the alphabet; since a string's length is
    // bounded, following next characters must then end complete: no prefix the machine takes is a dead end.
    // The alphabet has every hex digit, so \uXXXX spells every character of the basic plane.
    const key = (st: MachineState[]): string => JSON.stringify(st, (k, v: unknown) => (k === 're' || k === 'node' ? undefined : v instanceof Int32Array ? [...v] : v));
    const cases: [string, number, string][] = [
      ['^(日a|c)$', 1, 'ac日'],
      ['^(日a|c)$', 2, 'ac日'],
      ['^(\\na|c)$', 1, 'ac'],
      ['^(\\na|c)$', 2, 'ac'],
      ['^[A-C]{1,2}\\t?[x日]$', 2, 'ABCx日'],
      ['^[A-C]{1,2}\\t?[x日]$', 3, 'ABCx日'],
      ['^(ab|\\"c)*$', 3, 'abc'],
    ];
    for (const [pattern, maxLength, chars] of cases) {
      const alphabet = [...new Set([...chars, ...'"\\untb/0123456789abcdefABCDEF'])];
      const seen = new Set<string>();
      const stuck: string[] = [];
      const visit = (st: MachineState[], text: string): void => {
        const k = key(st);
        if (seen.has(k)) return;
        seen.add(k);
        let moves = 0;
        for (const ch of alphabet) {
          const next = step(st, ch);
          if (next.length === 0) continue;
          moves++;
          visit(next, text + ch);
        }
        if (moves === 0 && !accepting(st)) stuck.push(text);
      };
      visit(initialStates(compileSchema({ type: 'string', pattern, maxLength }), false), '');
      expect({ pattern, maxLength, stuck: stuck.slice(0, 3) }).toEqual({ pattern, maxLength, stuck: [] });
      expect(seen.size).toBeGreaterThan(8);
    }
  });

  it('prefixItems: a tuple, each position its own schema; items after it, or none with items: false', () => {
    const pair = { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }], minItems: 2, maxItems: 2 }; // pydantic's tuple[int, str]
    expect(verdict(pair, '[1, "a"]')).toBe('done');
    expect(verdict(pair, '["a", 1]')).toBe('dead');
    expect(verdict(pair, '[1]')).toBe('dead'); // minItems 2
    expect(verdict(pair, '[1, "a", 2')).toBe('dead');
    const rest = { prefixItems: [{ const: 'x' }], items: { type: 'boolean' } };
    expect(verdict(rest, '["x", true, false]')).toBe('done');
    expect(verdict(rest, '["x", "x"]')).toBe('dead');
    expect(verdict(rest, '[]')).toBe('done');
    const closed = { prefixItems: [{ type: 'null' }, { type: 'null' }], items: false };
    expect(verdict(closed, '[null]')).toBe('done');
    expect(verdict(closed, '[null, null, null')).toBe('dead');
    expect(thrownMessage(() => compileSchema({ prefixItems: [{}], items: false, minItems: 2 }), 'WISE_BAD_SCHEMA')).toMatch(/minItems 2 > the 1 items that items: false allows/);
  });

  it('guided_choice: exactly one of the strings, nothing around', () => {
    expect(verdict(['yes', 'no', 'nope'], 'yes', true)).toBe('done');
    expect(verdict(['yes', 'no', 'nope'], 'no', true)).toBe('accept'); // or "nope"
    expect(verdict(['yes', 'no', 'nope'], '"yes"', true)).toBe('dead');
    expect(verdict(['yes', 'no', 'nope'], ' yes', true)).toBe('dead');
  });

  it('refuses what the subset does not cover, naming the keyword and its path', () => {
    const err = (s: unknown): string => thrownMessage(() => compileSchema(s), 'WISE_BAD_SCHEMA');
    expect(err({ type: 'array', format: 'date', contains: { type: 'string' } })).toMatch(/at #: keyword "contains" is not supported/);
    expect(err({ type: 'object', properties: { a: { type: 'integer', patternProperties: {} } } })).toMatch(/at #\/properties\/a: keyword "patternProperties"/);
    expect(err({ type: 'array', items: { $ref: '#/x' } })).toMatch(/at #\/items\/\$ref: #\/x points at nothing in the schema/);
    expect(err({ $ref: 'https://example.com/s.json' })).toMatch(/only references into this schema/);
    expect(err({ $defs: { a: { type: 'string' } }, $ref: '#/$defs/a', type: 'string' })).toMatch(/\$ref beside type/);
    expect(err({ allOf: [{ type: 'string' }, { maxLength: 3 }] })).toMatch(/#\/allOf: only a single schema/);
    expect(err({ $defs: { a: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/a' }] } }, $ref: '#/$defs/a' })).toMatch(/\$ref cycle #\/\$defs\/a → #\/\$defs\/a with no object or array between/);
    expect(err({ type: 'date' })).toMatch(/#\/type: unknown type "date"/);
    expect(err({ type: 'object', properties: {}, required: ['a'], additionalProperties: false })).toMatch(/"a" is required but not among the properties/);
    expect(err({ enum: [] })).toMatch(/#\/enum: must be a non-empty array/);
    expect(err({ type: 'array', minItems: 3, maxItems: 2 })).toMatch(/minItems 3 > maxItems 2/);
    expect(err({ anyOf: [{ type: 'string' }], type: 'null' })).toMatch(/anyOf beside type/);
    expect(err('string')).toMatch(/expected an object/);
    // annotations are accepted and do not constrain (a format formats.ts does not know is one)
    expect(verdict({ type: 'string', title: 'T', description: 'd', format: 'iri-reference', default: 'x' }, '"anything"')).toBe('done');
    expect(verdict({ type: 'string', format: 'date' }, '"anything"')).not.toBe('done');
  });
});
