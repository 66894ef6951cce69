/**
 * Structured output at the token level (src/model/constrain/token-constraint.ts) and in decoding
 * (decode-batch.ts): the trie walk allows exactly the tokens a brute-force check of every token's
 * text allows; on the bundled model, sampled and greedy generations under a schema parse and
 * conform (a free string is bounded by maxLength: the small model does not close one), end as soon as the value is complete, and the tokens' texts are the decoded text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { choiceNode, compileSchema } from '../../src/model/constrain/json-schema.js';
import { buildTrie, constraintFor, TokenConstraint } from '../../src/model/constrain/token-constraint.js';
import { jsonRecognizer } from '../../src/model/constrain/json-recognizer.js';
import { regexRecognizer } from '../../src/model/constrain/regex-dfa.js';
import type { Recognizer } from '../../src/model/constrain/recognizer.js';
import { Rng } from '../../src/util/rng.js';

describe('TokenConstraint (pure)', () => {
  const texts = ['{', '}', '"', '":', '{"', '"a"', 'a', 'ab', ' ', '\n', '\n  ', ':', ',', '1', '12', '0', '-', '.5', 'true', 'tr', 'ue', 'null', '[', ']', 'x"}', null, '', '"}',
    'hello', ' wörld', 'abc', '\\', '\\n', 'n', 'é', '\t', 'b":', 'c": "', '", "'];
  const schema = compileSchema({ type: 'object', properties: { a: { type: 'integer' }, ab: { type: 'array', items: { type: 'boolean' } } }, required: ['a'], additionalProperties: false });
  const recognizers: Recognizer<unknown>[] = [
    jsonRecognizer(schema),
    // free strings (the plain-token list) with and without room, free keys, a union
    jsonRecognizer(compileSchema({ type: 'object', properties: { a: { type: 'string', maxLength: 7 }, ab: { anyOf: [{ type: 'string' }, { type: 'null' }] } }, required: ['a'], additionalProperties: false })),
    jsonRecognizer(compileSchema({ type: 'object', additionalProperties: { type: 'string', minLength: 2 } })),
    // maxProperties: once only the required key fits, the key list is walked, not served whole
    jsonRecognizer(compileSchema({ type: 'object', additionalProperties: { type: 'string', maxLength: 3 }, required: ['ab'], maxProperties: 2, minProperties: 1 })),
    jsonRecognizer(compileSchema({ type: 'array', items: { type: 'string' } })),
    regexRecognizer('(ab|a|hello)+( w.rld)?\\d*'),
  ].map((r) => r as Recognizer<unknown>);

  it.each(recognizers.map((r, i) => [i, r] as const))('recogniser %i: allows exactly the tokens whose text keeps a prefix alive (brute force over the vocabulary)', (_, rec) => {
    const trie = buildTrie(texts);
    const rng = new Rng(3);
    for (let run = 0; run < 40; run++) {
      const c = new TokenConstraint(trie, rec);
      let state: unknown = rec.initial();
      const after = (s: unknown, t: string): unknown => [...t].reduce<unknown>((x, ch) => (x === null ? null : rec.step(x, ch)), s);
      for (let stepNo = 0; stepNo < 16 && !c.finished; stepNo++) {
        const brute = texts.flatMap((t, id) => (t && after(state, t) !== null ? [id] : []));
        const allowed = c.allowed().sort((a, b) => a - b);
        expect(allowed).toEqual(brute);
        if (allowed.length === 0) break;
        const id = allowed[rng.int(allowed.length)]!;
        c.advance(id);
        state = after(state, texts[id]!);
      }
    }
  });

  it('accepting and finished follow the text; an unknown or empty token kills it', () => {
    const trie = buildTrie(texts);
    const c = new TokenConstraint(trie, jsonRecognizer(schema));
    for (const t of ['{"', 'a', '":', '12']) c.advance(texts.indexOf(t));
    expect(c.accepting).toBe(false);
    c.advance(texts.indexOf('}'));
    expect(c.accepting).toBe(true);
    expect(c.finished).toBe(true);
    expect(c.allowed()).toEqual([]);
    const d = new TokenConstraint(trie, jsonRecognizer(choiceNode(['true', 'tr']), true));
    d.advance(texts.indexOf('tr'));
    expect([d.accepting, d.finished]).toEqual([true, false]); // "tr", or on to "true"
    expect(d.allowed()).toEqual([texts.indexOf('ue')]);
    d.advance(texts.indexOf(null as never));
    expect(d.accepting).toBe(false);
  });
});

describe('structured decoding on the bundled model', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(bundledModelDir());
  });

  const schema = {
    type: 'object',
    properties: { capital: { type: 'string', maxLength: 12 }, population: { type: 'integer' }, big: { type: 'boolean' }, kind: { enum: ['city', 'town'] } },
    required: ['capital', 'population', 'big', 'kind'],
    additionalProperties: false,
  };

  it('token texts are the decoded text: each id read inside a sequence', () => {
    const texts = lm.tokenizer.tokenTexts();
    const ids = lm.tokenizer.encode('{"capital": "Paris", "n": [1, 2.5, true]}\n ok');
    expect(ids.map((id) => texts[id]).join('')).toBe(lm.tokenizer.decode(ids));
    const special = [lm.tokenizer.eosId, lm.tokenizer.bosId].filter((x): x is number => x !== null);
    for (const id of special) expect(texts[id]).toBeNull();
  });

  it('sampled and greedy generations parse, conform, and end with the value', async () => {
    const prompt = lm.tokenizer.encodePrompt('Q: What is the capital of France? A:');
    const constraint = constraintFor(lm.tokenizer, jsonRecognizer(compileSchema(schema)));
    for (const [temperature, seed] of [[0, 0], [1, 1], [1, 2], [1.5, 3]] as const) {
      const out = await lm.generate(prompt, { maxTokens: 200, temperature, seed, constraint });
      const text = lm.tokenizer.decode(out.ids);
      expect(out.finishReason, text).toBe('stop');
      const v = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(v).sort()).toEqual(['big', 'capital', 'kind', 'population']);
      expect(typeof v.capital).toBe('string');
      expect((v.capital as string).length).toBeLessThanOrEqual(12);
      expect(Number.isInteger(v.population)).toBe(true);
      expect(typeof v.big).toBe('boolean');
      expect(['city', 'town']).toContain(v.kind);
      expect(text.endsWith('}')).toBe(true); // ended at the value, no EOS needed
    }
    // unconstrained, the same prompt is not JSON
    const plain = await lm.generate(prompt, { maxTokens: 20, temperature: 0 });
    expect(() => JSON.parse(lm.tokenizer.decode(plain.ids))).toThrow();
  });

  it('a choice is one of the strings; a batch decodes each row under its own constraint', async () => {
    const choices = ['Paris', 'Rome', 'Berlin'];
    const prompt = lm.tokenizer.encodePrompt('Q: What is the capital of Italy? A:');
    const c = constraintFor(lm.tokenizer, jsonRecognizer(choiceNode(choices), true));
    const outs = await lm.generateMany([prompt, prompt, prompt], [0, 1, 2].map((seed) => ({ maxTokens: 10, temperature: seed === 0 ? 0 : 2, seed, constraint: c })));
    for (const o of outs) {
      expect(choices).toContain(lm.tokenizer.decode(o.ids));
      expect(o.finishReason).toBe('stop');
    }
  });
});
