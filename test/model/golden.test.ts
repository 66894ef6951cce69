/**
 * The engine against Hugging Face transformers on the tiny fixtures
 * (../shared/fixtures/hf/<name>/reference.json): logits, hidden states, the WISE key A(x),
 * the target loss, the gradient w.r.t. the edit weight, KV-cache greedy decoding, padding.
 */
import { beforeAll, expect, it } from 'vitest';
import { describeShared, HF_FIXTURES, hfFixtureDir, readSharedJson } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { buildTransformer } from '../../src/model/transformer.js';
import { transformerFeeds } from '../../src/model/feeds.js';
import { grad } from '../../src/graph/index.js';
import { tensorData } from '../../src/graph/types.js';

interface Case {
  prompt: string; target: string; prompt_ids: number[]; target_ids: number[]; input_ids: number[];
  logits: number[][]; hidden_states: number[][][]; mlp_down_input: number[][]; loss_on_target: number;
  grad_edit_weight: number[][]; greedy_ids: number[]; greedy_step_logits: number[][]; greedy_text: string;
}
interface Ref { edit_layer: number; edit_weight: string; edit_weight_shape: number[]; cases: Case[] }

function maxAbs(a: ArrayLike<number>, b: number[][] | number[], offset = 0): number {
  const flat = (b as unknown[]).flat(2) as number[];
  let m = 0;
  for (let i = 0; i < flat.length; i++) m = Math.max(m, Math.abs((a[offset + i] as number) - (flat[i] as number)));
  return m;
}

