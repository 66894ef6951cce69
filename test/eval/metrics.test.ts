/**
 * Metric math against hand-computed values, the EasyEdit row construction (prompt + " " + target),
 * left-padded batches, and per-record evaluation for each dataset kind.
 */
import { describe, expect, it } from 'vitest';
import type { EvalRecord } from '../../src/eval/datasets.js';
import { combine, evaluateSide } from '../../src/eval/evaluate.js';
import { allTokensCorrect, headline, localityAgreement, oodAccuracy, perplexity, summarize, tokenAccuracy } from '../../src/eval/metrics.js';
import { leftPad, makeScorer, promptTargetRow, readLeftPadded, rowBatches, wholeTextRow, type LeftPadded, type ScoreRow } from '../../src/eval/scorer.js';
import { FakeEditMethod, WordTokenizer } from './fakes.js';

describe('metric math (hand-computed)', () => {
  it('token accuracy and all-tokens-correct', () => {
    expect(tokenAccuracy([5, 6, 7], [5, 0, 7])).toBeCloseTo(2 / 3, 12);
    expect(allTokensCorrect([5, 6, 7], [5, 0, 7])).toBe(0);
    expect(tokenAccuracy([1, 2], [1, 2])).toBe(1);
    expect(allTokensCorrect([1, 2], [1, 2])).toBe(1);
    expect(tokenAccuracy([9], [4])).toBe(0);
    expect(tokenAccuracy([], [])).toBeNaN(); // numpy mean of nothing; skipped by means
    expect(() => tokenAccuracy([1], [1, 2])).toThrow(expect.objectContaining({ code: 'WISE_INTERNAL' }));
  });

  it('locality = agreement of post ids with pre ids, not correctness', () => {
    expect(localityAgreement([3, 4, 5, 6], [3, 4, 0, 6])).toBe(0.75);
    expect(localityAgreement([0, 0], [0, 0])).toBe(1);
  });

  it('perplexity = exp(mean target NLL), optional clip at 100', () => {
    // NLL = (ln 2 + ln 4)/2 = ln 8 / 2 → ppl = sqrt(8)
    expect(perplexity([Math.log(0.5), Math.log(0.25)])).toBeCloseTo(2.8284271247, 9);
    expect(perplexity([0, 0, 0])).toBe(1);
    expect(perplexity([Math.log(1e-5)])).toBeCloseTo(1e5, 3);
    expect(perplexity([Math.log(1e-5)], 100)).toBe(100);
    expect(perplexity([Math.log(0.5)], 100)).toBeCloseTo(2, 12);
  });

  it('OOD accuracy = fraction of tokens with p > 0.8 (strict)', () => {
    expect(oodAccuracy([Math.log(0.9), Math.log(0.8), Math.log(0.5), Math.log(0.81)])).toBe(0.5);
    expect(oodAccuracy([Math.log(0.95)], 0.9)).toBe(1);
  });
});

describe('EasyEdit row construction: tokenize(prompt + " " + target), split at len(tokenize(prompt))', () => {
  it('a GPT-2-like tokenizer scores " Paris" (leading-space token), not "Paris"', () => {
    const tok = new WordTokenizer();
    const row = promptTargetRow(tok, 'The capital of France is', 'Paris');
    expect(row.promptIds).toEqual(tok.encode('The capital of France is'));
    expect(row.targetIds).toEqual([tok.id(' Paris')]);
    expect(row.targetIds).not.toContain(tok.id('Paris'));
  });

  it('a Llama-like tokenizer keeps BOS in the prompt; multi-token targets', () => {
    const tok = new WordTokenizer(1);
    const row = promptTargetRow(tok, 'He lives in', 'New York City');
    expect(row.promptIds[0]).toBe(1);
    expect(row.promptIds).toHaveLength(4);
    expect(row.targetIds).toEqual([tok.id(' New'), tok.id(' York'), tok.id(' City')]);
  });

  it('ood rows score every token after the first', () => {
    const tok = new WordTokenizer(1);
    expect(wholeTextRow(tok, 'a b c')).toEqual({ promptIds: [1], targetIds: [tok.id('a'), tok.id(' b'), tok.id(' c')] });
  });
});

