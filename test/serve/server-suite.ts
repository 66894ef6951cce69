/**
 * The server suite: the official `openai@6` client against `startServer` on port 0, for any
 * ModelService. test/serve/openai.test.ts runs it on the FakeService; the real model runs it
 * by calling `runServerSuite('real model', factory)` from its own test file. (This file is not
 * a *.test.ts, so importing it registers the suite only where it is called.)
 *
 * The factory names an edit whose target the model does not produce before the edit.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelShardStore, checkStore } from '../../src/shards/index.js';
import OpenAI from 'openai';
import type { EditRequest } from '../../src/edits/request.js';
import type { ModelService } from '../../src/serve/service.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';

export interface SuiteSubject {
  service: ModelService | Promise<ModelService>;
  /** an edit whose target the unedited model does not produce for its prompt */
  edit: EditRequest;
  /** assert that the edit landed while the stream was still running (true for the fake; a fast real model may finish first) */
  strictInterleave?: boolean;
  /** max_tokens of the live-edit stream; default 64 */
  streamTokens?: number;
  /** the model's context in tokens: a longer prompt must be a 400 context_length_exceeded (a real model only) */
  contextLength?: number;
  /** the service reports logprobs (a real model only) */
  logprobs?: boolean;
  close?: () => Promise<void>;
}

const TOKEN = 'suite-token';
type Extra = { wise?: { memory: string; edit_seq: number } };

