/**
 * llama.cpp's /infill and /slots on the FakeService (tokens are code points), and the FIM prompt as a pure
 * function (src/serve/fim-prompt.ts): none of the checkpoints here has FIM tokens, so the fake spells them.
 *  - FIM tokens found by llama.cpp's spellings (Qwen, CodeLlama's "▁<PRE>", StarCoder), the missing ones named;
 *  - the prompt: repo-level pattern with repo/separator tokens, snippets without them, BOS after the extra
 *    context, llama.cpp's cuts of prefix, suffix and extra context;
 *  - /infill: 501 infill_unsupported before the body is checked on a model without them; with them, the
 *    token sequence the model runs, the answer /completion gives for the same ids, pad/repo/sep as stop ids;
 *  - /slots: idle and busy slots, fail_on_no_slot's 503, a service without slots; /props' total_slots.
 * The real model's embeddings, slots and FIM-less refusal: llamacpp-embedding.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/serve/index.js';
import { FakeService, type FakeServiceOptions } from './fake-service.js';
import { findFimTokens, fimStopIds, infillIds, type FimTokens } from '../../src/serve/fim-prompt.js';

/** the fake's tokens: code points */
const enc = (t: string): number[] => Array.from(t, (c) => c.codePointAt(0)!);
const QWEN: Record<string, number> = { '<|fim_prefix|>': 0xe000, '<|fim_suffix|>': 0xe001, '<|fim_middle|>': 0xe002, '<|fim_pad|>': 0xe003, '<|repo_name|>': 0xe004, '<|file_sep|>': 0xe005 };
const lookup = (vocab: Record<string, number>) => (piece: string): number | null => vocab[piece] ?? null;
const tokensOf = (vocab: Record<string, number>): FimTokens => {
  const r = findFimTokens(lookup(vocab));
  if (!('tokens' in r)) throw new Error(`missing ${r.missing.join(', ')}`);
  return r.tokens;
};

describe('FIM prompt (llama.cpp format_prompt_infill)', () => {
  it('finds the FIM tokens by llama.cpp spellings, and names the missing required ones', () => {
    expect(tokensOf(QWEN)).toEqual({ pre: 0xe000, suf: 0xe001, mid: 0xe002, pad: 0xe003, rep: 0xe004, sep: 0xe005 });
    expect(tokensOf({ '▁<PRE>': 7, '▁<SUF>': 8, '▁<MID>': 9, '▁<EOT>': 10 })).toEqual({ pre: 7, suf: 8, mid: 9, pad: null, rep: null, sep: null }); // CodeLlama
    expect(tokensOf({ '<fim_prefix>': 1, '<fim_suffix>': 3, '<fim_middle>': 2, '<fim_pad>': 4, '<reponame>': 5 })).toMatchObject({ pre: 1, suf: 3, mid: 2, pad: 4, rep: 5, sep: null }); // StarCoder
    expect(findFimTokens(lookup({}))).toEqual({ missing: ['prefix', 'suffix', 'middle'] });
    expect(findFimTokens(lookup({ '<PRE>': 1, '<MID>': 2 }))).toEqual({ missing: ['suffix'] });
    expect(fimStopIds(tokensOf(QWEN))).toEqual([0xe003, 0xe004, 0xe005]);
  });

  it('repo-level pattern with repo and separator tokens: extra files, then PRE prefix prompt SUF suffix MID', () => {
    const t = tokensOf(QWEN);
    const ids = infillIds(t, enc, [], { prefix: enc('def f('), suffix: enc(')\n'), prompt: enc('x'), extra: [{ filename: 'a.py', text: 'A=1' }, { filename: 'b.py', text: 'B' }] }, 1000);
    const want = [t.rep!, ...enc('myproject\n'), t.sep!, ...enc('a.py\n'), ...enc('A=1'), t.sep!, ...enc('b.py\n'), ...enc('B'), t.sep!, ...enc('filename\n'), t.pre, ...enc('def f(x'), t.suf, ...enc(')\n'), t.mid];
    expect(ids).toEqual(want);
  });

  it('without them each chunk follows a snippet line, and the extra context goes before the BOS', () => {
    const t = tokensOf({ '<PRE>': 1, '<SUF>': 2, '<MID>': 3 });
    const ids = infillIds(t, enc, [9], { prefix: enc('p'), suffix: enc('s'), prompt: [], extra: [{ filename: 'ignored', text: 'E' }] }, 1000);
    expect(ids).toEqual([...enc('\n\n--- snippet ---\n\nE'), 9, 1, ...enc('p'), 2, ...enc('s'), 3]);
    expect(infillIds(t, enc, [9], { prefix: [], suffix: [], prompt: [], extra: [] }, 1000)).toEqual([9, 1, 2, 3]);
  });

  it('cuts as llama.cpp: the prefix keeps its last 3⌊n/4⌋ tokens, the suffix its first ⌊n/4⌋ − 2 − |prompt|, the extra context its last ones', () => {
    const t = tokensOf({ '<PRE>': 1, '<SUF>': 2, '<MID>': 3 });
    const prefix = Array.from({ length: 100 }, (_, i) => 1000 + i);
    const suffix = Array.from({ length: 100 }, (_, i) => 2000 + i);
    const extra = [{ filename: 'f', text: 'abcdefghijklmnopqrstuvwxyz' }];
    // limit 42 with one BOS: n = 40, ⌊n/4⌋ = 10 → prefix 30 tokens, suffix 10 − 2 − 3 = 5; the FIM part is 1+1+30+3+1+5+1 = 42: no room for extra
    const cut = infillIds(t, enc, [9], { prefix, suffix, prompt: [7, 7, 7], extra }, 42);
    expect(cut).toEqual([9, 1, ...prefix.slice(70), 7, 7, 7, 2, ...suffix.slice(0, 5), 3]);
    // a larger limit leaves room: the extra context's last (limit − FIM part) tokens come first (limit 20: ⌊18/4⌋ − 2 = 2 suffix tokens at most)
    const roomy = infillIds(t, enc, [9], { prefix: enc('p'), suffix: enc('s'), prompt: [], extra }, 20);
    expect(roomy).toEqual([...enc('mnopqrstuvwxyz'), 9, 1, ...enc('p'), 2, ...enc('s'), 3]);
    expect(roomy).toHaveLength(20);
    // at limit 12 the suffix gets ⌊10/4⌋ − 2 = 0 tokens, as llama.cpp's batch split gives it
    expect(infillIds(t, enc, [9], { prefix: enc('p'), suffix: enc('s'), prompt: [], extra }, 12)).toEqual([...enc('tuvwxyz'), 9, 1, ...enc('p'), 2, 3]);
  });
});

