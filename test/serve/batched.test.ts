/**
 * Batched decoding in the server's service (serve.batch_size; src/serve/decode-texts.ts) on the
 * bundled model with WISE edits: a call's prompts decoded together give each prompt the text,
 * memory and logprobs it gets alone (batch size 1), with edited prompts routed to their memory
 * and unrelated ones to main in the same batch; echo forwards batch too; streamed pieces of
 * different prompts interleave; concurrent calls share the batch (continuous batching); an
 * abort mid-batch rejects the call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { MemoryBacking, MemoryShardStore } from '../../src/shards/index.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { configFor } from '../../src/config/family.js';
import { irrelevantPool } from '../../src/eval/datasets.js';
import { demoEdits } from '../../src/cli/demo.js';
import { WiseModelService } from '../../src/serve/wise-service.js';
import { chunks } from '../../src/serve/decode-texts.js';
import type { GenerateOptions, GenerateResult, TokenInfo } from '../../src/serve/service.js';

function maxLogprobGap(a: readonly TokenInfo[] | undefined, b: readonly TokenInfo[] | undefined): number {
  expect(a?.length).toBe(b?.length);
  let m = 0;
  a?.forEach((t, i) => {
    expect(t.token).toBe(b![i]!.token);
    if (t.logprob !== null) m = Math.max(m, Math.abs(t.logprob - b![i]!.logprob!));
  });
  return m;
}

describe('batched generation in WiseModelService on the bundled model with edits', () => {
  let lm: CausalLM;
  let editor: WiseEditor;
  let batched: WiseModelService;
  let single: WiseModelService;
  const { edits, unrelated } = demoEdits(2);
  const prompts = [edits[0]!.prompt, unrelated[0]!.prompt, unrelated[1]!.prompt, edits[1]!.prompt, unrelated[2]!.prompt];

  beforeAll(async () => {
    const cfg = configFor(bundledModelDir());
    lm = await CausalLM.load(bundledModelDir());
    editor = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking()), config: cfg.wise, pool: irrelevantPool(cfg) });
    for (const e of edits) await editor.applyEdit({ prompt: e.prompt, target: e.target });
    batched = new WiseModelService({ lm, editor, batchSize: 4 }); // 5 prompts: a batch of 4, then 1
    single = new WiseModelService({ lm, editor, batchSize: 1 });
  }, 180_000);
  afterAll(async () => {
    await editor?.close();
  });

  it('each prompt gets the text, finish, memory and logprobs it gets alone; edited and unrelated prompts share a batch', async () => {
    const opts = (i: number): GenerateOptions => ({ maxTokens: 6 + i, temperature: i === 2 ? 0.9 : 0, topP: 1, seed: 11 + i, logprobs: 2 });
    const [a, b] = [await batched.generateBatch(prompts, opts), await single.generateBatch(prompts, opts)];
    expect(a.map((r) => r.text)).toEqual(b.map((r) => r.text));
    expect(a.map((r) => r.finishReason)).toEqual(b.map((r) => r.finishReason));
    expect(a.map((r) => r.memory)).toEqual(b.map((r) => r.memory));
    expect(a.map((r) => r.memory !== 'main')).toEqual([true, false, false, true, false]);
    expect(a.map((r) => r.text.trim().startsWith(edits[0]!.target) || r.text.trim().startsWith(edits[1]!.target))).toEqual([true, false, false, true, false]);
    a.forEach((r, i) => expect(maxLogprobGap(r.tokens, b[i]!.tokens), `prompt ${i}`).toBeLessThan(1e-4));
  });

  it('concurrent calls (one prompt each) decode in one shared batch and each gets what it gets alone', async () => {
    const opts = (i: number): GenerateOptions => ({ maxTokens: 6 + i, temperature: i === 2 ? 0.9 : 0, topP: 1, seed: 11 + i, logprobs: 2 });
    let most = 0;
    const a = await Promise.all(prompts.map((p, i) => batched.generateBatch([p], () => ({ ...opts(i), onText: () => void (most = Math.max(most, batched.scheduler.load.running)) }))));
    const b = await single.generateBatch(prompts, opts);
    expect(most).toBe(4); // rows of four calls at once: batch_size 4
    expect(a.map(([r]) => r!.text)).toEqual(b.map((r) => r.text));
    expect(a.map(([r]) => r!.memory)).toEqual(b.map((r) => r.memory));
    a.forEach(([r], i) => expect(maxLogprobGap(r!.tokens, b[i]!.tokens), `prompt ${i}`).toBeLessThan(1e-4));
    expect(batched.scheduler.load).toEqual({ running: 0, waiting: 0 });
  });

  it('echo with max_tokens 0 (how lm-eval scores) runs the prompts as one padded forward: the same prompt logprobs and memories', async () => {
    const opts = (): GenerateOptions => ({ maxTokens: 0, temperature: 0, topP: 1, logprobs: 1, echo: true });
    const [a, b] = [await batched.generateBatch(prompts, opts), await single.generateBatch(prompts, opts)];
    expect(a.map((r) => r.memory)).toEqual(b.map((r) => r.memory));
    expect(a.map((r) => r.memory !== 'main')).toEqual([true, false, false, true, false]);
    a.forEach((r, i) => {
      expect(r.promptTokenInfo).toHaveLength(r.promptTokens);
      expect(maxLogprobGap(r.promptTokenInfo, b[i]!.promptTokenInfo), `prompt ${i}`).toBeLessThan(1e-4);
    });
  });

  it('streams each prompt\'s pieces as the batch decodes (interleaved), each result as soon as its prompt leaves the batch', async () => {
    const events: string[] = [];
    const texts = ['', '', ''];
    const ends: number[] = [];
    const rs = await batched.generateBatch(prompts.slice(0, 3), (i) => ({ maxTokens: [3, 8, 5][i]!, temperature: 0, topP: 1, onText: (p) => ((texts[i] += p), events.push(`t${i}`)) }), (i: number, r: GenerateResult) => {
      ends.push(i);
      events.push(`f${i}`);
      expect(r.text).toBe(texts[i]);
    });
    expect(events.indexOf('t1')).toBeLessThan(events.indexOf('f0')); // prompt 1 streamed while prompt 0 was still decoding
    // results come in the order the prompts left the batch: after the steps they used (an end-of-text token takes a step)
    const steps = rs.map((r) => r.ids.length + (r.finishReason === 'stop' ? 1 : 0));
    expect(ends).toEqual([0, 1, 2].sort((x, y) => steps[x]! - steps[y]! || x - y));
    expect(rs.map((r) => r.text)).toEqual(texts);
  });

  it('an abort mid-batch rejects the call (WISE_INTERNAL generation aborted) and reports no result', async () => {
    const ac = new AbortController();
    let results = 0;
    let tokens = 0;
    const call = batched.generateBatch(prompts, () => ({ maxTokens: 20, temperature: 0, topP: 1, signal: ac.signal, onText: () => (++tokens === 3 ? ac.abort() : undefined) }), () => results++);
    await expect(call).rejects.toMatchObject({ code: 'WISE_INTERNAL', message: expect.stringMatching(/aborted/) });
    expect(results).toBe(0);
  });

  it('chunks: at most `size` rows, and rows × the longest within the token cap; a row over the cap alone', () => {
    const len = [5, 9, 3, 30, 2, 2];
    expect(chunks([0, 1, 2, 3, 4, 5], 4, (i) => len[i]!, Infinity)).toEqual([[0, 1, 2, 3], [4, 5]]);
    expect(chunks([0, 1, 2, 3, 4, 5], 8, (i) => len[i]!, 20)).toEqual([[0, 1], [2], [3], [4, 5]]);
    expect(chunks([], 8, () => 1, 10)).toEqual([]);
  });
});
