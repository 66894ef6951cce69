/**
 * ROME (src/baselines/rome.ts): the lookup index and the edit rows by hand, the rank-one update in
 * both weight layouts, the value graph's gradient (NLL + KL) by finite differences, the update's
 * defining property (the edited layer outputs t₀ + δ at the bare prompt's subject token) on the
 * tiny-llama fixture, and one edit on the bundled model (a model that knows facts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { words } from '../helpers/word-tokenizer.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { applyRankOne, romeBatch, romeDefaultLayer, RomeMethod } from '../../src/baselines/rome.js';
import { subjectLastIndex, subjectSpan } from '../../src/baselines/subject.js';
import { lowerPassRows } from '../../src/baselines/step.js';
import { createMethod } from '../../src/eval/methods/index.js';
import { promptTargetRow } from '../../src/eval/scorer.js';
import { tensorData } from '../../src/graph/types.js';
import { Rng } from '../../src/util/rng.js';
import { choleskyFactor, choleskySolve } from '../../src/baselines/cholesky.js';
import { secondMoment } from '../../src/baselines/second-moment.js';
import { textEncoder } from '../../src/eval/scorer-lm.js';
import type { WiseConfig } from '../../src/config/schema.js';


describe('ROME rows (pure)', () => {
  it('finds the subject (verbatim, then ignoring case, else none) and indexes its last token under a template', () => {
    const enc = words();
    expect(subjectSpan('The capital of France is', 'France')).toEqual({ through: 'The capital of France', match: 'exact' });
    expect(subjectSpan('the capital of france is', ' France ')).toEqual({ through: 'the capital of france', match: 'case' });
    expect(subjectSpan('The capital of France is', 'Spain')).toEqual({ through: 'The capital of France is', match: 'none' });
    expect(subjectSpan('The capital of France is', undefined).match).toBe('none');
    const span = subjectSpan('The capital of New York is', 'New York');
    // "{}": The(0) capital(1) of(2) New(3) York(4) is(5); under "A b {}" everything moves by 2
    expect(subjectLastIndex(enc, '{}', 'The capital of New York is', span)).toBe(4);
    expect(subjectLastIndex(enc, 'A b {}', 'The capital of New York is', span)).toBe(6);
    // no subject: the prompt's last token
    expect(subjectLastIndex(enc, '{}', 'The capital of New York is', subjectSpan('The capital of New York is', 'Paris'))).toBe(5);
    // a "$&" in the prompt is text, not a replacement pattern
    expect(subjectLastIndex(enc, '{}', 'Cost $& of X is', subjectSpan('Cost $& of X is', 'X'))).toBe(3);
  });

  it('builds template rows + target[:-1], teacher-forced targets weighted 1/(templates·n), and the KL row "<subject> is a" last', () => {
    const enc = words();
    const b = romeBatch(enc, enc, ['{}', 'Q {}'], 'Paris is in', 'red big', 'Paris', 0, 128);
    const [paris, is, inn, red, big, q, a] = [enc('Paris')[0], enc(' is')[0], enc(' in')[0], enc(' red')[0], enc(' big')[0], enc('Q')[0], enc(' a')[0]];
    expect(b).toMatchObject({ E: 3, Tb: 16, Kb: 8, lookup: [0, 1, 0], targetIds: [red, big], klEntry: 4 });
    expect(b.ids.slice(0, 5)).toEqual([paris, is, inn, red, 0]); // "{}": the prompt and the target but its last token
    expect(b.ids.slice(16, 21)).toEqual([q, enc(' Paris')[0], is, inn, red]);
    expect(b.ids.slice(32, 35)).toEqual([paris, is, a]); // the KL row
    expect(b.rows.slice(0, 5)).toEqual([2, 3, 16 + 3, 16 + 4, 32 + 0]); // row r's position p at r·Tb + p; KL at its lookup
    expect(b.targets.slice(0, 4)).toEqual([red, big, red, big]);
    expect(b.weights).toEqual([0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0]);
    expect(() => romeBatch(enc, () => [], ['{}'], 'Paris is in', ' ', 'Paris', 0, 128)).toThrow(/no tokens/);
    expect(() => romeBatch(enc, enc, ['{}'], 'Paris is in', 'red big', 'Paris', 0, 3)).toThrow(/exceeds the model context/);
  });

  it('applyRankOne adds right ⊗ u to what the layer computes, in both stored layouts', () => {
    const ff = 3, d = 2;
    const right = Float32Array.from([1, -2]);
    const u = Float32Array.from([0.5, 0, 2]);
    const x = [1, 2, 3]; // the down projection's input (ff)
    const outIn = new Float32Array(d * ff); // (d, ff): y_i = Σ_j W[i][j] x_j
    applyRankOne(outIn, [d, ff], 'out_in', right, u);
    const inOut = new Float32Array(ff * d); // (ff, d): y_i = Σ_j x_j W[j][i]
    applyRankOne(inOut, [ff, d], 'in_out', right, u);
    const ux = 0.5 * 1 + 2 * 3;
    for (let i = 0; i < d; i++) {
      expect(x.reduce((s, xj, j) => s + outIn[i * ff + j]! * xj, 0)).toBeCloseTo(right[i]! * ux, 6);
      expect(x.reduce((s, xj, j) => s + inOut[j * d + i]! * xj, 0)).toBeCloseTo(right[i]! * ux, 6);
    }
    expect(() => applyRankOne(outIn, [ff, d], 'out_in', right, u)).toThrow(/rank-one update/);
  });

  it('Cholesky solves a symmetric positive-definite system and refuses one that is not', () => {
    const n = 9;
    const rng = new Rng(3);
    const m = Float64Array.from({ length: n * n }, () => rng.normal());
    const c = new Float64Array(n * n); // Mᵀ M + I
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 1 : 0;
      for (let k = 0; k < n; k++) s += m[k * n + i]! * m[k * n + j]!;
      c[i * n + j] = s;
    }
    const b = Float64Array.from({ length: n }, () => rng.normal());
    const x = choleskySolve(choleskyFactor(c, n), n, b);
    for (let i = 0; i < n; i++) expect(x.reduce((s, xj, j) => s + c[i * n + j]! * xj, 0)).toBeCloseTo(b[i]!, 9);
    expect(() => choleskyFactor([1, 2, 2, 1], 2)).toThrow(/not positive definite/);
    expect(() => choleskyFactor([1, 2, 3], 2)).toThrow(/entries/);
  });

  it('the default layer is EasyEdit llama-7b\'s 5 of 32, scaled', () => {
    expect([6, 12, 32, 48].map(romeDefaultLayer)).toEqual([0, 1, 5, 7]);
  });
});

describeShared('ROME on tiny-llama', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
  });

  it('the value graph gives d(NLL + KL)/dδ (central differences along random directions)', async () => {
    const rome = new RomeMethod(lm, { layer: 1, templates: 2 });
    const b = await rome.batchFor('The capital of France is', 'Rome', 'France');
    const lower = await lowerPassRows(lm, 1, b.ids, b.mask, b.E, b.Tb);
    const d = lm.config.hiddenSize;
    const V = lm.config.vocabSize;
    const rng = new Rng(7);
    const sel = new Float32Array(b.E * b.Tb);
    b.lookup.forEach((p, r) => (sel[r * b.Tb + p] = 1));
    const klSel = new Float32Array(b.Kb);
    klSel[b.klEntry] = 0.5;
    // a p₀ unlike the model's, so the KL term and its gradient are far from 0
    const raw = Float32Array.from({ length: V }, () => rng.normal());
    const lse = Math.log(raw.reduce((s, x) => s + Math.exp(x), 0));
    const logp0 = Float32Array.from(raw, (x) => x - lse);
    const g = rome.stepGraph(b.E, b.Tb, b.Kb);
    const feeds = {
      ...lower.feeds,
      rows: tensorData('int64', [b.Kb], b.rows), row_targets: tensorData('int64', [b.Kb], b.targets), row_weights: tensorData('float32', [b.Kb], b.weights),
      value_sel: tensorData('float32', [b.E, b.Tb], sel), kl_sel: tensorData('float32', [b.Kb], klSel), kl_logp0: tensorData('float32', [V], logp0),
      [rome.weightName]: tensorData('float32', rome.shape, rome.weight),
    };
    const at = async (delta: Float32Array) => lm.engine.run(g, { ...feeds, value_delta: tensorData('float32', [d], delta) }, ['total', 'kl', 'grad_delta']);
    const delta = Float32Array.from({ length: d }, () => 0.3 * rng.normal());
    const out = await at(delta);
    expect((out.kl!.data as Float32Array)[0]).toBeGreaterThan(0.05);
    const gr = out.grad_delta!.data as Float32Array;
    for (let k = 0; k < 3; k++) {
      const v = Float32Array.from({ length: d }, () => rng.normal());
      const h = 1e-2;
      const plus = (await at(Float32Array.from(delta, (x, i) => x + h * v[i]!))).total!.data as Float32Array;
      const minus = (await at(Float32Array.from(delta, (x, i) => x - h * v[i]!))).total!.data as Float32Array;
      const fd = (plus[0]! - minus[0]!) / (2 * h);
      const an = gr.reduce((s, x, i) => s + x * v[i]!, 0);
      expect(Math.abs(fd - an)).toBeLessThan(2e-2 * Math.max(1, Math.abs(an)));
    }
  });

  it('an edit is one rank-one update after which the edited layer outputs t₀ + δ at the bare prompt\'s subject token', async () => {
    const rome = new RomeMethod(lm, { layer: 1, templates: 2, steps: 6 });
    const prompt = 'The capital of France is';
    const b = await rome.batchFor(prompt, 'Rome', 'France');
    const mlpOutAtLookup = async (weight: Float32Array): Promise<Float32Array> => {
      const lower = await lowerPassRows(lm, 1, b.ids, b.mask, b.E, b.Tb);
      const g = rome.stepGraph(b.E, b.Tb, b.Kb);
      const out = await lm.engine.run(g, {
        ...lower.feeds,
        rows: tensorData('int64', [b.Kb], b.rows), row_targets: tensorData('int64', [b.Kb], b.targets), row_weights: tensorData('float32', [b.Kb], b.weights),
        value_sel: tensorData('float32', [b.E, b.Tb], new Float32Array(b.E * b.Tb)), kl_sel: tensorData('float32', [b.Kb], new Float32Array(b.Kb)),
        kl_logp0: tensorData('float32', [lm.config.vocabSize], new Float32Array(lm.config.vocabSize)), value_delta: tensorData('float32', [lm.config.hiddenSize], new Float32Array(lm.config.hiddenSize)),
        [rome.weightName]: tensorData('float32', rome.shape, weight),
      }, ['mlp_out']);
      const d = lm.config.hiddenSize;
      return (out.mlp_out!.data as Float32Array).slice(b.lookup[0]! * d, (b.lookup[0]! + 1) * d);
    };
    const t0 = await mlpOutAtLookup(rome.base);
    const r = await rome.edit(prompt, 'Rome', 'France');
    expect(r.steps).toBeGreaterThan(0);
    expect(r.subjectMatch).toBe('exact');
    expect(r.losses[r.losses.length - 1]).toBeLessThan(r.losses[0]!);
    const dn = Math.hypot(...r.delta);
    expect(dn).toBeGreaterThan(0);
    expect(dn).toBeLessThanOrEqual(4 * Math.hypot(...t0) * (1 + 1e-5)); // the clamp ball
    expect(Math.hypot(...r.u)).toBeCloseTo(1, 5);
    // W′ − W = right ⊗ u exactly (rank one), and the layer's output moved by δ at the lookup
    const diff = Float32Array.from(rome.weight, (x, i) => x - rome.base[i]!);
    const [d, ff] = rome.shape as [number, number]; // llama: out_in (d, ff)
    for (let i = 0; i < d; i += 7) for (let j = 0; j < ff; j += 5) expect(diff[i * ff + j]).toBeCloseTo(r.right[i]! * r.u[j]!, 5);
    const t1 = await mlpOutAtLookup(rome.weight);
    for (let i = 0; i < t1.length; i++) expect(t1[i]! - t0[i]!).toBeCloseTo(r.delta[i]!, 3);
    await rome.reset();
    expect(rome.weight).toEqual(rome.base);
  });

  it('R-ROME (prefixKeys): after the edit the template rows\' mean MLP output at the lookups is t₀ + δ, where ROME puts t₀ + δ at the bare prompt', async () => {
    const prompt = 'The capital of France is';
    const rr = new RomeMethod(lm, { layer: 1, templates: 2, steps: 6, prefixKeys: true });
    const b = await rr.batchFor(prompt, 'Rome', 'France');
    const d = lm.config.hiddenSize;
    // the MLP output at each template row's lookup (the KL row left out), under `weight`
    const outsAtLookups = async (weight: Float32Array): Promise<Float32Array[]> => {
      const lower = await lowerPassRows(lm, 1, b.ids, b.mask, b.E, b.Tb);
      const out = await lm.engine.run(rr.stepGraph(b.E, b.Tb, b.Kb), {
        ...lower.feeds,
        rows: tensorData('int64', [b.Kb], b.rows), row_targets: tensorData('int64', [b.Kb], b.targets), row_weights: tensorData('float32', [b.Kb], b.weights),
        value_sel: tensorData('float32', [b.E, b.Tb], new Float32Array(b.E * b.Tb)), kl_sel: tensorData('float32', [b.Kb], new Float32Array(b.Kb)),
        kl_logp0: tensorData('float32', [lm.config.vocabSize], new Float32Array(lm.config.vocabSize)), value_delta: tensorData('float32', [d], new Float32Array(d)),
        [rr.weightName]: tensorData('float32', rr.shape, weight),
      }, ['mlp_out']);
      const all = out.mlp_out!.data as Float32Array;
      return b.lookup.slice(0, b.E - 1).map((p, r) => all.slice((r * b.Tb + p) * d, (r * b.Tb + p + 1) * d));
    };
    const mean = (vs: Float32Array[]): Float32Array => Float32Array.from(vs[0]!, (_, i) => vs.reduce((s, v) => s + v[i]!, 0) / vs.length);
    const before = await outsAtLookups(rr.base);
    const r = await rr.edit(prompt, 'Rome', 'France');
    const after = mean(await outsAtLookups(rr.weight));
    for (let i = 0; i < d; i++) expect(after[i]!).toBeCloseTo(before[0]![i]! + r.delta[i]!, 3);
    // still one rank-one update along u
    const diff = Float32Array.from(rr.weight, (x, i) => x - rr.base[i]!);
    const ff = rr.shape[1]!;
    for (let i = 0; i < d; i += 7) for (let j = 0; j < ff; j += 5) expect(diff[i * ff + j]).toBeCloseTo(r.right[i]! * r.u[j]!, 5);
    // ROME's update from the same δ would differ: (δ / (k₀·u)) is not (δ + W(k₀ − k̄)) / (k̄·u)
    const ku = r.key.reduce((s, x, j) => s + x * r.u[j]!, 0);
    expect(Math.max(...r.right.map((x, i) => Math.abs(x - r.delta[i]! / ku)))).toBeGreaterThan(1e-3);
    expect(createMethod('r-rome', { lm, config: { layer: 1 } as WiseConfig, pool: [], newStore: () => { throw new Error('unused'); } } as never).settings).toMatchObject({ method: 'r-rome', prefixKeys: true });
  });

  it('the second moment is Σ k kᵀ / N over the real tokens (padding left out) plus the ridge, and mom2 edits use u ∝ C⁻¹ k*', async () => {
    const texts = ['The sky is blue', 'Paris', 'My dog likes long walks in the park'];
    const enc = textEncoder(lm);
    const m = await secondMoment(lm, 1, texts, enc, 0.1, 2); // batches of 2: the first pads 'Paris'
    let ff = 0;
    const want: number[][] = [];
    let n = 0;
    for (const t of texts) {
      const ids = enc(t);
      const low = await lowerPassRows(lm, 1, ids, ids.map(() => 1), 1, ids.length);
      ff = low.ff;
      if (want.length === 0) for (let i = 0; i < ff; i++) want.push(new Array<number>(ff).fill(0));
      for (let p = 0; p < ids.length; p++, n++) {
        const k = low.downInput.subarray(p * ff, (p + 1) * ff);
        for (let i = 0; i < ff; i++) for (let j = 0; j < ff; j++) want[i]![j]! += k[i]! * k[j]!;
      }
    }
    expect(m.tokens).toBe(n);
    const trace = want.reduce((s, r, i) => s + r[i]! / n, 0);
    for (let i = 0; i < ff; i += 3) for (let j = 0; j < ff; j += 5) {
      const w = want[i]![j]! / n + (i === j ? (0.1 * trace) / ff : 0);
      expect(Math.abs(m.c[i * ff + j]! - w)).toBeLessThan(1e-4 * Math.max(1, Math.abs(w)));
    }
    await expect(secondMoment(lm, 1, [], enc, 0.1)).rejects.toThrow(/no texts/);

    const rome = new RomeMethod(lm, { layer: 1, templates: 2, steps: 2, mom2: true, mom2Ridge: 0.1 }, texts);
    const plain = new RomeMethod(lm, { layer: 1, templates: 2, steps: 2 });
    const r = await rome.edit('The capital of France is', 'Rome', 'France');
    const p = await plain.edit('The capital of France is', 'Rome', 'France');
    // plain: u = k*/‖k*‖; mom2: C u ∥ k* (the same k*, since both read the same unedited lower layers)
    const cu = Array.from({ length: ff }, (_, i) => r.u.reduce((s, x, j) => s + m.c[i * ff + j]! * x, 0));
    const cos = cu.reduce((s, x, i) => s + x * p.u[i]!, 0) / Math.hypot(...cu);
    expect(cos).toBeCloseTo(1, 4);
    expect(Math.abs(r.u.reduce((s, x, i) => s + x * p.u[i]!, 0))).toBeLessThan(0.999); // and u itself is another direction
  });

  it('is registered as `rome` with its own early layer, and refuses the chat-template option like the other baselines', () => {
    const ctx = { lm, config: { layer: 1 } as WiseConfig, pool: [], newStore: () => { throw new Error('unused'); } } as never;
    const made = createMethod('rome', ctx);
    expect(made.method).toBeInstanceOf(RomeMethod);
    expect(made.settings).toMatchObject({ method: 'rome', layer: romeDefaultLayer(lm.config.numLayers), steps: 25, lr: 0.5, klFactor: 0.0625 });
    expect(createMethod('rome', { ...(ctx as object), rome: { layer: 1, steps: 3 } } as never).settings).toMatchObject({ layer: 1, steps: 3 });
    expect(() => createMethod('rome', { ...(ctx as object), config: { use_chat_template: true } } as never)).toThrow(/chat template/);
    expect(() => new RomeMethod(lm, { layer: lm.config.numLayers })).toThrow(/outside/);
  });
});

describe('ROME on the bundled model', () => {
  it('one edit puts the target on the prompt (teacher-forced accuracy 1.0, from below 1)', async () => {
    const lm = await CausalLM.load(path.join(import.meta.dirname, '..', '..', 'models', 'wise-base'));
    const rome = new RomeMethod(lm, { layer: romeDefaultLayer(lm.config.numLayers) });
    const prompt = 'The physical state of Praseodymium at room temperature is';
    const target = 'gas';
    const row = promptTargetRow(rome.scorer(), prompt, target);
    const [pre] = await rome.scorer().argmaxAndLogprobs([row]);
    expect(pre!.argmax).not.toEqual(row.targetIds);
    const r = await rome.edit(prompt, target, 'Praseodymium');
    expect(r.subjectMatch).toBe('exact');
    const [post] = await rome.scorer().argmaxAndLogprobs([row]);
    expect(post!.argmax).toEqual(row.targetIds);
  });
});
