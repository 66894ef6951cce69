/**
 * llama.cpp's native routes on the bundled model (the real WiseModelService): POST /embedding (and
 * /embeddings) gives /v1/embeddings' vectors in llama.cpp's form; embd_normalize scales by the norm it
 * names; pooling "none" gives every token's state (their mean is the mean pooling, the last row the last
 * pooling); the refusals. GET /slots over the decode scheduler (idle; busy rows in their slots while they
 * decode); /infill refused on a model without FIM tokens, and the tokenizer finding added FIM tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bundledModelDir } from '../../src/config/paths.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { findFimTokens } from '../../src/serve/fim-prompt.js';
import type { SlotRow } from '../../src/serve/service.js';
import { openWiseApp, type WiseApp } from '../helpers/wise-app.js';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] as number))), 0);
const pnorm = (v: readonly number[], p: number): number => v.reduce((s, x) => s + Math.abs(x) ** p, 0) ** (1 / p);

describe('llama.cpp native routes (bundled model)', () => {
  let w: WiseApp;
  const TEXTS = ['The capital of France is Paris.', 'Water boils at 100 degrees.'];
  beforeAll(async () => {
    w = await openWiseApp(bundledModelDir());
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });
  /** POST expecting 200; the reply (an array for /embedding) */
  const post = async (url: string, body: Record<string, unknown>): Promise<any> => {
    const r = await w.app.inject({ method: 'POST', url, payload: body });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };
  const refuse = async (body: Record<string, unknown>, param: string, code: string, url = '/embedding'): Promise<void> => {
    const r = await w.app.inject({ method: 'POST', url, payload: body });
    expect([r.statusCode, r.json().error.code, r.json().error.param], r.body).toEqual([400, code, param]);
  };

  it('/embedding: /v1/embeddings\' vectors in llama.cpp\'s form, one entry per input; /embeddings the same; input wins over content', async () => {
    const oai = await w.post('/v1/embeddings', { input: TEXTS });
    const r = await post('/embedding', { content: TEXTS });
    expect(r.map((e: { index: number }) => e.index)).toEqual([0, 1]);
    r.forEach((e: { embedding: number[][]; wise: { memory: string } }, i: number) => {
      expect(e.embedding).toHaveLength(1); // llama.cpp's [[…]] for a pooled vector
      expect(e.embedding[0]).toEqual(oai.data[i].embedding); // the same computation, bit for bit
      expect(e.wise.memory).toBe('main');
    });
    // alone (a batch of one is not padded like the pair above, so compare alone with alone)
    const alone = await post('/embedding', { content: TEXTS[1] });
    expect(alone[0].embedding[0]).toEqual((await w.post('/v1/embeddings', { input: TEXTS[1] })).data[0].embedding);
    expect(await post('/embeddings', { content: TEXTS[1] })).toEqual(alone);
    expect(await post('/embedding', { content: TEXTS[0], input: TEXTS[1] })).toEqual(alone);
    // ids and texts mixed, one input (BOS first when a text leads): the vector of the same ids
    const tail = w.lm.tokenizer.encode(' is Paris.');
    const mixed = await post('/embedding', { content: ['The capital of France', ...tail] });
    const byIds = await w.post('/v1/embeddings', { input: [...w.lm.tokenizer.encodePrompt('The capital of France'), ...tail] });
    expect(mixed[0].embedding[0]).toEqual(byIds.data[0].embedding);
  });

  it('embd_normalize: −1 the raw pooled state, 0 max-abs to 32760, 1 taxicab, 2 Euclidean, 3 a p-norm; all the same direction', async () => {
    const ids = w.lm.tokenizer.encodePrompt(TEXTS[0]!);
    const raw = Array.from((await w.lm.embed([ids], { pooling: 'mean', normalize: false })).vectors[0]!);
    const at = async (n: number): Promise<number[]> => (await post('/embedding', { content: TEXTS[0], embd_normalize: n }))[0].embedding[0];
    expect(maxDiff(await at(-1), raw)).toBeLessThan(1e-5);
    expect(pnorm(raw, 2)).not.toBeCloseTo(1, 1); // so that the norms below are the route's doing
    const checks: [number, (v: number[]) => number, number][] = [[0, (v) => Math.max(...v.map(Math.abs)), 32760], [1, (v) => pnorm(v, 1), 1], [2, (v) => pnorm(v, 2), 1], [3, (v) => pnorm(v, 3), 1]];
    for (const [n, measure, want] of checks) {
      const v = await at(n);
      expect(measure(v) / want, `embd_normalize ${n}`).toBeCloseTo(1, 5);
      const scale = v[0]! / raw[0]!;
      expect(scale).toBeGreaterThan(0);
      expect(maxDiff(v.map((x) => x / scale), raw)).toBeLessThan(1e-4 * Math.max(1, ...raw.map(Math.abs)));
    }
  });

  it('pooling "none": every token\'s state, unscaled whatever embd_normalize says; their mean and last row are the pooled vectors', async () => {
    const ids = w.lm.tokenizer.encodePrompt(TEXTS[1]!);
    const r = await post('/embedding', { content: TEXTS[1], pooling: 'none', embd_normalize: 2 });
    const rows = r[0].embedding as number[][];
    const d = w.lm.config.hiddenSize;
    expect([rows.length, ...new Set(rows.map((x) => x.length))]).toEqual([ids.length, d]);
    const mean = (await w.lm.embed([ids], { pooling: 'mean', normalize: false })).vectors[0]!;
    const last = (await w.lm.embed([ids], { pooling: 'last', normalize: false })).vectors[0]!;
    expect(maxDiff(Array.from({ length: d }, (_, k) => rows.reduce((s, x) => s + x[k]!, 0) / rows.length), mean)).toBeLessThan(1e-4);
    expect(maxDiff(rows.at(-1)!, last)).toBeLessThan(1e-5);
    expect((await post('/embedding', { content: TEXTS[1], pooling: 'none', embd_normalize: -1 }))[0].embedding).toEqual(rows);
    // "last" through the route is the last pooling, scaled to unit length by the default
    expect(maxDiff((await post('/embedding', { content: TEXTS[1], pooling: 'last' }))[0].embedding[0], last.map((x) => x / pnorm(Array.from(last), 2)))).toBeLessThan(1e-5);
  });

  it('refusals: no content, a bad embd_normalize or pooling, too many inputs, ids outside the vocabulary; /v1/embeddings refuses pooling none', async () => {
    await refuse({}, 'content', 'missing_field');
    await refuse({ content: 'x', embd_normalize: -2 }, 'embd_normalize', 'invalid_value');
    await refuse({ content: 'x', embd_normalize: 1.5 }, 'embd_normalize', 'invalid_type');
    await refuse({ content: 'x', pooling: 'cls' }, 'pooling', 'invalid_value');
    await refuse({ content: new Array(257).fill('a') }, 'content', 'invalid_value');
    await refuse({ input: ['a', [w.service.vocabSize]] }, 'input[1][0]', 'invalid_value');
    await refuse({ model: w.service.baseName, input: 'x', pooling: 'none' }, 'pooling', 'invalid_value', '/v1/embeddings');
  });

  it('/slots: batch_size idle slots with the model context; rows hold slots while they decode; /props agrees', async () => {
    const idle = await w.app.inject({ method: 'GET', url: '/slots?fail_on_no_slot=1' });
    expect(idle.statusCode).toBe(200);
    expect(idle.json()).toEqual(Array.from({ length: w.service.batchSize }, (_, id) => ({ id, n_ctx: w.service.contextLength, is_processing: false })));
    expect((await w.app.inject({ method: 'GET', url: '/props' })).json().total_slots).toBe(w.service.batchSize);
    // during a two-prompt greedy generation, at prompt 0's 3rd piece: both rows hold slots 0 and 1, with their prompt and progress
    const prompts = TEXTS.map((t) => w.lm.tokenizer.encodePrompt(t));
    let seen: readonly (SlotRow | null)[] = [];
    let pieces = 0;
    await w.service.generateBatch(prompts, (i) => ({ maxTokens: 8, temperature: 0, topP: 1, ignoreEos: true, onText: () => (i === 0 && ++pieces === 3 ? (seen = w.service.slots()) : undefined) }));
    expect(seen.slice(0, 2).map((s) => s && [s.promptTokens, s.budget])).toEqual([[prompts[0]!.length, 8], [prompts[1]!.length, 8]]);
    expect(seen[0]!.decoded).toBeGreaterThanOrEqual(3);
    expect(seen.slice(2).every((s) => s === null)).toBe(true);
    expect(w.service.slots().every((s) => s === null)).toBe(true); // released when they end
  });

  it('/infill: the bundled model has no FIM tokens (501); added FIM tokens are found in the tokenizer\'s vocabulary', async () => {
    const r = await w.app.inject({ method: 'POST', url: '/infill', payload: { input_prefix: 'a', input_suffix: 'b' } });
    expect([r.statusCode, r.json().error.code]).toEqual([501, 'infill_unsupported']);
    const dir = mkdtempSync(path.join(tmpdir(), 'wise-fim-'));
    try {
      const json = JSON.parse(readFileSync(path.join(bundledModelDir(), 'tokenizer.json'), 'utf8')) as { added_tokens: Record<string, unknown>[] };
      const base = 4096;
      ['<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>'].forEach((content, i) => json.added_tokens.push({ id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
      writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
      copyFileSync(path.join(bundledModelDir(), 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
      const tok = await loadTokenizer(dir);
      expect(findFimTokens((p) => tok.tokenId(p))).toEqual({ tokens: { pre: base, mid: base + 1, suf: base + 2, pad: null, rep: null, sep: null } });
      expect(tok.tokenId('<|fim_pad|>')).toBeNull();
      expect(findFimTokens((p) => w.lm.tokenizer.tokenId(p))).toEqual({ missing: ['prefix', 'suffix', 'middle'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