for (const name of HF_FIXTURES) {
  describeShared(`golden ${name}`, () => {
    let lm: CausalLM;
    let ref: Ref;
    beforeAll(async () => {
      lm = await CausalLM.load(hfFixtureDir(name));
      ref = readSharedJson<Ref>('fixtures', 'hf', name, 'reference.json');
    });

    it('forward: logits, every hidden state and mlp_down_input within 1e-4', async () => {
      const g = buildTransformer(lm.spec, lm.config, lm.ckpt.weights, { batch: 1, seq: 'T', logits: 'all', hiddenStates: true, exposeLayer: ref.edit_layer });
      for (const c of ref.cases) {
        const ids = c.input_ids;
        const out = await lm.engine.run(g, transformerFeeds(lm.spec, lm.config, ids, ids.map(() => 1), 1, ids.length));
        expect(maxAbs(out.logits!.data as Float32Array, c.logits)).toBeLessThanOrEqual(1e-4);
        expect(c.hidden_states.length).toBe(lm.config.numLayers + 1);
        c.hidden_states.forEach((h, l) => expect(maxAbs(out[`hidden_${l}`]!.data as Float32Array, h), `hidden_${l}`).toBeLessThanOrEqual(1e-4));
        expect(maxAbs(out.mlp_down_input!.data as Float32Array, c.mlp_down_input)).toBeLessThanOrEqual(1e-4);
      }
    });

    it('embeddings: mean and last pooling of the last hidden state, in one padded batch, within 1e-4 of the reference', async () => {
      const seqs = ref.cases.map((c) => c.input_ids);
      const mean = await lm.embed(seqs, { pooling: 'mean', normalize: false });
      const last = await lm.embed(seqs, { pooling: 'last', normalize: false });
      const unit = await lm.embed(seqs, { pooling: 'mean', normalize: true });
      ref.cases.forEach((c, i) => {
        const h = c.hidden_states[lm.config.numLayers]!; // (T, d) after the final norm
        const want = h[0]!.map((_, k) => h.reduce((s, row) => s + row[k]!, 0) / h.length);
        expect(maxAbs(mean.vectors[i]!, want), `mean ${i}`).toBeLessThanOrEqual(1e-4);
        expect(maxAbs(last.vectors[i]!, h[h.length - 1]!), `last ${i}`).toBeLessThanOrEqual(1e-4);
        const n = Math.hypot(...want);
        expect(maxAbs(unit.vectors[i]!, want.map((x) => x / n)), `unit ${i}`).toBeLessThanOrEqual(1e-5);
      });
      expect(new Set(seqs.map((s) => s.length)).size).toBeGreaterThan(1); // the batch was padded
    });

    it('loss on target (1e-5 relative) and its gradient w.r.t. the edit weight, with only the layers above it', async () => {
      const L = ref.edit_layer;
      const wName = ref.edit_weight;
      expect(lm.ckpt.weights.get(wName)?.shape).toEqual(ref.edit_weight_shape);
      const lower = buildTransformer(lm.spec, lm.config, lm.ckpt.weights, { batch: 1, seq: 'T', logits: 'none', toLayer: L + 1, exposeLayer: L });
      for (const c of ref.cases) {
        const T = c.input_ids.length;
        const feeds = transformerFeeds(lm.spec, lm.config, c.input_ids, c.input_ids.map(() => 1), 1, T);
        const mid = (await lm.engine.run(lower, feeds, ['resid_mid'])).resid_mid!;
        // The gradient graph: static shapes, starts at the edited layer's MLP input stream.
        const g = buildTransformer(lm.spec, lm.config, lm.ckpt.weights, {
          batch: 1, seq: T, rowCount: T - c.prompt_ids.length, fromLayer: L, fromMlp: true, inputWeights: new Set([wName]), loss: 'rows', logits: 'none',
        });
        const w = g.inputs.find((v) => v.name === wName)!;
        const loss = g.outputs.find((o) => o.name === 'loss')!.value;
        const [dw] = grad(g, loss, [w]);
        g.output('grad_w', dw!);
        const P = c.prompt_ids.length;
        const rows: number[] = [], tgts: number[] = [];
        for (let t = P - 1; t < T - 1; t++) { rows.push(t); tgts.push(c.input_ids[t + 1]!); }
        const f2 = { ...transformerFeeds(lm.spec, lm.config, [], c.input_ids.map(() => 1), 1, T) };
        delete (f2 as Record<string, unknown>).position_ids;
        const out = await lm.engine.run(g, {
          ...f2, hidden_in: mid,
          rows: tensorData('int64', [rows.length], rows), row_targets: tensorData('int64', [rows.length], tgts),
          row_weights: tensorData('float32', [rows.length], rows.map(() => 1 / rows.length)),
        });
        const lossV = (out.loss!.data as Float32Array)[0]!;
        expect(Math.abs(lossV - c.loss_on_target) / Math.abs(c.loss_on_target)).toBeLessThanOrEqual(1e-5);
        const gw = out.grad_w!.data as Float32Array;
        expect(out.grad_w!.dims).toEqual(ref.edit_weight_shape);
        const gmax = Math.max(...c.grad_edit_weight.flat().map(Math.abs));
        expect(maxAbs(gw, c.grad_edit_weight)).toBeLessThanOrEqual(1e-5 + 1e-3 * gmax);
      }
    });

    it('KV-cache decoding reproduces greedy_ids and greedy_step_logits; no-cache gives the same ids', async () => {
      for (const c of ref.cases) {
        const r = await lm.generate(c.prompt_ids, { maxTokens: c.greedy_ids.length, stopIds: [] }, true);
        expect(r.ids).toEqual(c.greedy_ids);
        r.stepLogits!.forEach((row, s) => expect(maxAbs(row, c.greedy_step_logits[s]!), `step ${s}`).toBeLessThanOrEqual(1e-4));
        const nc = await lm.generate(c.prompt_ids, { maxTokens: c.greedy_ids.length, stopIds: [], useCache: false });
        expect(nc.ids).toEqual(c.greedy_ids);
        expect(lm.tokenizer.decode(r.ids)).toBe(c.greedy_text);
      }
    });

    it('batched decoding (generateMany, left-padded prompts of 12/23/28 tokens) reproduces every case\'s greedy_ids and greedy_step_logits', async () => {
      const cases = ref.cases;
      for (const useCache of [true, false]) {
        const rs = await lm.generateMany(cases.map((c) => c.prompt_ids), cases.map((c) => ({ maxTokens: c.greedy_ids.length, stopIds: [], useCache })), true);
        rs.forEach((r, i) => {
          expect(r.ids, `case ${i} cache ${useCache}`).toEqual(cases[i]!.greedy_ids);
          expect(r.finishReason).toBe('length');
          r.stepLogits!.forEach((row, s) => expect(maxAbs(row, cases[i]!.greedy_step_logits[s]!), `case ${i} step ${s}`).toBeLessThanOrEqual(1e-4));
        });
      }
    });

    it('batched decoding: rows that end early (budget, stop id, onToken) leave the batch and the others go on as alone; sampled rows keep their own seeds', async () => {
      const cases = ref.cases;
      const alone = await Promise.all(cases.map((c) => lm.generate(c.prompt_ids, { maxTokens: 12, stopIds: [], temperature: 1.2, seed: 7 }, true)));
      const stopAt = cases[1]!.greedy_ids[2]!; // case 1's third greedy token ends it there
      const seen: number[] = [];
      const rs = await lm.generateMany(
        cases.map((c) => c.prompt_ids),
        [
          { maxTokens: 3, stopIds: [] },
          { maxTokens: 8, stopIds: [stopAt] },
          { maxTokens: 12, stopIds: [], temperature: 1.2, seed: 7, onToken: (id) => void seen.push(id) },
        ],
        true,
      );
      expect([rs[0]!.ids, rs[0]!.finishReason]).toEqual([cases[0]!.greedy_ids.slice(0, 3), 'length']);
      const firstStop = cases[1]!.greedy_ids.indexOf(stopAt);
      expect([rs[1]!.ids, rs[1]!.finishReason]).toEqual([cases[1]!.greedy_ids.slice(0, firstStop), 'stop']);
      expect(rs[2]!.ids).toEqual(alone[2]!.ids); // sampled after the other two left the batch
      expect(seen).toEqual(rs[2]!.ids);
      rs[2]!.stepLogits!.forEach((row, s) => expect(maxAbs(row, Array.from(alone[2]!.stepLogits![s]!)), `step ${s}`).toBeLessThanOrEqual(1e-4));
      const ended = await lm.generateMany([cases[0]!.prompt_ids, cases[1]!.prompt_ids], [{ maxTokens: 4, stopIds: [], onToken: () => true }, { maxTokens: 4, stopIds: [] }]);
      expect([ended[0]!.ids.length, ended[0]!.finishReason, ended[1]!.ids]).toEqual([1, 'stop', cases[1]!.greedy_ids.slice(0, 4)]);
      await expect(lm.generateMany([cases[0]!.prompt_ids], [])).rejects.toMatchObject({ code: 'WISE_INTERNAL' });
      await expect(lm.generateMany([cases[0]!.prompt_ids, []], [{ maxTokens: 1 }, { maxTokens: 1 }])).rejects.toMatchObject({ code: 'WISE_BAD_REQUEST' });
    });

    it('sampling: a seed repeats its tokens; a seed of 2^32 or more is not its low 32 bits; onToken sees the row each token came from', async () => {
      const c = ref.cases[0]!;
      const sample = async (seed: number): Promise<number[]> => (await lm.generate(c.prompt_ids, { maxTokens: 12, stopIds: [], temperature: 1.5, seed })).ids;
      expect(await sample(5)).toEqual(await sample(5));
      expect(await sample(2 ** 32 + 5)).toEqual(await sample(2 ** 32 + 5));
      expect(await sample(2 ** 32 + 5)).not.toEqual(await sample(5));
      const rows: Float32Array[] = [];
      const r = await lm.generate(c.prompt_ids, { maxTokens: 4, stopIds: [], onToken: (_id, row) => void rows.push(Float32Array.from(row)) }, true);
      expect(rows).toEqual(r.stepLogits);
    });

    it('a left- or right-padded batch of the three prompts gives the same logits per sequence as each alone', async () => {
      const seqs = ref.cases.map((c) => c.prompt_ids);
      const V = lm.config.vocabSize;
      const alone = await Promise.all(seqs.map((s) => lm.forward([s])));
      for (const side of ['left', 'right'] as const) {
        const b = await lm.forward(seqs, { side });
        seqs.forEach((s, r) => {
          const off = b.batch.offsets[r]!;
          let m = 0;
          for (let t = 0; t < s.length; t++)
            for (let v = 0; v < V; v++) m = Math.max(m, Math.abs(b.logits[(r * b.batch.seq + off + t) * V + v]! - alone[r]!.logits[t * V + v]!));
          expect(m, `${side} row ${r}`).toBeLessThanOrEqual(1e-4);
        });
      }
    });

    it('holds prompt plus new tokens to the context: stops there with finish length; a longer input is WISE_CONTEXT_LENGTH', async () => {
      const L = lm.contextLength;
      expect(L).toBe(128); // the fixtures' n_positions / max_position_embeddings
      const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => 1 + (i % 50));
      const near = await lm.generate(ids(L - 3), { maxTokens: 10, stopIds: [] });
      expect([near.ids.length, near.finishReason]).toEqual([3, 'length']);
      const full = await lm.generate(ids(L - 1), { maxTokens: 10, stopIds: [] });
      expect(full.ids).toHaveLength(1);
      await expect(lm.generate(ids(L), { maxTokens: 1 })).rejects.toMatchObject({ code: 'WISE_CONTEXT_LENGTH', details: { tokens: L, context: L } });
      await expect(lm.forward([ids(L + 1)])).rejects.toMatchObject({ code: 'WISE_CONTEXT_LENGTH' });
      expect((await lm.forward([ids(L)])).batch.seq).toBe(L); // the whole context is usable
    });

    it('rejects a token id ≥ vocab with a coded error', async () => {
      await expect(lm.forward([[1, lm.config.vocabSize]])).rejects.toMatchObject({ code: 'WISE_TOKEN_OUT_OF_RANGE' });
    });
  }, ['fixtures/hf/' + name + '/reference.json']);
}
