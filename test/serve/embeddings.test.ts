/**
 * POST /v1/embeddings on the bundled model (src/serve/routes-embeddings.ts): vectors equal to the
 * model's pooled last hidden state (CausalLM.embed, itself checked against transformers in
 * golden.test.ts), the same alone or in a batch, base64 the same floats, token-id inputs, the
 * refusals; and after an edit, the edited prompt is embedded by its side memory while an
 * unrelated one stays on the main memory with its vector unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledModelDir } from '../../src/config/paths.js';
import { openWiseApp, type WiseApp } from '../helpers/wise-app.js';

const maxDiff = (a: readonly number[], b: ArrayLike<number>): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] as number))), 0);
const norm = (a: readonly number[]): number => Math.hypot(...a);

describe('/v1/embeddings (bundled model)', () => {
  let w: WiseApp;
  const E = '/v1/embeddings';
  const TEXTS = ['The capital of France is Paris.', 'Water boils at 100 degrees.', 'Q: Who wrote Hamlet? A:'];
  beforeAll(async () => {
    w = await openWiseApp(bundledModelDir());
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });

  const refuse = async (body: Record<string, unknown>, param: string, code = 'invalid_value'): Promise<void> => {
    const r = await w.app.inject({ method: 'POST', url: E, payload: { model: w.service.baseName, ...body } });
    expect(r.statusCode, r.body).toBe(400);
    const e = r.json().error as { code: string; param: string };
    expect([e.code, e.param]).toEqual([code, param]);
  };

  it('one input: the model\'s mean-pooled, unit-norm last hidden state; usage counts its tokens', async () => {
    const r = await w.post(E, { input: TEXTS[0] });
    expect(r.object).toBe('list');
    const v = r.data[0].embedding as number[];
    expect(v).toHaveLength(w.lm.config.hiddenSize);
    expect(norm(v)).toBeCloseTo(1, 5);
    const ids = w.lm.tokenizer.encodePrompt(TEXTS[0]!);
    expect(r.usage).toEqual({ prompt_tokens: ids.length, total_tokens: ids.length });
    const direct = await w.lm.embed([ids], { pooling: 'mean', normalize: true });
    expect(maxDiff(v, direct.vectors[0]!)).toBeLessThan(1e-5);
    expect(r.wise.memories).toEqual(['main']);
    expect(r.model).toBe(`${w.service.baseName}+edits@0`);
  });

  it('a batch gives each input its vector alone; base64, token ids, last pooling and normalize false agree with the model', async () => {
    const batch = await w.post(E, { input: TEXTS });
    expect(batch.data.map((d: { index: number }) => d.index)).toEqual([0, 1, 2]);
    for (const [i, t] of TEXTS.entries()) {
      const alone = await w.post(E, { input: t });
      expect(maxDiff(batch.data[i].embedding, alone.data[0].embedding)).toBeLessThan(1e-5);
    }
    const b64 = await w.post(E, { input: TEXTS, encoding_format: 'base64' });
    for (const [i, d] of (b64.data as { embedding: string }[]).entries()) {
      const buf = Buffer.from(d.embedding, 'base64');
      const floats = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      expect(Array.from(floats)).toEqual(batch.data[i].embedding); // the same float32 values, bit for bit
    }
    const ids = TEXTS.map((t) => w.lm.tokenizer.encodePrompt(t));
    const byIds = await w.post(E, { input: ids, pooling: 'last', normalize: false });
    const direct = await w.lm.embed(ids, { pooling: 'last', normalize: false });
    direct.vectors.forEach((v, i) => expect(maxDiff(byIds.data[i].embedding, v)).toBeLessThan(1e-4));
    expect(norm(byIds.data[0].embedding)).not.toBeCloseTo(1, 2);
    const single = await w.post(E, { input: ids[1] }); // one token-id array is one input
    expect(single.data).toHaveLength(1);
    expect(maxDiff(single.data[0].embedding, batch.data[1].embedding)).toBeLessThan(1e-5);
  });

  it('refuses dimensions, empty or too many inputs, ids outside the vocabulary, unknown formats', async () => {
    await refuse({ input: 'x', dimensions: 64 }, 'dimensions', 'unsupported_field');
    await refuse({ input: ['a', ''] }, 'input[1]');
    await refuse({ input: new Array(257).fill('a') }, 'input');
    await refuse({ input: [[1, 2], [w.service.vocabSize]] }, 'input[1][0]');
    await refuse({ input: 'x', encoding_format: 'hex' }, 'encoding_format');
    await refuse({ input: 'x', pooling: 'cls' }, 'pooling');
    const r = await w.app.inject({ method: 'POST', url: E, payload: { model: 'gpt-4', input: 'x' } });
    expect(r.statusCode).toBe(404);
  });

  it('after an edit: the edited prompt is embedded by its side memory, an unrelated text stays on main, unchanged', async () => {
    const prompt = 'The official language of Brazil is';
    const before = await w.post(E, { input: [prompt, TEXTS[1]] });
    await w.service.applyEdit({ prompt, target: ' French' });
    const after = await w.post(E, { input: [prompt, TEXTS[1]] });
    expect(after.model).toBe(`${w.service.baseName}+edits@1`);
    expect(after.wise.memories[0]).not.toBe('main');
    expect(after.wise.memories[1]).toBe('main');
    expect(maxDiff(after.data[0].embedding, before.data[0].embedding)).toBeGreaterThan(1e-3);
    expect(maxDiff(after.data[1].embedding, before.data[1].embedding)).toBeLessThan(1e-5);
  }, 120_000);
});