export function runServerSuite(name: string, factory: () => SuiteSubject | Promise<SuiteSubject>): void {
  describe(`server suite: ${name}`, () => {
    let subject: SuiteSubject;
    let server: RunningServer;
    let client: OpenAI;
    let service: ModelService;
    const currentId = (): string => `${service.baseName}+edits@${service.editSeq()}`;
    const wiseFetch = (path: string, init: RequestInit = {}, token: string | null = TOKEN): Promise<Response> =>
      fetch(server.url + path, {
        ...init,
        headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(init.headers ?? {}) },
      });
    const greedy = async (prompt: string, maxTokens: number): Promise<OpenAI.Completion & Extra> =>
      (await client.completions.create({ model: currentId(), prompt, max_tokens: maxTokens, temperature: 0 })) as OpenAI.Completion & Extra;

    beforeAll(async () => {
      subject = await factory();
      service = await subject.service;
      server = await startServer({ service, port: 0, token: TOKEN, stderr: { write: () => true } });
      client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'not-needed-on-loopback', maxRetries: 0 });
    });
    afterAll(async () => {
      await server?.close();
      await subject?.close?.();
    });

    it('answers /health and lists the model as base+edits@N', async () => {
      const h = await fetch(`${server.url}/health`);
      expect(h.status).toBe(200);
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual([currentId()]);
      expect((models.data[0] as unknown as { max_model_len: number }).max_model_len).toBe(service.contextLength); // vLLM's field
    });

    it('embeddings through the client (which asks for base64 and decodes it): one unit vector per input; a service without them is a 400', async () => {
      if (!service.embed) {
        await expect(client.embeddings.create({ model: currentId(), input: 'x' })).rejects.toMatchObject({ status: 400 });
        return;
      }
      const r = await client.embeddings.create({ model: currentId(), input: ['Hello there', 'How are you'] });
      expect(r.data).toHaveLength(2);
      const [a, b] = r.data.map((d) => d.embedding);
      expect(a!.length).toBeGreaterThan(0);
      expect(b).toHaveLength(a!.length);
      expect(Math.hypot(...a!)).toBeCloseTo(1, 5);
      const floats = await client.embeddings.create({ model: currentId(), input: ['Hello there', 'How are you'], encoding_format: 'float' });
      expect(floats.data.map((d) => d.embedding)).toEqual([a, b]); // base64 carried the same float32 values
    });

    it('/tokenize with messages counts what the chat route runs (its usage.prompt_tokens)', async () => {
      if (subject.contextLength === undefined) return; // the fake counts a text prompt without its special prefix
      const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hello there' }];
      const t = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages }) });
      expect(t.status).toBe(200);
      const { tokens, count } = (await t.json()) as { tokens: number[]; count: number };
      const c = await client.chat.completions.create({ model: currentId(), messages, max_tokens: 1, temperature: 0 });
      expect(count).toBe(c.usage!.prompt_tokens);
      expect(tokens).toHaveLength(count);
      const both = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages, content: 'x' }) });
      expect(both.status).toBe(400);
    });

    it('completes (non-streaming), reporting usage and the memory that answered', async () => {
      const r = await greedy('Hello there', 8);
      expect(r.object).toBe('text_completion');
      expect(r.model).toBe(currentId());
      expect(typeof r.choices[0]?.text).toBe('string');
      expect(['stop', 'length']).toContain(r.choices[0]?.finish_reason);
      expect(r.usage?.completion_tokens).toBeLessThanOrEqual(8);
      expect(r.usage?.prompt_tokens).toBeGreaterThan(0);
      expect(typeof r.wise?.memory).toBe('string');
      expect(r.wise?.edit_seq).toBe(service.editSeq());
    });

    it('accepts the bare base name as the model', async () => {
      const r = await client.completions.create({ model: service.baseName, prompt: 'Hello', max_tokens: 2, temperature: 0 });
      expect(r.choices).toHaveLength(1);
    });

    it('streams a completion that equals the non-streamed one', async () => {
      const whole = await greedy('Once upon a time', 10);
      const stream = await client.completions.create({ model: currentId(), prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stream: true });
      let text = '';
      let last: (OpenAI.Completion & Extra) | undefined;
      for await (const c of stream) {
        text += c.choices[0]?.text ?? '';
        last = c as OpenAI.Completion & Extra;
      }
      expect(text).toBe(whole.choices[0]?.text);
      expect(last?.choices[0]?.finish_reason).toBe(whole.choices[0]?.finish_reason);
      expect(last?.wise?.edit_seq).toBe(service.editSeq());
    });

    it('chats, streamed and not, with include_usage', async () => {
      const messages = [
        { role: 'system' as const, content: 'You are terse.' },
        { role: 'user' as const, content: 'Say something.' },
      ];
      const r = (await client.chat.completions.create({ model: currentId(), messages, max_tokens: 6, temperature: 0 })) as OpenAI.ChatCompletion & Extra;
      expect(r.object).toBe('chat.completion');
      expect(r.choices[0]?.message.role).toBe('assistant');
      expect(typeof r.wise?.memory).toBe('string');
      const stream = await client.chat.completions.create({
        model: currentId(), messages, max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true },
      });
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const c of stream) chunks.push(c);
      expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
      const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
      expect(text).toBe(r.choices[0]?.message.content);
      const usageChunk = chunks.at(-1);
      expect(usageChunk?.choices).toEqual([]);
      expect(usageChunk?.usage?.completion_tokens).toBe(r.usage?.completion_tokens);
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe(r.choices[0]?.finish_reason);
    });

    it('answers the Responses API as chat answers the same conversation (instructions as the system turn), streamed and not', async () => {
      const chat = (await client.chat.completions.create({
        model: currentId(), messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say something.' }], max_tokens: 6, temperature: 0,
      })) as OpenAI.ChatCompletion & Extra;
      const body = { model: currentId(), instructions: 'You are terse.', input: 'Say something.', max_output_tokens: 6, temperature: 0 };
      const r = await client.responses.create(body);
      expect(r.output_text).toBe(chat.choices[0]!.message.content);
      expect(r.status).toBe(chat.choices[0]!.finish_reason === 'length' ? 'incomplete' : 'completed');
      expect([r.usage?.input_tokens, r.usage?.output_tokens]).toEqual([chat.usage?.prompt_tokens, chat.usage?.completion_tokens]);
      const streamed = await client.responses.stream(body).finalResponse();
      expect([streamed.output_text, streamed.status]).toEqual([r.output_text, r.status]);
    });

    it('honours stop, max_tokens and seed', async () => {
      const base = (await greedy('The weather today', 12)).choices[0]?.text ?? '';
      expect(Array.from(base).length).toBeGreaterThanOrEqual(3);
      const stop = base.slice(2, 4);
      const cut = base.slice(0, base.indexOf(stop));
      const r = await client.completions.create({ model: currentId(), prompt: 'The weather today', max_tokens: 12, temperature: 0, stop: [stop] });
      expect(r.choices[0]?.text).toBe(cut);
      expect(r.choices[0]?.finish_reason).toBe('stop');
      const short = await client.completions.create({ model: currentId(), prompt: 'The weather today', max_tokens: 1, temperature: 0 });
      expect(short.usage?.completion_tokens).toBeLessThanOrEqual(1);
      const a = await client.completions.create({ model: currentId(), prompt: 'Random', max_tokens: 8, temperature: 1, top_p: 0.9, seed: 7 });
      const b = await client.completions.create({ model: currentId(), prompt: 'Random', max_tokens: 8, temperature: 1, top_p: 0.9, seed: 7 });
      expect(a.choices[0]?.text).toBe(b.choices[0]?.text);
    });

    it('gives 400 in the OpenAI envelope with param set, and 404 for an unknown model', async () => {
      const bad = await client.completions.create({ model: currentId(), prompt: 'x', temperature: 9 }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      const e = bad as InstanceType<typeof OpenAI.BadRequestError>;
      expect([e.status, e.type, e.param, e.code]).toEqual([400, 'invalid_request_error', 'temperature', 'invalid_value']);
      const nf = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
      expect(nf).toBeInstanceOf(OpenAI.NotFoundError);
      const nfe = nf as InstanceType<typeof OpenAI.NotFoundError>;
      expect([nfe.code, nfe.param]).toEqual(['model_not_found', 'model']);
    });

    it('refuses a prompt longer than the context with 400 context_length_exceeded, streamed or not, and keeps serving', async () => {
      const L = subject.contextLength;
      if (L === undefined) return; // the fake service has no context
      const prompt = 'word '.repeat(2 * L);
      for (const stream of [false, true]) {
        const err = await client.completions.create({ model: currentId(), prompt, max_tokens: 2, stream }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        const e = err as InstanceType<typeof OpenAI.BadRequestError>;
        expect([e.status, e.code, e.param]).toEqual([400, 'context_length_exceeded', 'prompt']);
        expect(e.message).toContain(`model context of ${L}`);
      }
      expect((await greedy('Hello there', 2)).choices).toHaveLength(1);
    });

    it('gives n choices per prompt, choice j sampled with seed + j; without a seed draws one and reports it in wise.seed', async () => {
      type Seeded = OpenAI.Completion & { wise: { seed: number; memories?: string[] } };
      const ask = { model: currentId(), max_tokens: 8, temperature: 1, top_p: 0.9 };
      const r = (await client.completions.create({ ...ask, prompt: ['Random', 'Once upon a time'], n: 2, seed: 7 })) as Seeded;
      expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
      expect(r.wise.seed).toBe(7);
      expect(r.wise.memories).toHaveLength(4);
      const one = async (prompt: string, seed?: number): Promise<Seeded> => (await client.completions.create({ ...ask, prompt, ...(seed === undefined ? {} : { seed }) })) as Seeded;
      const expected = [await one('Random', 7), await one('Random', 8), await one('Once upon a time', 7), await one('Once upon a time', 8)];
      expect(r.choices.map((c) => c.text)).toEqual(expected.map((x) => x.choices[0]!.text));
      expect(r.usage!.completion_tokens).toBe(expected.reduce((a, x) => a + x.usage!.completion_tokens, 0));

      const u1 = await one('Random');
      const u2 = await one('Random');
      expect(Number.isInteger(u1.wise.seed)).toBe(true);
      expect(u2.wise.seed).not.toBe(u1.wise.seed); // drawn per request (a collision has probability 2^-32)
      expect((await one('Random', u1.wise.seed)).choices[0]!.text).toBe(u1.choices[0]!.text);

      // chat, streamed: every choice opens with its role and streams the text of the same request without stream
      const chatAsk = { ...ask, messages: [{ role: 'user' as const, content: 'Hello' }], n: 2, seed: 3 };
      const whole = await client.chat.completions.create(chatAsk);
      expect(whole.choices.map((c) => c.index)).toEqual([0, 1]);
      const got = ['', ''];
      const roles: string[] = [];
      for await (const ch of await client.chat.completions.create({ ...chatAsk, stream: true })) {
        const c = ch.choices[0]!;
        if (c.delta.role) roles[c.index] = c.delta.role;
        got[c.index] += c.delta.content ?? '';
      }
      expect(roles).toEqual(['assistant', 'assistant']);
      expect(got).toEqual(whole.choices.map((c) => c.message.content));
    });

    it('tokenizes and detokenizes with the served tokenizer, in llama.cpp\'s and vLLM\'s field names', async () => {
      const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
        const r = await wiseFetch(path, { method: 'POST', body: JSON.stringify(body) });
        return { status: r.status, json: (await r.json()) as Record<string, unknown> };
      };
      const text = 'The weather today';
      const ids = service.encode(text);
      const llama = await post('/tokenize', { content: text });
      expect(llama.status).toBe(200);
      expect(llama.json).toEqual({ tokens: ids, count: ids.length, max_model_len: service.contextLength });
      expect((await post('/tokenize', { model: currentId(), prompt: text })).json.tokens).toEqual(ids); // vLLM's names
      const special = await post('/tokenize', { content: text, add_special: true });
      expect(special.json.tokens).toEqual([...service.prefixIds, ...ids]);
      const back = await post('/detokenize', { tokens: ids });
      expect(back.status).toBe(200);
      expect(back.json).toEqual({ content: service.decode(ids), prompt: service.decode(ids) });
      expect(back.json.content).toBe(text);

      const errors: [string, unknown, number, string, string | null][] = [
        ['/tokenize', {}, 400, 'missing_field', 'content'],
        ['/tokenize', { content: 'a', prompt: 'a' }, 400, 'invalid_value', 'prompt'],
        ['/tokenize', { content: 5 }, 400, 'invalid_type', 'content'],
        ['/tokenize', { content: 'a', model: 'gpt-4' }, 404, 'model_not_found', 'model'],
        ['/detokenize', { tokens: [ids[0], service.vocabSize] }, 400, 'invalid_value', 'tokens[1]'],
        ['/detokenize', { tokens: [-1] }, 400, 'invalid_value', 'tokens[0]'],
        ['/detokenize', {}, 400, 'missing_field', 'tokens'],
      ];
      for (const [path, body, status, code, param] of errors) {
        const r = await post(path, body);
        expect([path, r.status, (r.json.error as { code: string }).code, (r.json.error as { param: string | null }).param]).toEqual([path, status, code, param]);
      }
    });

    it('takes several prompts and token-id prompts: one choice each, in order, the same as asked one by one; streamed by index', async () => {
      const texts = ['Hello', 'The weather today', subject.edit.prompt];
      const singles = [];
      for (const p of texts) singles.push(await greedy(p, 5));
      const ids = service.encode(texts[1]!);
      type Batch = OpenAI.Completion & { wise: { memory: string; edit_seq: number; memories: string[] } };
      const r = (await client.completions.create({ model: currentId(), prompt: [texts[0]!, ids, texts[2]!] as unknown as string[], max_tokens: 5, temperature: 0 })) as Batch;
      expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
      expect(r.choices.map((c) => c.text)).toEqual(singles.map((x) => x.choices[0]!.text));
      expect(r.choices.map((c) => c.finish_reason)).toEqual(singles.map((x) => x.choices[0]!.finish_reason));
      expect(r.usage!.prompt_tokens).toBe(singles.reduce((a, x) => a + x.usage!.prompt_tokens, 0));
      expect(r.usage!.completion_tokens).toBe(singles.reduce((a, x) => a + x.usage!.completion_tokens, 0));
      expect(r.wise.memories).toEqual(singles.map((x) => x.wise!.memory));
      expect(r.wise.memory).toBe(singles[0]!.wise!.memory);

      // one prompt as token ids; echoed, its text is the ids decoded
      const one = await client.completions.create({ model: currentId(), prompt: ids, max_tokens: 5, temperature: 0 });
      expect(one.choices[0]!.text).toBe(singles[1]!.choices[0]!.text);
      expect(one.usage!.prompt_tokens).toBe(ids.length);
      const echoed = await client.completions.create({ model: currentId(), prompt: ids, max_tokens: 5, temperature: 0, echo: true });
      expect(echoed.choices[0]!.text).toBe(service.decode(ids) + singles[1]!.choices[0]!.text);

      // streamed: pieces grouped by index join to the same texts; each choice ends with its finish and wise
      const stream = await client.completions.create({ model: currentId(), prompt: [texts[0]!, texts[2]!], max_tokens: 5, temperature: 0, stream: true });
      const got = ['', ''];
      const finishes: (string | null)[] = [null, null];
      const memories: (string | undefined)[] = [];
      const order: string[] = []; // 't0' text of choice 0, 'f0' its finish, …
      for await (const ch of stream) {
        const c = ch.choices[0]!;
        order.push(`${c.finish_reason ? 'f' : 't'}${c.index}`);
        got[c.index] += c.text;
        if (c.finish_reason) {
          finishes[c.index] = c.finish_reason;
          memories[c.index] = (ch as unknown as Extra).wise?.memory;
        }
      }
      expect(got).toEqual([singles[0]!.choices[0]!.text, singles[2]!.choices[0]!.text]);
      expect(finishes).toEqual([singles[0]!.choices[0]!.finish_reason, singles[2]!.choices[0]!.finish_reason]);
      expect(memories).toEqual([singles[0]!.wise!.memory, singles[2]!.wise!.memory]);
      // a choice's finish chunk is its last (choices decoded together interleave their chunks, as OpenAI's n > 1 does)
      for (const c of [0, 1]) expect(order.lastIndexOf(`f${c}`), order.join(' ')).toBe(Math.max(order.lastIndexOf(`t${c}`), order.lastIndexOf(`f${c}`)));
      expect(order.at(-1)).toBe('f1');
    });

    it('reports logprobs: greedy tokens are their top alternative; echo scores the prompt; chat gives bytes; 400 with stream', async () => {
      if (!subject.logprobs) return; // the fake service has no distribution
      const r = await client.completions.create({ model: currentId(), prompt: 'Hello', max_tokens: 4, temperature: 0, logprobs: 3 });
      const lp = r.choices[0]!.logprobs!;
      expect(r.usage!.completion_tokens).toBeGreaterThan(0);
      expect(lp.tokens).toHaveLength(r.usage!.completion_tokens);
      expect(lp.tokens!.join('')).toBe(r.choices[0]!.text);
      lp.tokens!.forEach((t, i) => {
        const top = lp.top_logprobs![i]!;
        expect(Object.keys(top).length).toBeLessThanOrEqual(3);
        const best = Math.max(...Object.values(top));
        expect(lp.token_logprobs![i]).toBeCloseTo(best, 6); // greedy: the chosen token is the most likely
        expect(top[t]).toBeCloseTo(lp.token_logprobs![i]!, 6);
        expect(Object.values(top).reduce((a, v) => a + Math.exp(v), 0)).toBeLessThanOrEqual(1 + 1e-6);
      });
      expect(lp.text_offset).toEqual(lp.tokens!.map((_, i) => lp.tokens!.slice(0, i).join('').length));

      const prompt = 'The sky is blue';
      const e = await client.completions.create({ model: currentId(), prompt, max_tokens: 0, logprobs: 1, echo: true });
      const el = e.choices[0]!.logprobs!;
      expect(e.choices[0]!.text).toBe(prompt);
      expect(el.tokens).toHaveLength(e.usage!.prompt_tokens);
      expect(el.token_logprobs![0]).toBeNull();
      expect(el.token_logprobs!.slice(1).every((v) => v !== null && v <= 0)).toBe(true);

      const c = await client.chat.completions.create({ model: currentId(), messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3, temperature: 0, logprobs: true, top_logprobs: 2 });
      const content = c.choices[0]!.logprobs!.content!;
      expect(content).toHaveLength(c.usage!.completion_tokens);
      for (const t of content) {
        expect(Buffer.from(t.bytes!).toString('utf8')).toBe(t.token);
        expect(t.top_logprobs.length).toBeLessThanOrEqual(2);
      }

      // the Responses API: the same tokens and values as chat's for the same conversation, whole and over the stream's deltas
      const rb = { model: currentId(), input: 'Hello', max_output_tokens: 3, temperature: 0, top_logprobs: 2, include: ['message.output_text.logprobs' as const] };
      const rr = await client.responses.create(rb);
      const rlp = (rr.output[0] as OpenAI.Responses.ResponseOutputMessage).content[0] as OpenAI.Responses.ResponseOutputText;
      expect(rlp.logprobs).toEqual(content);
      const deltas: OpenAI.Responses.ResponseTextDeltaEvent[] = [];
      const rs = client.responses.stream(rb);
      rs.on('response.output_text.delta', (ev) => deltas.push(ev));
      await rs.finalResponse();
      expect(deltas.flatMap((ev) => ev.logprobs)).toEqual(content);

      for (const body of [{ logprobs: 1, echo: true, stream: true }, { max_tokens: 0 }] as const) {
        const err = await client.completions.create({ model: currentId(), prompt: 'x', ...body } as never).catch((x: unknown) => x);
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      }
    });

    it('streams logprobs: over the chunks, the same tokens and values as the answer without stream (with and without a stop string)', async () => {
      if (!subject.logprobs) return;
      for (const extra of [{}, { stop: [' the'] }]) {
        const ask = { model: currentId(), prompt: 'Once upon a time', max_tokens: 12, temperature: 0, logprobs: 2, ...extra };
        const whole = await client.completions.create(ask);
        const lp = { tokens: [] as string[], token_logprobs: [] as number[], top_logprobs: [] as unknown[], text_offset: [] as number[] };
        let text = '';
        let withLogprobs = 0;
        for await (const ch of await client.completions.create({ ...ask, stream: true })) {
          const c = ch.choices[0]!;
          text += c.text;
          if (!c.logprobs) continue;
          withLogprobs++;
          for (const key of Object.keys(lp) as (keyof typeof lp)[]) (lp[key] as unknown[]).push(...(c.logprobs[key] as unknown[]));
        }
        expect(text).toBe(whole.choices[0]!.text);
        expect(lp).toEqual(whole.choices[0]!.logprobs);
        expect(withLogprobs).toBeGreaterThan(1); // not one block at the end
      }
      const chatAsk = { model: currentId(), messages: [{ role: 'user' as const, content: 'Hello' }], max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2 };
      const whole = await client.chat.completions.create(chatAsk);
      const content: unknown[] = [];
      for await (const ch of await client.chat.completions.create({ ...chatAsk, stream: true })) content.push(...(ch.choices[0]?.logprobs?.content ?? []));
      expect(content).toEqual(whole.choices[0]!.logprobs!.content);
    });

    it('needs the bearer token on every edit route (401 when missing or wrong)', async () => {
      const seq = service.editSeq();
      const routes: [string, string, string?][] = [
        ['POST', '/wise/edits', JSON.stringify(subject.edit)],
        ['GET', '/wise/edits'],
        ['GET', '/wise/edits/1'],
        ['DELETE', '/wise/edits/1'],
        ['GET', '/wise/jobs/job-1'],
        ['POST', '/wise/merge'],
        ['POST', '/wise/backup', JSON.stringify({ dir: '/tmp/never-written' })],
      ];
      for (const [method, path, body] of routes) {
        for (const token of [null, 'wrong-token', '']) {
          const r = await wiseFetch(path, { method, ...(body ? { body } : {}) }, token);
          expect(r.status, `${method} ${path} token=${String(token)}`).toBe(401);
          const j = (await r.json()) as { error: { code: string; type: string } };
          expect(j.error.type).toBe('authentication_error');
          expect(j.error.code).toBe(token === 'wrong-token' ? 'invalid_token' : token === '' ? 'invalid_token' : 'missing_token');
        }
      }
      expect(service.editSeq()).toBe(seq);
    });

    it('backs the store up while serving (the store is the server\'s), into an absolute new dir only', async () => {
      const root = mkdtempSync(path.join(tmpdir(), 'wise-serve-backup-'));
      try {
        const dir = path.join(root, 'b');
        const r = await wiseFetch('/wise/backup', { method: 'POST', body: JSON.stringify({ dir }) });
        expect(r.status).toBe(200);
        const j = (await r.json()) as { job: { kind: string; status: string; result: { records: number } } };
        expect([j.job.kind, j.job.status]).toEqual(['backup', 'done']);
        if (existsSync(path.join(dir, 'db'))) {
          // a real store: the copy opens and holds the same edit log
          const b = await LevelShardStore.open(dir, { fingerprint: null });
          try {
            expect((await b.listEdits()).map((e) => [e.id, e.status])).toEqual((await service.listEdits()).map((e) => [e.id, e.status]));
            expect((await checkStore(b)).errors).toEqual([]);
          } finally {
            await b.close();
          }
          const again = await wiseFetch('/wise/backup', { method: 'POST', body: JSON.stringify({ dir }) });
          expect(again.status).toBe(400); // already holds a store
        }
        const rel = await wiseFetch('/wise/backup', { method: 'POST', body: JSON.stringify({ dir: 'relative/dir' }) });
        expect(rel.status).toBe(400);
        expect(((await rel.json()) as { error: { param: string } }).error.param).toBe('dir');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('applies an edit while a stream runs: the stream ends on the old state, the next request sees the new one', async () => {
      const { edit } = subject;
      const n = subject.streamTokens ?? 64;
      const seq0 = service.editSeq();
      const id0 = currentId();
      const old = (await greedy(edit.prompt, n)).choices[0]?.text ?? '';
      const stream = await client.completions.create({ model: id0, prompt: edit.prompt, max_tokens: n, temperature: 0, stream: true });
      let text = '';
      let last: (OpenAI.Completion & Extra) | undefined;
      let editPromise: Promise<{ status: number; body: { job: { status: string; result: { id: number } } }; at: number }> | undefined;
      for await (const c of stream) {
        text += c.choices[0]?.text ?? '';
        last = c as OpenAI.Completion & Extra;
        editPromise ??= wiseFetch('/wise/edits?wait=true', { method: 'POST', body: JSON.stringify(edit) }).then(async (r) => ({
          status: r.status, body: (await r.json()) as never, at: performance.now(),
        }));
      }
      const streamEnd = performance.now();
      const applied = await editPromise;
      expect(applied?.status).toBe(200);
      expect(applied?.body.job.status).toBe('done');
      expect(text).toBe(old);
      expect(last?.wise?.edit_seq).toBe(seq0);
      expect(last?.model).toBe(id0);
      if (subject.strictInterleave ?? true) expect(applied!.at).toBeLessThan(streamEnd);

      expect(service.editSeq()).toBe(seq0 + 1);
      expect((await client.models.list()).data[0]?.id).toBe(currentId());
      const after = await greedy(edit.prompt, n);
      expect(after.choices[0]?.text.trim().startsWith(edit.target.trim())).toBe(true);
      expect(after.wise?.memory).not.toBe('main');
      expect(after.wise?.edit_seq).toBe(seq0 + 1);
      const stale = await client.completions.create({ model: id0, prompt: 'x', max_tokens: 1 }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(OpenAI.NotFoundError);

      const list = (await (await wiseFetch('/wise/edits')).json()) as { data: { id: number; status: string }[] };
      const editId = applied!.body.job.result.id;
      expect(list.data.find((e) => e.id === editId)?.status).toBe('active');
      const del = await wiseFetch(`/wise/edits/${editId}`, { method: 'DELETE' });
      expect(del.status).toBe(200);
      expect(service.editSeq()).toBe(seq0);
      expect((await greedy(edit.prompt, n)).choices[0]?.text).toBe(old);
      expect((await wiseFetch(`/wise/edits/${editId}`, { method: 'DELETE' })).status).toBe(409);
    });

    it('queues an edit with 202 and a pollable job id', async () => {
      const r = await wiseFetch('/wise/edits', { method: 'POST', body: JSON.stringify(subject.edit) });
      expect(r.status).toBe(202);
      const { job } = (await r.json()) as { job: { id: string; status: string } };
      expect(r.headers.get('location')).toBe(`/wise/jobs/${job.id}`);
      expect(['queued', 'running']).toContain(job.status);
      let status = job.status;
      for (let i = 0; i < 6000 && (status === 'queued' || status === 'running'); i++) {
        await new Promise((res) => setTimeout(res, 20));
        status = ((await (await wiseFetch(`/wise/jobs/${job.id}`)).json()) as { job: { status: string } }).job.status;
      }
      expect(status).toBe('done');
    });
  });
}