describe('left-padded batches', () => {
  // V = 4. Row A: prompt [1, 2], target [3] (len 3). Row B: prompt [1], target [2, 3, 0] (len 4). Width 4, A has 1 pad.
  const rows: ScoreRow[] = [
    { promptIds: [1, 2], targetIds: [3] },
    { promptIds: [1], targetIds: [2, 3, 0] },
  ];
  const V = 4;
  const decoy = [9, 0, 0, 0]; // argmax 0: reading a wrong position shows up
  const logitsAt: Record<string, number[]> = {
    // A: its target is predicted at padded position pad + p − 1 = 1 + 2 − 1 = 2
    'A2': [0, 1, 3, 2],
    // B: positions 0, 1, 2
    'B0': [0, 0, 5, 0],
    'B1': [0, 0, 0, 5],
    'B2': [0, 2, 1, 0],
  };
  const logits = new Float32Array(2 * 4 * V);
  for (let b = 0; b < 2; b++)
    for (let l = 0; l < 4; l++) (logitsAt[`${'AB'[b]}${l}`] ?? decoy).forEach((v, k) => (logits[(b * 4 + l) * V + k] = v));

  it('pads on the left with a zero mask', () => {
    const batch = leftPad(rows, 0);
    expect(batch).toEqual({ batch: 2, width: 4, ids: [0, 1, 2, 3, 1, 2, 3, 0], mask: [0, 1, 1, 1, 1, 1, 1, 1], pads: [1, 0] });
  });

  it('reads argmax and target log-probs at [p−1, n−1) of each row', () => {
    const out = readLeftPadded(logits, V, rows, leftPad(rows, 0));
    expect(out[0]!.argmax).toEqual([2]);
    // log softmax([0,1,3,2])[3] = 2 − ln(1 + e + e³ + e²) = 2 − 3.4401897
    expect(out[0]!.targetLogprobs[0]).toBeCloseTo(-1.4401897, 6);
    expect(out[1]!.argmax).toEqual([2, 3, 1]);
    expect(tokenAccuracy(out[1]!.argmax, rows[1]!.targetIds)).toBeCloseTo(2 / 3, 12);
    // log softmax([0,0,5,0])[2] = 5 − ln(3 + e⁵) = 5 − ln 151.41316 = −0.0200123
    expect(out[1]!.targetLogprobs[0]).toBeCloseTo(-0.0200123, 6);
  });

  it('rejects logits of the wrong size; ties resolve to the lowest id', () => {
    expect(() => readLeftPadded(new Float32Array(3), V, rows, leftPad(rows, 0))).toThrow(expect.objectContaining({ code: 'WISE_SHAPE_MISMATCH' }));
    const one: ScoreRow[] = [{ promptIds: [1], targetIds: [1] }];
    expect(readLeftPadded([1, 1, 1, 1, 0, 0, 0, 0], V, one, leftPad(one, 0))[0]!.argmax).toEqual([0]);
  });

  it('makeScorer: batches of maxBatch rows, left padded, same outputs as one big batch', async () => {
    // A "next id = current id + 1" model that sees the padded batch (pads produce the decoy).
    const seen: LeftPadded[] = [];
    const forward = async (b: LeftPadded, seqs: number[][]): Promise<Float32Array> => {
      seen.push(b);
      expect(seqs).toEqual(rows.slice(seen.length - 1, seen.length).map((r) => [...r.promptIds, ...r.targetIds]));
      const out = new Float32Array(b.batch * b.width * V);
      b.ids.forEach((id, i) => (b.mask[i] ? (out[i * V + ((id + 1) % V)] = 5) : (out[i * V] = 9)));
      return out;
    };
    const scorer = makeScorer({ encode: () => [], forward, vocab: V, padId: 0, maxBatch: 1 });
    const out = await scorer.argmaxAndLogprobs(rows);
    expect(seen).toHaveLength(2);
    expect(out.map((o) => o.argmax)).toEqual([[3], [2, 3, 0]]);
    expect(tokenAccuracy(out[1]!.argmax, rows[1]!.targetIds)).toBe(1);
  });

  it('rowBatches: at most maxBatch rows and maxTokens padded tokens per batch, never an empty one', () => {
    const r = (n: number): ScoreRow => ({ promptIds: Array(n - 1).fill(1), targetIds: [2] });
    const lens = [4, 4, 8, 2, 2, 2, 20];
    const widths = (bs: ScoreRow[][]): number[][] => bs.map((b) => b.map((x) => x.promptIds.length + x.targetIds.length));
    expect(widths(rowBatches(lens.map(r), 16))).toEqual([lens]);
    expect(widths(rowBatches(lens.map(r), 2))).toEqual([[4, 4], [8, 2], [2, 2], [20]]);
    // 16 padded tokens: [4,4] = 8, + 8 → 3 × 8 = 24 > 16; [8,2] = 16, + 2 → 24; [2,2] = 4, + 20 → 60; a 20-token row alone (over the cap, still batched)
    const capped = rowBatches(lens.map(r), 16, 16);
    expect(widths(capped)).toEqual([[4, 4], [8, 2], [2, 2], [20]]);
    for (const b of capped.slice(0, 3)) expect(b.length * Math.max(...b.map((x) => x.promptIds.length + 1))).toBeLessThanOrEqual(16);
    expect(rowBatches([], 4, 4)).toEqual([]);
  });
});

