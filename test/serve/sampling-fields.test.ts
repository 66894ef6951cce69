/**
 * The sampling fields beyond temperature and top_p (`top_k`, `min_p`, `frequency_penalty`,
 * `presence_penalty`, `repetition_penalty`, `logit_bias`) through the HTTP routes, on the
 * tiny-llama fixture (a random model: long continuations, where the bundled model answers a fact
 * in two tokens and stops) with a WISE editor on an in-memory store: a request gets exactly what the decoder gives with the same settings (generateText on
 * the same model), which differs from the answer without them; log-probabilities stay those of
 * the raw distribution; the fields are not "accepted and ignored".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { CausalLM } from '../../src/model/causal-lm.js';
import { firstStop } from '../../src/serve/stop-strings.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { generateText, type WiseModelService } from '../../src/serve/wise-service.js';
import { openWiseApp, type WiseApp } from '../helpers/wise-app.js';
import type { GenerateOptions } from '../../src/serve/service.js';

const PROMPT = 'Hello there, how are you';
const N = 24;

describeShared('sampling fields on /v1 (tiny-llama)', () => {
  let w: WiseApp;
  let lm: CausalLM;
  let service: WiseModelService;
  let app: FastifyInstance;
  let model: string;

  beforeAll(async () => {
    w = await openWiseApp(hfFixtureDir('tiny-llama'));
    ({ lm, service, app } = w);
    model = service.baseName;
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });

  const post = (url: string, body: Record<string, unknown>): Promise<Record<string, any>> => w.post(url, body);
  const complete = (extra: Record<string, unknown>) => post('/v1/completions', { prompt: PROMPT, max_tokens: N, temperature: 0, ...extra });
  const direct = (o: Partial<GenerateOptions>) => generateText(lm, PROMPT, { maxTokens: N, temperature: 0, topP: 1, ...o });

  it('penalties: the decoder\'s answer with the same settings, not the plain one; logprobs stay raw', async () => {
    const plain = await direct({});
    const cases: [Record<string, unknown>, Partial<GenerateOptions>][] = [
      [{ repetition_penalty: 1.6 }, { shaping: { repetitionPenalty: 1.6 } }],
      [{ frequency_penalty: 1.5 }, { shaping: { frequencyPenalty: 1.5 } }],
      [{ presence_penalty: 2 }, { shaping: { presencePenalty: 2 } }],
    ];
    for (const [fields, opts] of cases) {
      const r = await complete({ ...fields, logprobs: 1 });
      const want = await direct(opts);
      expect(want.text, JSON.stringify(fields)).not.toBe(plain.text);
      expect(r.choices[0].text, JSON.stringify(fields)).toBe(want.text);
    }
    // raw log-probabilities: the first token's is its raw log-softmax, which the penalty-free answer reports for the same token
    const [pen, none] = await Promise.all([complete({ repetition_penalty: 1.6, logprobs: 5, max_tokens: 1 }), complete({ logprobs: 5, max_tokens: 1 })]);
    const t = pen.choices[0].logprobs.tokens[0] as string;
    expect(none.choices[0].logprobs.top_logprobs[0][t]).toBeCloseTo(pen.choices[0].logprobs.token_logprobs[0], 5);
  });

  it('logit_bias bans tokens and top_k 1 is greedy at any temperature; chat takes the same fields', async () => {
    const plain = await direct({});
    const ban = Object.fromEntries(plain.ids.slice(0, 3).map((id) => [String(id), -100]));
    const banned = await complete({ logit_bias: ban });
    const want = await direct({ shaping: { logitBias: new Map(plain.ids.slice(0, 3).map((id) => [id, -100])) } });
    expect(banned.choices[0].text).toBe(want.text);
    expect(want.ids.some((id) => plain.ids.slice(0, 3).includes(id))).toBe(false);

    const k1 = await complete({ temperature: 2, top_k: 1, seed: 5 });
    expect(k1.choices[0].text).toBe(plain.text);
    const sampled = await complete({ temperature: 2, top_k: -1, seed: 5 }); // -1 = all, as vLLM
    expect(sampled.choices[0].text).toBe((await direct({ temperature: 2, seed: 5 })).text);
    expect(sampled.choices[0].text).not.toBe(plain.text);
    const minP = await complete({ temperature: 1.5, min_p: 0.3, seed: 9 });
    expect(minP.choices[0].text).toBe((await direct({ temperature: 1.5, minP: 0.3, seed: 9 })).text);

    const messages = [{ role: 'user', content: 'Name a capital city.' }];
    const chatPrompt = service.chatPrompt(messages);
    const chatOpts = { maxTokens: 12, temperature: 0, topP: 1 };
    const chatPlain = await generateText(lm, chatPrompt, chatOpts);
    const chatWant = await generateText(lm, chatPrompt, { ...chatOpts, shaping: { presencePenalty: 2, repetitionPenalty: 1.5 } });
    expect(chatWant.text).not.toBe(chatPlain.text);
    const chat = await post('/v1/chat/completions', { messages, max_tokens: 12, temperature: 0, presence_penalty: 2, repetition_penalty: 1.5 });
    expect(chat.choices[0].message.content).toBe(chatWant.text);
  });
}, ['fixtures/hf/tiny-llama']);

describe('stop_token_ids, ignore_eos and min_tokens on /v1 (bundled model: its answers end with EOS)', () => {
  let w: WiseApp;
  let lm: CausalLM;
  let app: FastifyInstance;
  let model: string;
  const PROMPT2 = 'The capital of France is';

  beforeAll(async () => {
    w = await openWiseApp(bundledModelDir());
    ({ lm, app } = w);
    model = w.service.baseName;
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });

  const complete = async (extra: Record<string, unknown>): Promise<{ text: string; finish_reason: string; tokens: number }> => {
    const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { model, prompt: PROMPT2, max_tokens: 8, temperature: 0, ...extra } });
    expect(r.statusCode, r.body).toBe(200);
    const j = r.json();
    return { text: j.choices[0].text, finish_reason: j.choices[0].finish_reason, tokens: j.usage.completion_tokens };
  };

  it('EOS ends an answer unless ignore_eos; min_tokens holds it off; a stop token id ends it where it appears', async () => {
    const plain = await complete({});
    expect(plain.finish_reason).toBe('stop');
    expect(plain.tokens).toBeLessThan(8);
    const all = await complete({ ignore_eos: true });
    expect(all.finish_reason).toBe('length');
    expect(all.tokens).toBe(8);
    expect(all.text.startsWith(plain.text)).toBe(true);
    expect(all.text).toBe((await generateText(lm, PROMPT2, { maxTokens: 8, temperature: 0, topP: 1, ignoreEos: true })).text);

    const atLeast = await complete({ min_tokens: plain.tokens + 2 });
    expect(atLeast.tokens).toBeGreaterThanOrEqual(plain.tokens + 2);
    expect(atLeast.text.startsWith(plain.text)).toBe(true); // the tokens before the banned EOS are the same
    expect(atLeast.text).toBe((await generateText(lm, PROMPT2, { maxTokens: 8, temperature: 0, topP: 1, minTokens: plain.tokens + 2 })).text);

    // the ignore_eos run's third token as a stop token id: the text ends before it, finish 'stop'
    const ids = (await generateText(lm, PROMPT2, { maxTokens: 8, temperature: 0, topP: 1, ignoreEos: true })).ids;
    const cut = await complete({ ignore_eos: true, stop_token_ids: [ids[2]] });
    expect(cut.finish_reason).toBe('stop');
    expect(cut.tokens).toBe(ids.indexOf(ids[2]!));
    expect(cut.text).toBe(lm.tokenizer.decode(ids.slice(0, ids.indexOf(ids[2]!))));
  });

  it('min_tokens holds stop strings off too: only an occurrence ending after the first min_tokens tokens\' text stops (vLLM)', async () => {
    const full = (await complete({ ignore_eos: true })).text; // 8 tokens
    const first3 = (await complete({ ignore_eos: true, max_tokens: 3 })).text; // the text of the first 3 tokens (greedy: a prefix)
    const boundary = first3.length;
    expect(full.startsWith(first3) && boundary > 0).toBe(true);
    const stop = full.trim()[0]!; // a character inside the first tokens' text
    expect(full.indexOf(stop)).toBeLessThan(boundary);
    const early = await complete({ ignore_eos: true, stop: [stop] });
    expect(early).toMatchObject({ text: full.slice(0, full.indexOf(stop)), finish_reason: 'stop' });
    const held = await complete({ ignore_eos: true, stop: [stop], min_tokens: 3 });
    const at = firstStop(full, [stop], boundary);
    expect(held).toMatchObject(at >= 0 ? { text: full.slice(0, at), finish_reason: 'stop' } : { text: full, finish_reason: 'length' });
    expect(held.text.length).toBeGreaterThanOrEqual(boundary);
  });
});