describe('/infill and /slots on the fake service', () => {
  const apps: FastifyInstance[] = [];
  const open = async (o: FakeServiceOptions = {}): Promise<{ app: FastifyInstance; fake: FakeService }> => {
    const fake = new FakeService({ tickMs: 0, ...o });
    const app = buildServer({ service: fake, token: 't' });
    await app.ready();
    apps.push(app);
    return { app, fake };
  };
  afterAll(async () => {
    for (const a of apps) await a.close();
  });
  const post = (app: FastifyInstance, url: string, payload: Record<string, unknown>) => app.inject({ method: 'POST', url, payload });
  const get = (app: FastifyInstance, url: string) => app.inject({ method: 'GET', url });

  it('a model without FIM tokens: 501 infill_unsupported with llama.cpp\'s message, before the body is checked', async () => {
    const { app } = await open();
    for (const body of [{ input_prefix: 'a', input_suffix: 'b' }, { prompt: 5 }]) {
      const r = await post(app, '/infill', body);
      expect(r.statusCode).toBe(501);
      expect(r.json().error).toMatchObject({ code: 'infill_unsupported', type: 'not_supported_error', message: 'Infill is not supported by this model: prefix token is missing. suffix token is missing. middle token is missing. ' });
    }
  });

  describe('with FIM tokens', () => {
    let app: FastifyInstance;
    let fake: FakeService;
    beforeAll(async () => ({ app, fake } = await open({ specialTokens: QWEN })));

    it('runs the FIM prompt as a /completion: the same answer /completion gives for those ids; pad, repo and separator end it', async () => {
      const body = { input_prefix: 'def add(a, b):\n    ', input_suffix: '\n\nprint(add(1, 2))\n', input_extra: [{ filename: 'util.py', text: 'X = 1' }, { text: 'Y = 2' }], prompt: 'return', n_predict: 7, temperature: 0, return_tokens: true };
      const r = await post(app, '/infill', body);
      expect(r.statusCode, r.body).toBe(200);
      const t = tokensOf(QWEN);
      const ids = [t.rep!, ...enc('myproject\n'), t.sep!, ...enc('util.py\n'), ...enc('X = 1'), t.sep!, ...enc('tmp\n'), ...enc('Y = 2'), t.sep!, ...enc('filename\n'), ...fake.prefixIds, t.pre, ...enc(body.input_prefix + body.prompt), t.suf, ...enc(body.input_suffix), t.mid];
      const a = r.json();
      expect(fake.lastPrompt).toBe(String.fromCodePoint(...ids)); // what the model ran: the fake's BOS (U+0002) after the extra context, as llama.cpp puts it
      expect([a.prompt, a.tokens_evaluated, a.tokens_predicted, a.stop_type]).toEqual([String.fromCodePoint(...ids), ids.length, 7, 'limit']);
      expect(fake.lastOptions?.stopTokenIds).toEqual([t.pad, t.rep, t.sep]);
      const same = await post(app, '/completion', { prompt: ids, n_predict: 7, temperature: 0, return_tokens: true });
      expect([a.content, a.tokens]).toEqual([same.json().content, same.json().tokens]);
      expect(fake.lastOptions?.stopTokenIds).toBeUndefined(); // /completion adds none
    });

    it('prefix and suffix as token ids and texts mixed; streaming as /completion; the body is checked', async () => {
      const r = await post(app, '/infill', { input_prefix: [0x41, 'b'], input_suffix: '', n_predict: 3, temperature: 0 });
      expect(fake.lastPrompt).toBe(String.fromCodePoint(0xe004, ...enc('myproject\n'), 0xe005, ...enc('filename\n'), 2, 0xe000, ...enc('Ab'), 0xe001, 0xe002));
      expect(r.json().content).toHaveLength(3);
      const s = await post(app, '/infill', { input_prefix: 'a', input_suffix: 'b', n_predict: 3, stream: true });
      const events = s.body.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)) as { stop: boolean });
      expect([events.length > 1, events.at(-1)!.stop]).toEqual([true, true]);
      const refuse = async (body: Record<string, unknown>, param: string, code: string): Promise<void> => {
        const x = await post(app, '/infill', body);
        expect([x.statusCode, x.json().error.code, x.json().error.param], x.body).toEqual([400, code, param]);
      };
      await refuse({ input_prefix: 'a' }, 'input_suffix', 'missing_field');
      await refuse({ input_prefix: 'a', input_suffix: 'b', input_extra: [{ filename: 'x' }] }, 'input_extra[0].text', 'missing_field');
      await refuse({ input_prefix: [-1], input_suffix: 'b' }, 'input_prefix[0]', 'invalid_value');
      await refuse({ input_prefix: 'a', input_suffix: 'b', mirostat: 2 }, 'mirostat', 'unsupported_field');
    });
  });

  it('/slots: idle slots; busy ones with their progress; fail_on_no_slot is a 503 only when every slot is busy', async () => {
    const { app, fake } = await open({ slots: 2, tickMs: 5 });
    const idle = await get(app, '/slots?fail_on_no_slot=1');
    expect([idle.statusCode, idle.json()]).toEqual([200, [{ id: 0, n_ctx: 4096, is_processing: false }, { id: 1, n_ctx: 4096, is_processing: false }]]);
    expect((await get(app, '/props')).json().total_slots).toBe(2);
    const running = [post(app, '/completion', { prompt: 'hello', n_predict: 200 }), post(app, '/completion', { prompt: 'hi', n_predict: 200 })];
    for (let i = 0; i < 400 && !fake.slots!().every((s) => s !== null && s.decoded > 0); i++) await sleep(5);
    const busy = await get(app, '/slots');
    const slots = busy.json() as { is_processing: boolean; next_token: { has_next_token: boolean; n_decoded: number; n_remain: number }; wise: { prompt_tokens: number } }[];
    expect(slots.map((s) => [s.is_processing, s.next_token.has_next_token, s.wise.prompt_tokens])).toEqual([[true, true, 5], [true, true, 2]]);
    for (const s of slots) {
      expect(s.next_token.n_decoded).toBeGreaterThan(0);
      expect(s.next_token.n_decoded + s.next_token.n_remain).toBe(200);
    }
    const full = await get(app, '/slots?fail_on_no_slot=1');
    expect([full.statusCode, full.json().error.code, full.json().error.type, full.json().error.message]).toEqual([503, 'no_slot_available', 'unavailable_error', 'no slot available']);
    expect((await get(app, '/slots?fail_on_no_slot=')).statusCode).toBe(200); // an empty value does not ask (llama.cpp's test)
    await Promise.all(running);
    expect((await get(app, '/slots?fail_on_no_slot=1')).statusCode).toBe(200);
  });

  it('a service without slots: /slots is 501 slots_unsupported, /props says one slot; no embeddings: /embedding is a 400', async () => {
    const { app } = await open();
    const r = await get(app, '/slots');
    expect([r.statusCode, r.json().error.code]).toEqual([501, 'slots_unsupported']);
    expect((await get(app, '/props')).json().total_slots).toBe(1);
    const e = await post(app, '/embedding', { content: 'x' });
    expect([e.statusCode, e.json().error.code, e.json().error.param]).toEqual([400, 'unsupported_field', 'content']);
  });
});
