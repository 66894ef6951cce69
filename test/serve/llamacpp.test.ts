/**
 * llama.cpp's native routes (src/serve/routes-llamacpp.ts) on the tiny-llama fixture (a random model: long
 * continuations) with a WISE editor: /completion answers as llama-server does (content, stop_type, stopping_word,
 * tokens, completion_probabilities, several prompts, a mixed prompt, streaming without [DONE]), and the same text as
 * /v1/completions under the same greedy decoding; /apply-template and /props (total_slots: the batch's slots).
 * /embedding, /slots and /infill: llamacpp-embedding.test.ts, llamacpp-extra.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { openWiseApp, type WiseApp } from '../helpers/wise-app.js';

const PROMPT = 'Hello there, how are you';

describeShared('llama.cpp routes (tiny-llama)', () => {
  let w: WiseApp;
  beforeAll(async () => {
    w = await openWiseApp(hfFixtureDir('tiny-llama'));
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });
  const post = (url: string, body: Record<string, unknown>) => w.post(url, body);
  const greedy = { temperature: 0, n_predict: 12 };

  it('/completion: the greedy text /v1/completions gives; limit, eos-free; return_tokens detokenize to the content', async () => {
    const r = await post('/completion', { prompt: PROMPT, ...greedy, return_tokens: true });
    const oai = await post('/v1/completions', { prompt: PROMPT, max_tokens: 12, temperature: 0 });
    expect(r.content).toBe(oai.choices[0].text);
    expect([r.stop, r.stop_type, r.stopping_word, r.tokens_predicted, r.tokens_evaluated]).toEqual([true, 'limit', '', 12, oai.usage.prompt_tokens]);
    expect(r.tokens).toHaveLength(12);
    expect((await post('/detokenize', { tokens: r.tokens })).content).toBe(r.content);
    expect(r.generation_settings).toMatchObject({ temperature: 0, top_k: 40, top_p: 0.95, min_p: 0.05, n_predict: 12, n_ctx: w.service.contextLength });
    expect(r.timings.predicted_n).toBe(12);
    expect(r.wise.memory).toBe('main');
  });

  it('a stop string ends it (stop_type word, the word named, not in the content); n_probs gives each token with its alternatives', async () => {
    const full = (await post('/completion', { prompt: PROMPT, ...greedy })).content as string;
    const word = full.slice(6, 9);
    const cut = await post('/completion', { prompt: PROMPT, ...greedy, stop: [word] });
    expect([cut.stop_type, cut.stopping_word, cut.content]).toEqual(['word', word, full.slice(0, full.indexOf(word))]);
    const probs = await post('/completion', { prompt: PROMPT, ...greedy, n_probs: 3, return_tokens: true });
    expect(probs.completion_probabilities).toHaveLength(12);
    probs.completion_probabilities.forEach((p: { id: number; logprob: number; top_logprobs: { id: number; logprob: number }[] }, i: number) => {
      expect(p.id).toBe(probs.tokens[i]);
      expect(p.top_logprobs).toHaveLength(3);
      expect(p.top_logprobs[0]!.id).toBe(p.id); // greedy: the chosen token is the most likely
      expect(p.top_logprobs[0]!.logprob).toBeCloseTo(p.logprob, 6);
    });
  });

  it('prompts: token ids, texts and ids mixed (BOS first when a text leads), several at once; logit_bias false bans a token', async () => {
    const base = await post('/completion', { prompt: PROMPT, ...greedy, return_tokens: true });
    const ids = (await post('/tokenize', { content: PROMPT, add_special: true })).tokens as number[];
    expect((await post('/completion', { prompt: ids, ...greedy })).content).toBe(base.content);
    expect((await post('/completion', { prompt: [PROMPT.slice(0, 5), ...((await post('/tokenize', { content: PROMPT.slice(5) })).tokens as number[])], ...greedy })).tokens_evaluated).toBeGreaterThan(0);
    const many = await post('/completion', { prompt: [PROMPT, ids], ...greedy });
    expect(Array.isArray(many)).toBe(true);
    expect((many as unknown as { index: number; content: string }[]).map((a) => [a.index, a.content])).toEqual([[0, base.content], [1, base.content]]);
    const banned = await post('/completion', { prompt: PROMPT, ...greedy, return_tokens: true, logit_bias: [[base.tokens[0], false]] });
    expect(banned.tokens[0]).not.toBe(base.tokens[0]);
    // a text bans each of its tokens; the object form (OpenAI's) takes ids as keys; a bias that is no number is a 400
    const first = (await post('/detokenize', { tokens: [base.tokens[0]] })).content as string;
    const byText = await post('/completion', { prompt: PROMPT, ...greedy, return_tokens: true, logit_bias: [[first, false]] });
    expect(byText.tokens).not.toContain(base.tokens[0]);
    expect((await post('/completion', { prompt: PROMPT, ...greedy, return_tokens: true, logit_bias: { [String(base.tokens[0])]: -1000 } })).tokens[0]).not.toBe(base.tokens[0]);
    const badBias = await w.app.inject({ method: 'POST', url: '/completion', payload: { prompt: PROMPT, logit_bias: [[1, 'x']] } });
    expect([badBias.statusCode, badBias.json().error.param]).toEqual([400, 'logit_bias[0]']);
    const none = await post('/completion', { prompt: PROMPT, n_predict: 0 });
    expect([none.content, none.tokens_predicted, none.tokens_evaluated]).toEqual(['', 0, base.tokens_evaluated]);
  });

  it('stream: content events, then the whole answer with stop true; no [DONE]; the same text as unstreamed', async () => {
    const whole = await post('/completion', { prompt: PROMPT, ...greedy });
    const r = await w.app.inject({ method: 'POST', url: '/completion', payload: { prompt: PROMPT, ...greedy, stream: true } });
    expect(r.headers['content-type']).toMatch(/text\/event-stream/);
    expect(r.body).not.toContain('[DONE]');
    const events = r.body.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)) as { content: string; stop: boolean; tokens_predicted?: number });
    const last = events.at(-1)!;
    expect([last.stop, last.content, last.tokens_predicted]).toEqual([true, '', 12]);
    expect(events.slice(0, -1).every((e) => !e.stop)).toBe(true);
    expect(events.map((e) => e.content).join('')).toBe(whole.content);
  });

  it('samplers it lacks are 400s naming them (off values pass); /apply-template and /props', async () => {
    const r = await w.app.inject({ method: 'POST', url: '/completion', payload: { prompt: PROMPT, mirostat: 2 } });
    expect([r.statusCode, r.json().error.code, r.json().error.param]).toEqual([400, 'unsupported_field', 'mirostat']);
    expect((await post('/completion', { prompt: PROMPT, n_predict: 2, mirostat: 0, typical_p: 1 })).tokens_predicted).toBe(2);
    const bad = await w.app.inject({ method: 'POST', url: '/completion', payload: { prompt: [1, { x: 1 }] } });
    expect([bad.statusCode, bad.json().error.param]).toEqual([400, 'prompt[1]']);
    const messages = [{ role: 'user', content: 'Hi' }];
    // the fixture has no chat template: the plain fallback, as the chat route runs it (and with vLLM's rendering fields)
    expect((await post('/apply-template', { messages })).prompt).toBe('User: Hi\nAssistant:');
    expect((await post('/apply-template', { messages, add_generation_prompt: false })).prompt).toBe('User: Hi');
    const props = await w.app.inject({ method: 'GET', url: '/props', headers: { authorization: 'Bearer t' } });
    expect(props.json()).toMatchObject({ total_slots: w.service.batchSize, default_generation_settings: { n_ctx: w.service.contextLength, params: { temperature: 0.8, top_k: 40 } } });
  });
}, ['fixtures/hf']);
