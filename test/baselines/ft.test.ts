/**
 * FT-L / FT-M (src/baselines/ft.ts): the objectives' rows by hand, the FT-L loss against a host
 * computation from the model's logits, and FT-M editing on the tiny-llama fixture (a random model:
 * this checks the optimisation, not edit quality).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { words } from '../helpers/word-tokenizer.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { FtMethod, clampAround, ftObjectiveRow } from '../../src/baselines/ft.js';
import { Adam, rowBatch } from '../../src/baselines/step.js';
import { argmaxLogprob, promptTargetRow } from '../../src/eval/scorer.js';


describe('FT objectives (pure)', () => {
  it('FT-M (target_new): prompt + " " + target jointly, teacher-forced positions p−1 … n−2', () => {
    const enc = words();
    const [a, b, c, d, e] = enc('A b c d e');
    expect(ftObjectiveRow('target_new', enc, 'A b c', 'd e')).toEqual({ ids: [a, b, c, d, e], positions: [2, 3], targets: [d, e] });
  });

  it('FT-L (prompt_last): the prompt alone, every target id scored at the last prompt token', () => {
    const enc = words();
    const [a, b, c, d, e] = enc('A b c d e');
    expect(ftObjectiveRow('prompt_last', enc, 'A b c', 'd e')).toEqual({ ids: [a, b, c], positions: [2, 2], targets: [d, e] });
    // the target gets exactly one leading space, as EasyEdit's execute_ft prepends it
    expect(ftObjectiveRow('prompt_last', enc, 'A b c', '  d e').targets).toEqual([d, e]);
  });

  it('rowBatch pads to a power of two ≥ 16 and weights the real rows 1/K (the mean NLL)', () => {
    const b = rowBatch([5, 6, 7], [2, 2], [8, 9], 0, 128);
    expect(b).toMatchObject({ len: 3, Tb: 16, Kb: 8 });
    expect(b.ids.slice(0, 4)).toEqual([5, 6, 7, 0]);
    expect(b.mask.reduce((s, x) => s + x, 0)).toBe(3);
    expect(b.rows).toEqual([2, 2, 0, 0, 0, 0, 0, 0]);
    expect(b.targets.slice(0, 2)).toEqual([8, 9]);
    expect(b.weights).toEqual([0.5, 0.5, 0, 0, 0, 0, 0, 0]);
    expect(() => rowBatch([1, 2], [2], [3], 0, 128)).toThrow();
  });

  it('Adam matches torch.optim.Adam on a hand-checked first step (|Δ| = lr) and clampAround is an L∞ box', () => {
    const p = Float32Array.from([1, -2, 3]);
    new Adam(3, 0.1).step(p, [0.5, -4, 0]);
    // step 1: m̂ = g, v̂ = g², update = lr · g / (|g| + 1e-8) = ±lr (0 where g = 0)
    expect(Array.from(p)).toEqual([expect.closeTo(0.9, 6), expect.closeTo(-1.9, 6), 3]);
    const w = Float32Array.from([0, 5, -5]);
    clampAround(w, Float32Array.from([0, 1, 1]), 2);
    expect(Array.from(w)).toEqual([0, 3, -1]);
  });
});

describeShared('FT-L / FT-M on tiny-llama', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
  });

  it.each([1, 0])('FT-L loss = −mean_j log softmax(logits at the last prompt token)[target_j], from the plain forward (layer %i)', async (layer) => {
    // layer 0: the step graph starts at layer 0's MLP (hidden_in), not at the embeddings
    const ft = new FtMethod(lm, { layer, objective: 'prompt_last' });
    const prompt = 'The capital of France is';
    const ids = lm.tokenizer.encode(prompt);
    const targets = lm.tokenizer.encode(' Rome');
    expect(targets.length).toBeGreaterThan(1); // several ids, all scored at one position
    const V = lm.config.vocabSize;
    const { logits } = await lm.forward([ids]);
    const off = (ids.length - 1) * V;
    const want = -targets.reduce((s, t) => s + argmaxLogprob(logits, off, V, t).logprob, 0) / targets.length;
    expect(await ft.loss(prompt, 'Rome')).toBeCloseTo(want, 4);
  });

  it('FT-M lowers the target loss and moves the argmax onto the target; reset restores the plain model', async () => {
    const ft = new FtMethod(lm, { layer: 1, objective: 'target_new', lr: 5e-3, steps: 40 });
    const prompt = 'The capital of France is';
    const target = 'red';
    const scorer0 = ft.scorer();
    const row = promptTargetRow(scorer0, prompt, target);
    const [pre] = await scorer0.argmaxAndLogprobs([row]);
    expect(pre!.argmax).not.toEqual(row.targetIds);
    const before = await ft.loss(prompt, target);
    const r = await ft.edit(prompt, target);
    expect(r.steps).toBeGreaterThan(0);
    expect(r.losses[0]).toBeCloseTo(before, 4);
    const after = await ft.loss(prompt, target);
    expect(after).toBeLessThan(before / 2);
    const [post] = await ft.scorer().argmaxAndLogprobs([row]);
    expect(post!.argmax).toEqual(row.targetIds);
    // only the one matrix moved
    expect(ft.weight).not.toEqual(ft.base);
    await ft.reset();
    expect(ft.weight).toEqual(ft.base);
    const [again] = await ft.scorer().argmaxAndLogprobs([row]);
    expect(again!.targetLogprobs).toEqual(pre!.targetLogprobs);
  });

  it('the evaluation variant is the plain model with the edited weight (equal logits before any change)', async () => {
    const { editedWeightVariant } = await import('../../src/baselines/edited-weight.js');
    const ft = new FtMethod(lm, { layer: 2, objective: 'target_new' });
    const seqs = [lm.tokenizer.encode('Water is wet'), lm.tokenizer.encode('My dog')];
    const plain = await lm.forward(seqs);
    const same = await lm.forward(seqs, { variant: editedWeightVariant(lm, 2, ft.weight) });
    for (let i = 0; i < plain.logits.length; i += 97) expect(same.logits[i]).toBeCloseTo(plain.logits[i]!, 4);
  });

  it('stops without stepping once the loss is under stopLoss, and keeps the L∞ norm constraint', async () => {
    const lazy = new FtMethod(lm, { layer: 1, objective: 'target_new', stopLoss: 1e9 });
    const r = await lazy.edit('My dog is', 'big');
    expect(r).toEqual({ steps: 0, losses: [expect.any(Number)] });
    expect(lazy.weight).toEqual(lazy.base);
    const boxed = new FtMethod(lm, { layer: 1, objective: 'prompt_last', lr: 1e-2, steps: 5, normConstraint: 1e-3 });
    await boxed.edit('My dog is', 'big');
    await boxed.edit('The sky is', 'green'); // cumulative: the box is around the weight at each edit's start
    let maxDiff = 0;
    for (let i = 0; i < boxed.base.length; i++) maxDiff = Math.max(maxDiff, Math.abs(boxed.weight[i]! - boxed.base[i]!));
    expect(maxDiff).toBeGreaterThan(1e-3 * 0.99);
    expect(maxDiff).toBeLessThanOrEqual(2e-3 + 1e-6);
  });
});
