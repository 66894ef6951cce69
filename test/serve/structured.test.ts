/**
 * Structured output through the OpenAI routes on the bundled model (src/serve/structured.ts):
 * OpenAI's response_format (json_schema, json_object), vLLM's guided_json and guided_choice, and
 * llama.cpp's json_schema give text that parses and conforms, streamed or not, and the same text as
 * the decoder under the same constraint. Function calling's constrained modes (tool_choice named and
 * "required", src/serve/tools.ts) run on the same constraint: their arguments parse and conform.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { bundledModelDir } from '../../src/config/paths.js';
import { openWiseApp, type WiseApp } from '../helpers/wise-app.js';
import { compileSchema } from '../../src/model/constrain/json-schema.js';
import { feed, initialStates } from '../../src/model/constrain/json-machine.js';
import { structuredOutput } from '../../src/serve/structured.js';
import { ajvWithFormats } from '../helpers/ajv.js';

const SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string', maxLength: 16 }, confident: { type: 'boolean' }, year: { type: ['integer', 'null'] } },
  required: ['answer', 'confident', 'year'],
  additionalProperties: false,
};

describe('structuredOutput (pure)', () => {
  it('a repeated request reuses its compiled recogniser (and so its plain-token cache); another schema or field gets its own', () => {
    const a = structuredOutput({ guided_json: SCHEMA });
    expect(structuredOutput({ guided_json: JSON.parse(JSON.stringify(SCHEMA)) as unknown })).toBe(a);
    expect(structuredOutput({ json_schema: SCHEMA })).not.toBe(a);
    expect(structuredOutput({ guided_json: { ...SCHEMA, required: ['answer'] } })).not.toBe(a);
    expect(structuredOutput({ guided_regex: 'a+' })!.recognizer).toBe(structuredOutput({ guided_regex: 'a+' })!.recognizer);
    expect(() => structuredOutput({ guided_regex: '(' })).toThrow(/guided_regex/); // errors are not kept
    expect(() => structuredOutput({ guided_regex: '(' })).toThrow(/guided_regex/);
  });
});

describe('structured output on /v1 (bundled model)', () => {
  let w: WiseApp;
  let app: FastifyInstance;
  let model: string;
  beforeAll(async () => {
    w = await openWiseApp(bundledModelDir());
    app = w.app;
    model = w.service.baseName;
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });

  const post = (url: string, body: Record<string, unknown>): Promise<Record<string, any>> => w.post(url, body);
  const chat = (extra: Record<string, unknown>) =>
    post('/v1/chat/completions', { messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 120, ...extra });
  const conforms = (text: string): void => {
    const v = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(v).sort()).toEqual(['answer', 'confident', 'year']);
    expect(typeof v.answer).toBe('string');
    expect((v.answer as string).length).toBeLessThanOrEqual(16);
    expect(typeof v.confident).toBe('boolean');
    expect(v.year === null || Number.isInteger(v.year)).toBe(true);
  };

  it('response_format json_schema: every choice parses and conforms, greedy and sampled', async () => {
    const rf = { type: 'json_schema', json_schema: { name: 'answer', schema: SCHEMA, strict: true } };
    const greedy = await chat({ response_format: rf, temperature: 0 });
    conforms(greedy.choices[0].message.content);
    expect(greedy.choices[0].finish_reason).toBe('stop');
    const sampled = await chat({ response_format: rf, temperature: 1.2, n: 3, seed: 7 });
    for (const c of sampled.choices) conforms(c.message.content);
    // the same request without it is not JSON
    const plain = await chat({ temperature: 0 });
    expect(() => JSON.parse(plain.choices[0].message.content)).toThrow();
  });

  it('a schema with $defs and a recursive $ref (as pydantic writes nested models): the output conforms', async () => {
    const schema = {
      $defs: { Place: { type: 'object', properties: { name: { type: 'string', maxLength: 10 }, within: { anyOf: [{ $ref: '#/$defs/Place' }, { type: 'null' }] } }, required: ['name', 'within'], additionalProperties: false } },
      type: 'object',
      properties: { capital: { $ref: '#/$defs/Place' } },
      required: ['capital'],
      additionalProperties: false,
    };
    for (const seed of [1, 2]) {
      const r = await chat({ response_format: { type: 'json_schema', json_schema: { name: 'place', schema } }, temperature: 1, seed, max_tokens: 200 });
      expect(r.choices[0].finish_reason).toBe('stop');
      const check = (p: Record<string, unknown>, depth: number): void => {
        expect(Object.keys(p).sort()).toEqual(['name', 'within']);
        expect((p.name as string).length).toBeLessThanOrEqual(10);
        if (p.within !== null) check(p.within as Record<string, unknown>, depth + 1);
      };
      check((JSON.parse(r.choices[0].message.content) as { capital: Record<string, unknown> }).capital, 0);
    }
  });

  it('pattern and numeric bounds: each string matches its pattern, each number lies within its bounds, greedy and sampled', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string', pattern: '^[A-Z][a-z]+$', maxLength: 12 }, code: { type: 'string', pattern: '^[A-Z]{3}-\\d{2}$' }, people: { type: 'integer', minimum: 1000, exclusiveMaximum: 20000 }, share: { type: 'number', minimum: 0, maximum: 1 } },
      required: ['city', 'code', 'people', 'share'],
      additionalProperties: false,
    };
    for (const extra of [{ temperature: 0 }, { temperature: 1.3, seed: 8, n: 3 }]) {
      const r = await chat({ response_format: { type: 'json_schema', json_schema: { name: 'c', schema } }, max_tokens: 120, ...extra });
      for (const c of r.choices) {
        expect(c.finish_reason).toBe('stop');
        const v = JSON.parse(c.message.content) as { city: string; code: string; people: number; share: number };
        expect(v.city).toMatch(/^[A-Z][a-z]+$/);
        expect(v.city.length).toBeLessThanOrEqual(12);
        expect(v.code).toMatch(/^[A-Z]{3}-\d{2}$/);
        expect(Number.isInteger(v.people) && v.people >= 1000 && v.people < 20000).toBe(true);
        expect(v.share >= 0 && v.share <= 1).toBe(true);
      }
    }
  });

  it('streamed: the same text as the response', async () => {
    const rf = { type: 'json_schema', json_schema: { name: 'answer', schema: SCHEMA } };
    const whole = await chat({ response_format: rf, temperature: 1, seed: 11 });
    const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model, messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 120, response_format: rf, temperature: 1, seed: 11, stream: true } });
    expect(r.statusCode).toBe(200);
    const chunks = r.body.split('\n\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as Record<string, any>);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(whole.choices[0].message.content);
    conforms(text);
  });

  it('json_object: the text stays a prefix of a JSON object (the small model does not close its keys: it runs to max_tokens)', async () => {
    const r = await chat({ response_format: { type: 'json_object' }, temperature: 0.8, seed: 3, max_tokens: 60 });
    const text = r.choices[0].message.content as string;
    expect(text.startsWith('{')).toBe(true);
    expect(feed(initialStates(compileSchema({ type: 'object' })), text).length).toBeGreaterThan(0);
    expect(() => JSON.parse(text)).toThrow(); // unfinished: finish_reason length
    expect(r.choices[0].finish_reason).toBe('length');
  });

  it("vLLM's guided_choice, guided_json and guided_regex, llama.cpp's json_schema, on /v1/completions", async () => {
    const choices = ['Paris', 'Rome', 'Madrid'];
    for (const seed of [1, 2, 3]) {
      const r = await post('/v1/completions', { prompt: 'Q: What is the capital of Spain? A:', max_tokens: 8, temperature: 2, seed, guided_choice: choices });
      expect(choices).toContain(r.choices[0].text);
    }
    const g = await post('/v1/completions', { prompt: 'Q: What is the capital of Spain? A:', max_tokens: 120, temperature: 0, guided_json: JSON.stringify(SCHEMA) });
    conforms(g.choices[0].text);
    const l = await post('/v1/completions', { prompt: 'Q: What is the capital of Spain? A:', max_tokens: 120, temperature: 0, json_schema: SCHEMA });
    expect(l.choices[0].text).toBe(g.choices[0].text);
    for (const seed of [4, 5, 6]) {
      const r = await post('/v1/completions', { prompt: 'Call me at', max_tokens: 20, temperature: 1.5, seed, guided_regex: ' ?\\(\\d{3}\\) \\d{3}-\\d{4}' });
      expect(r.choices[0].text).toMatch(/^ ?\(\d{3}\) \d{3}-\d{4}$/);
      expect(r.choices[0].finish_reason).toBe('stop');
    }
  });

  it("a pydantic model with a discriminated union (oneOf) and datetime, UUID and IPv4 fields: ajv judges every choice valid", async () => {
    const schema = {
      $defs: {
        Cat: { properties: { pet_type: { const: 'cat', type: 'string' }, lives: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['pet_type', 'lives'], title: 'Cat', type: 'object' },
        Dog: { properties: { pet_type: { const: 'dog', type: 'string' }, good: { type: 'boolean' } }, required: ['pet_type', 'good'], title: 'Dog', type: 'object' },
      },
      properties: {
        pet: { discriminator: { mapping: { cat: '#/$defs/Cat', dog: '#/$defs/Dog' }, propertyName: 'pet_type' }, oneOf: [{ $ref: '#/$defs/Cat' }, { $ref: '#/$defs/Dog' }] },
        seen: { format: 'date-time', type: 'string' },
        tag: { format: 'uuid', type: 'string' },
        host: { format: 'ipv4', type: 'string' },
      },
      required: ['pet', 'seen', 'tag', 'host'],
      title: 'Sighting',
      type: 'object',
    };
    const validate = ajvWithFormats().compile(schema);
    const r = await chat({ response_format: { type: 'json_schema', json_schema: { name: 'sighting', schema } }, temperature: 1, n: 4, seed: 5, max_tokens: 200 });
    for (const c of r.choices) {
      expect(c.finish_reason).toBe('stop');
      const v = JSON.parse(c.message.content) as unknown;
      expect(validate(v), `${c.message.content} ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('characters the vocabulary spells only in bytes (é, 日, 😀): a choice and a regex hold, and streamed deltas never carry half a character', async () => {
    const choices = ['café', '日本', '😀!'];
    for (const seed of [1, 2, 3]) {
      const r = await post('/v1/completions', { prompt: 'Q: What is the capital of Japan? A:', max_tokens: 12, temperature: 2, seed, guided_choice: choices });
      expect(choices).toContain(r.choices[0].text);
      expect(r.choices[0].finish_reason).toBe('stop');
    }
    const body = { model, prompt: 'Q: What is the capital of Japan? A:', max_tokens: 20, temperature: 1.5, seed: 4, guided_regex: '[一-龥]{3} [à-ÿ]{2}' };
    const whole = await post('/v1/completions', body);
    expect(whole.choices[0].text).toMatch(/^[一-龥]{3} [à-ÿ]{2}$/u);
    const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { ...body, stream: true } });
    const deltas = r.body.split('\n\n').filter((l) => l.startsWith('data: {')).map((l) => (JSON.parse(l.slice(6)) as Record<string, any>).choices[0]?.text ?? '');
    expect(deltas.join('')).toBe(whole.choices[0].text);
    for (const d of deltas) expect(d).not.toContain('\uFFFD');
  });

  it("llama.cpp's grammar and vLLM's guided_grammar (GBNF): the language's text, the same as the equivalent regex gives", async () => {
    const gbnf = 'root ::= " "? "(" d d d ") " d d d "-" d{4}\nd ::= [0-9]';
    for (const seed of [4, 5, 6]) {
      const body = { prompt: 'Call me at', max_tokens: 20, temperature: 1.5, seed };
      const [g, v, r] = await Promise.all([post('/v1/completions', { ...body, grammar: gbnf }), post('/v1/completions', { ...body, guided_grammar: gbnf }), post('/v1/completions', { ...body, guided_regex: ' ?\\(\\d{3}\\) \\d{3}-\\d{4}' })]);
      expect(g.choices[0].text).toMatch(/^ ?\(\d{3}\) \d{3}-\d{4}$/);
      expect(g.choices[0].finish_reason).toBe('stop');
      expect(v.choices[0].text).toBe(g.choices[0].text);
      expect(r.choices[0].text).toBe(g.choices[0].text);
    }
    // a context-free language: nested lists of small numbers, through the chat route
    const nested = 'root ::= list\nlist ::= "[" (item ("," item){0,2})? "]"\nitem ::= [0-9] | list';
    const c = await chat({ grammar: nested, temperature: 1, seed: 3, max_tokens: 60 });
    const text = c.choices[0].message.content as string;
    expect(c.choices[0].finish_reason).toBe('stop'); // the closing ] of the outer list ends it
    expect(Array.isArray(JSON.parse(text))).toBe(true);
    expect(text).toMatch(/^[[\]0-9,]+$/);
  });

  it("vLLM's guided_grammar in Lark (its documented SQL example): the text is a statement of the grammar; llama.cpp's grammar field stays GBNF", async () => {
    const sql = '?start: select_statement\n?select_statement: "SELECT " column_list " FROM " table_name\n?column_list: column_name ("," column_name)*\n?table_name: identifier\n?column_name: identifier\n?identifier: /[a-zA-Z_][a-zA-Z0-9_]{0,7}/';
    for (const seed of [1, 2]) {
      const r = await post('/v1/completions', { prompt: 'Q: Which table holds the users? A:', max_tokens: 60, temperature: 1, seed, guided_grammar: sql });
      expect(r.choices[0].text).toMatch(/^SELECT [a-zA-Z_]\w{0,7}(,[a-zA-Z_]\w{0,7})* FROM [a-zA-Z_]\w{0,7}$/);
      expect(r.choices[0].finish_reason).toBe('stop');
    }
    const bad = await app.inject({ method: 'POST', url: '/v1/completions', payload: { model, prompt: 'x', max_tokens: 4, grammar: sql } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/grammar/);
  });

  describe('tool calls held to their schemas (tool_choice named and required)', () => {
    const TOOLS = [
      {
        type: 'function',
        function: {
          name: 'get_capital',
          description: 'The capital of a country',
          parameters: { type: 'object', properties: { country: { type: 'string', maxLength: 12 }, formal: { type: 'boolean' } }, required: ['country', 'formal'], additionalProperties: false },
        },
      },
      { type: 'function', function: { name: 'get_population', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 10 } }, required: ['city'], additionalProperties: false } } },
    ];
    const argsConform = (name: string, args: string): void => {
      const v = JSON.parse(args) as Record<string, unknown>;
      if (name === 'get_capital') {
        expect(Object.keys(v).sort()).toEqual(['country', 'formal']);
        expect((v.country as string).length).toBeLessThanOrEqual(12);
        expect(typeof v.formal).toBe('boolean');
      } else {
        expect(name).toBe('get_population');
        expect(Object.keys(v)).toEqual(['city']);
        expect((v.city as string).length).toBeLessThanOrEqual(10);
      }
    };

    it('named: one call of that function whose arguments conform, greedy and sampled; finish stop; content null', async () => {
      for (const extra of [{ temperature: 0 }, { temperature: 1.2, seed: 5, n: 3 }]) {
        const r = await chat({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_capital' } }, ...extra });
        for (const c of r.choices) {
          expect(c.message.content).toBeNull();
          expect(c.message.tool_calls).toHaveLength(1);
          expect(c.message.tool_calls[0].function.name).toBe('get_capital');
          argsConform('get_capital', c.message.tool_calls[0].function.arguments);
          expect(c.finish_reason).toBe('stop');
        }
      }
    });

    it('required with parallel_tool_calls false: exactly one call of a declared function, conforming; finish tool_calls', async () => {
      for (const seed of [1, 2, 3, 4]) {
        const r = await chat({ tools: TOOLS, tool_choice: 'required', parallel_tool_calls: false, temperature: 1.5, seed });
        const c = r.choices[0];
        expect(c.finish_reason).toBe('tool_calls');
        expect(c.message.tool_calls).toHaveLength(1);
        argsConform(c.message.tool_calls[0].function.name, c.message.tool_calls[0].function.arguments);
      }
    });

    it('streamed named call: the argument deltas join to the unstreamed arguments', async () => {
      const body = { messages: [{ role: 'user', content: 'What is the capital of France?' }], max_tokens: 120, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_population' } }, temperature: 1, seed: 9 };
      const whole = await post('/v1/chat/completions', body);
      const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model, ...body, stream: true } });
      const chunks = r.body.split('\n\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as Record<string, any>);
      const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
      expect(calls[0].function.name).toBe('get_population');
      expect(calls.slice(1).every((d: Record<string, any>) => d.id === undefined && d.index === 0)).toBe(true);
      const args = calls.map((d: Record<string, any>) => d.function.arguments).join('');
      expect(args).toBe(whole.choices[0].message.tool_calls[0].function.arguments);
      argsConform('get_population', args);
    });
  });
});