describe('evaluateSide / combine / summarize', () => {
  const tok = new WordTokenizer(1);
  const base = { subject: 'S', locality: { prompt: 'nq question: where', answer: 'here now' } };
  const recs: EvalRecord[] = [
    { id: 'z', kind: 'zsre', prompt: 'Who is S?', target: 'T one', rephrase: 'S is who?', portability: [{ prompt: 'P1?', answer: 'x y' }, { prompt: 'P2?', answer: 'z' }], ...base },
    { id: 'h', kind: 'hallucination', prompt: 'About S.', target: 'S is a thing.', ...base },
    { id: 't', kind: 'temporal', prompt: 'S began', target: 'in 2001.', oodRephrase: 'S, founded 2001, grew.', ...base },
  ];

  it('computes each kind\'s metrics; locality ids compared pre vs post', async () => {
    const fake = new FakeEditMethod('fake', tok, { leakAbove: 0 });
    const pre = await evaluateSide(fake.scorer(), recs, { rowsPerCall: 2 });
    // base fake: first target token wrong, the rest right, p = 0.1
    expect(pre[0]!.metrics).toEqual({ rewrite_acc: 0.5, rewrite_acc_all: 0, rephrase_acc: 0.5, rephrase_acc_all: 0, portability: (0.5 + 0) / 2 });
    expect(pre[1]!.metrics).toEqual({ rewrite_ppl: expect.closeTo(10, 9) });
    expect(pre[2]!.metrics).toEqual({ rewrite_acc: 0.5, rewrite_acc_all: 0, ood_acc: 0 });
    expect(pre[0]!.localityIds).toEqual([[0, tok.id(' now')]]);

    await fake.applyEdit(recs[0]!);
    const post = await evaluateSide(fake.scorer(), recs, { pplClip: 5 });
    const r0 = combine('z', pre[0]!, post[0]!);
    expect(r0.post).toMatchObject({ rewrite_acc: 1, rewrite_acc_all: 1, rephrase_acc: 0, locality: 0 });
    expect(r0.pre.locality).toBeUndefined();
    expect(post[1]!.metrics.rewrite_ppl).toBe(5); // clipped (999-argmax leak keeps p = 0.1 → ppl 10)

    const s = summarize([r0, combine('h', pre[1]!, post[1]!), combine('t', pre[2]!, post[2]!)]);
    expect(s.n).toBe(3);
    expect(s.pre.mean.rewrite_acc).toBe(0.5);
    expect(s.pre.count.rewrite_acc).toBe(2);
    expect(s.post.mean.locality).toBe(0);
    expect(s.post.mean.rewrite_ppl).toBe(5);
  });

  it('several locality questions (KnowEdit): ids kept per question; locality is the mean of their agreements', async () => {
    const fake = new FakeEditMethod('fake', tok, { leakAbove: 0 });
    const rec: EvalRecord = { id: 'k', kind: 'knowedit', prompt: 'Who is S?', target: 'T one', locality: { prompt: 'a', answer: 'b c' }, localities: [{ prompt: 'a', answer: 'b c' }, { prompt: 'd', answer: 'e f g' }] };
    const [side] = await evaluateSide(fake.scorer(), [rec]);
    expect(side!.localityIds!.map((ids) => ids.length)).toEqual([2, 3]);
    const pre = { metrics: {}, localityIds: [[1, 2], [3, 4, 5, 6]] };
    // per question 1/2 and 4/4: mean 0.75 (pooled over tokens it would be 5/6)
    expect(combine('k', pre, { metrics: {}, localityIds: [[1, 9], [3, 4, 5, 6]] }).post.locality).toBe(0.75);
    expect(() => combine('k', pre, { metrics: {}, localityIds: [[1, 2]] })).toThrow(/2 locality questions before the edit, 1 after/);
  });

  it('typed questions (KnowEdit): per type first, then the mean of the types, as run_knowedit_llama2.py; kept as <type>_acc', async () => {
    const fake = new FakeEditMethod('fake', tok, { leakAbove: 0 });
    const rec: EvalRecord = {
      id: 'k', kind: 'knowedit', prompt: 'Who is S?', target: 'T one',
      // base fake: the first answer token wrong, the rest right → 'x y' 0.5, 'z' 0, 'u v w' 2/3
      portability: [{ prompt: 'P1?', answer: 'x y', key: 'reasoning' }, { prompt: 'P2?', answer: 'z', key: 'reasoning' }, { prompt: 'P3?', answer: 'u v w', key: 'Subject_Aliasing' }],
      localities: [{ prompt: 'a', answer: 'b c', key: 'Relation_Specificity' }, { prompt: 'd', answer: 'e f g', key: 'Forgetfulness' }, { prompt: 'h', answer: 'i', key: 'Forgetfulness' }],
    };
    const [side] = await evaluateSide(fake.scorer(), [rec]);
    // types 0.25 and 2/3: overall 11/24 (pooled over the three questions it would be 7/18)
    expect(side!.metrics.portability_keys).toEqual({ reasoning_acc: 0.25, Subject_Aliasing_acc: expect.closeTo(2 / 3, 12) });
    expect(side!.metrics.portability).toBeCloseTo(11 / 24, 12);
    expect(side!.localityKeys).toEqual(['Relation_Specificity', 'Forgetfulness', 'Forgetfulness']);
    const pre = { metrics: {}, localityIds: [[1, 2], [3, 4, 5], [6]], localityKeys: side!.localityKeys! };
    const post = { metrics: {}, localityIds: [[1, 9], [3, 4, 5], [0]], localityKeys: side!.localityKeys! };
    const r = combine('k', pre, post);
    // Relation_Specificity 1/2, Forgetfulness (1 + 0)/2
    expect(r.post.locality_keys).toEqual({ Relation_Specificity_acc: 0.5, Forgetfulness_acc: 0.5 });
    const r2 = combine('k', pre, { ...post, localityIds: [[1, 2], [3, 4, 5], [0]] });
    // Relation_Specificity 1, Forgetfulness 0.5: 0.75 by type, 2/3 over the three questions
    expect(r2.post.locality).toBe(0.75);
    // summary per type over the requests that have it; untyped records (ZsRE) keep the plain mean and no map
    const s = summarize([r2, { id: 'z', pre: {}, post: { locality: 0, portability: 0.5 } }, { id: 'w', pre: {}, post: { locality_keys: { Forgetfulness_acc: 0 }, locality: 0 } }]);
    expect(s.post.locality_keys).toEqual({ Relation_Specificity_acc: 1, Forgetfulness_acc: 0.25 });
    expect(s.post.mean.locality).toBe(0.25);
    const [plain] = await evaluateSide(fake.scorer(), [{ ...rec, portability: rec.portability!.map(({ prompt, answer }) => ({ prompt, answer })), localities: undefined }]);
    expect([plain!.metrics.portability, plain!.metrics.portability_keys, plain!.localityKeys]).toEqual([expect.closeTo(7 / 18, 12), undefined, undefined]);
  });

  it('summarize skips NaN; headline = Rel/Gen/Loc/Port and Avg of Rel, Gen, Loc', () => {
    const s = summarize([
      { id: 'a', pre: { rewrite_acc: 0, rephrase_acc: 0 }, post: { rewrite_acc: 1, rephrase_acc: 0.5, locality: 1, portability: 0.2 } },
      { id: 'b', pre: { rewrite_acc: NaN, rephrase_acc: 1 }, post: { rewrite_acc: 0.5, rephrase_acc: 0.5, locality: 0.5, portability: 0.4 } },
    ]);
    expect(s.pre.mean.rewrite_acc).toBe(0);
    expect(s.pre.count.rewrite_acc).toBe(1);
    const h = headline(s.post);
    expect(h).toEqual({ relIsPpl: false, rel: 0.75, gen: 0.5, loc: 0.75, port: expect.closeTo(0.3, 12), avg: expect.closeTo(2 / 3, 12) });
    expect(headline(summarize([{ id: 'h', pre: { rewrite_ppl: 20 }, post: { rewrite_ppl: 2, locality: 1 } }]).post)).toEqual({ relIsPpl: true, rel: 2, loc: 1 });
  });
});
