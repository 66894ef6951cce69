/**
 * Fluency (fluency.ts): the n-gram entropy by hand, the text normalization, evaluateSide's use of Scorer.generate
 * (one seed per record, the same before and after the edits), and lmScorer.generate on tiny-llama as ROME's
 * generate_fast samples (top-5, temperature 1, EOS not stopping, to a sequence of maxLength tokens).
 */
import { describe, expect, it, vi } from 'vitest';
import { FLUENCY_GENERATION, fluencyText, ngramEntropy, wordTokens } from '../../src/eval/fluency.js';
import { evaluateSide } from '../../src/eval/evaluate.js';
import type { EvalRecord } from '../../src/eval/datasets.js';
import type { Scorer } from '../../src/eval/scorer.js';
import { lmScorer } from '../../src/eval/scorer-lm.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';

describe('n-gram entropy (compute_n_gram_entropy)', () => {
  it('by hand: "a b a b" has bigrams ab, ba, ab and trigrams aba, bab', () => {
    const h2 = -((2 / 3) * Math.log2(2 / 3) + (1 / 3) * Math.log2(1 / 3));
    expect(ngramEntropy('a b a b')).toBeCloseTo((h2 * (2 / 3) + 1 * (4 / 3)) / 2, 12);
    expect(ngramEntropy('x x x x x x')).toBe(0); // one repeated word: nothing to tell the n-grams apart
    expect(ngramEntropy('one')).toBe(0);
    // all distinct: log2 of the n-gram count
    expect(ngramEntropy('a b c d e')).toBeCloseTo((Math.log2(4) * (2 / 3) + Math.log2(3) * (4 / 3)) / 2, 12);
  });

  it('word tokens split punctuation from words; the text is NFKD with blank lines joined', () => {
    expect(wordTokens("Don't stop... ok_1!")).toEqual(['Don', "'", 't', 'stop', '.', '.', '.', 'ok_1', '!']);
    expect(fluencyText('ﬁne\n\nThen')).toBe('fine Then');
  });
});

describe('evaluateSide with fluency', () => {
  const recs: EvalRecord[] = [
    { id: 'r:0', kind: 'zsre', prompt: 'P zero', target: 't' },
    { id: 'r:1', kind: 'zsre', prompt: 'P one', target: 't' },
  ];
  const scorer = (texts: (seed: number) => string): Scorer & { seeds: number[] } => {
    const seeds: number[] = [];
    return {
      seeds,
      encode: (t) => Array.from(t, (c) => c.charCodeAt(0)),
      argmaxAndLogprobs: async (rows) => rows.map((r) => ({ argmax: r.targetIds.map(() => 0), targetLogprobs: r.targetIds.map(() => -1) })),
      generate: async (prompt, o) => {
        expect(o).toMatchObject(FLUENCY_GENERATION);
        seeds.push(o.seed);
        return `${prompt} ${texts(o.seed)}`;
      },
    };
  };

  it('scores each record\'s sampled text, with a seed per record that the next state reuses; off unless asked', async () => {
    const a = scorer(() => 'a b a b');
    const sides = await evaluateSide(a, recs, { fluency: { ...FLUENCY_GENERATION } });
    expect(sides.map((s) => s.metrics.fluency)).toEqual([ngramEntropy('P zero a b a b'), ngramEntropy('P one a b a b')]);
    const b = scorer(() => 'x');
    await evaluateSide(b, recs, { fluency: { ...FLUENCY_GENERATION } });
    expect(b.seeds).toEqual(a.seeds);
    expect(new Set(a.seeds).size).toBe(2);
    const off = scorer(() => 'x');
    expect((await evaluateSide(off, recs)).every((s) => s.metrics.fluency === undefined)).toBe(true);
    expect(off.seeds).toEqual([]);
    const { generate: _, ...noGen } = scorer(() => 'x');
    expect((await evaluateSide(noGen, recs, { fluency: { ...FLUENCY_GENERATION } })).every((s) => s.metrics.fluency === undefined)).toBe(true);
  });
});

describeShared(
  'lmScorer.generate on tiny-llama',
  () => {
    it('samples top-5 at temperature 1 to maxLength tokens whatever EOS does; the text is the prompt and its continuation; seeded', async () => {
      const lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
      const s = lmScorer(lm);
      const spy = vi.spyOn(lm, 'generate');
      const prompt = 'The capital of France is';
      const promptIds = lm.tokenizer.encodePrompt(prompt);
      const a = await s.generate!(prompt, { maxLength: 40, topK: 5, seed: 7 });
      expect(spy).toHaveBeenCalledTimes(1);
      const [ids, opts] = spy.mock.calls[0]!;
      expect(ids).toEqual(promptIds);
      expect(opts).toMatchObject({ maxTokens: 40 - promptIds.length, temperature: 1, topK: 5, seed: 7, stopIds: [] });
      const out = await spy.mock.results[0]!.value;
      expect(out.ids).toHaveLength(40 - promptIds.length);
      expect(a).toBe(lm.tokenizer.decode([...promptIds, ...out.ids], { skipSpecialTokens: true }));
      expect(a.startsWith(prompt)).toBe(true);
      expect(await s.generate!(prompt, { maxLength: 40, topK: 5, seed: 7 })).toBe(a);
      expect(await s.generate!(prompt, { maxLength: 40, topK: 5, seed: 8 })).not.toBe(a);
    });
  },
  ['fixtures/hf/tiny-llama'],
);
