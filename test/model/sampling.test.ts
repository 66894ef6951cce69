/**
 * The next-token choice (src/model/sampling.ts) and what acts on the logits before it
 * (src/model/logit-shaping.ts): exact values for the logit arithmetic, and for the truncations
 * the set of tokens a seeded sampler draws and their frequencies against the renormalized
 * probabilities (20000 draws: a frequency is within 0.02 of its probability by far more than 4σ).
 */
import { describe, expect, it } from 'vitest';
import { argmax, sampleToken, type SamplingOptions } from '../../src/model/sampling.js';
import { shapeLogits, shapes } from '../../src/model/logit-shaping.js';
import { Rng } from '../../src/util/rng.js';
import { sortAllSample } from '../../bench/lib/sort-all-sample.js';

/** logits whose softmax at temperature 1 is exactly `probs` */
const logitsOf = (probs: number[]): Float32Array => Float32Array.from(probs.map((p) => Math.log(p)));

function frequencies(row: Float32Array, o: SamplingOptions, n = 20000, seed = 7): number[] {
  const rng = new Rng(seed);
  const f = new Array<number>(row.length).fill(0);
  for (let i = 0; i < n; i++) f[sampleToken(row, o, rng)]! += 1 / n;
  return f;
}

function expectFrequencies(got: number[], want: number[]): void {
  want.forEach((w, i) => {
    if (w === 0) expect(got[i], `token ${i} is never drawn`).toBe(0);
    else expect(Math.abs(got[i]! - w), `token ${i}: ${got[i]} vs ${w}`).toBeLessThan(0.02);
  });
}

describe('logit shaping', () => {
  const row = Float32Array.from([2, -1, 0, 4, -3, 1]);

  it('leaves the row alone (the same array) when nothing applies', () => {
    for (const s of [undefined, {}, { repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, logitBias: new Map() }]) {
      expect(shapes(s)).toBe(false);
      expect(shapeLogits(row, s, [0, 1, 3], [3])).toBe(row);
    }
  });

  it('adds the logit bias', () => {
    const out = shapeLogits(row, { logitBias: new Map([[3, -100], [4, 2.5]]) }, [], []);
    expect(Array.from(out)).toEqual([2, -1, 0, -96, -0.5, 1]);
    expect(Array.from(row)).toEqual([2, -1, 0, 4, -3, 1]); // the model's row is not modified
  });

  it('repetition penalty: positive logits divided, negative multiplied, over prompt and output', () => {
    // context = prompt [0, 1, 2] + generated [3]; token 5 never appeared
    const out = shapeLogits(row, { repetitionPenalty: 2 }, [0, 1, 2, 3], [3]);
    expect(Array.from(out)).toEqual([1, -2, 0, 2, -3, 1]);
  });

  it('frequency and presence penalties count generated tokens only, not the prompt', () => {
    // prompt [0, 0, 5]; generated 3 twice and 4 once
    const out = shapeLogits(row, { frequencyPenalty: 0.5, presencePenalty: 1 }, [0, 0, 5, 3, 4, 3], [3, 4, 3]);
    expect(out[3]).toBeCloseTo(4 - 0.5 * 2 - 1, 6);
    expect(out[4]).toBeCloseTo(-3 - 0.5 - 1, 6);
    for (const t of [0, 1, 2, 5]) expect(out[t]).toBe(row[t]);
    // negative values reward repeats (OpenAI's range is −2..2)
    expect(shapeLogits(row, { presencePenalty: -2 }, [], [1])[1]).toBe(1);
  });

  it('applies bias, then repetition, then frequency and presence (vLLM order)', () => {
    // token 0: logit 2, bias +2 → 4, seen → 4 / 2 = 2, generated once → 2 − 0.5 − 0.25
    const out = shapeLogits(row, { logitBias: new Map([[0, 2]]), repetitionPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25 }, [0], [0]);
    expect(out[0]).toBeCloseTo(1.25, 6);
  });
});

describe('sampleToken', () => {
  it('with a truncation, draws exactly what sorting all tokens draws (it sorts only those above a threshold)', () => {
    const gen = new Rng(42);
    const rows: Float32Array[] = [];
    for (const [V, spread] of [[50, 1], [500, 4], [3000, 12], [3000, 40]] as const) {
      rows.push(Float32Array.from({ length: V }, () => (gen.next() - 0.5) * spread));
      // peaked, with ties and banned tokens
      rows.push(Float32Array.from({ length: V }, (_, i) => (i % 7 === 0 ? 8 : i % 11 === 0 ? -100 : Math.round(gen.next() * 6))));
    }
    rows.push(new Float32Array(8)); // all tied: p = 1 each, so top-p 0.5 is reached exactly at the fourth token
    const settings: SamplingOptions[] = [
      { temperature: 1, topP: 0.5 }, { temperature: 1, topP: 1, topK: 5, minP: 0.04 }, { temperature: 1, topP: 1, topK: 30, minP: 0.04 }, { temperature: 1, topP: 0.9, topK: 300, minP: 0.04 },
      { temperature: 1, topP: 0.9 }, { temperature: 0.7, topP: 0.5 }, { temperature: 1.3, topP: 0.99 },
      { temperature: 1, topP: 1, topK: 1 }, { temperature: 1, topP: 1, topK: 7 }, { temperature: 2, topP: 0.8, topK: 40 },
      { temperature: 1, topP: 1, minP: 0.05 }, { temperature: 0.5, topP: 1, minP: 0.5 }, { temperature: 1, topP: 0.9, topK: 20, minP: 0.1 },
      { temperature: 1, topP: 0.95, topK: 100000 },
    ];
    let checked = 0;
    for (const row of rows) {
      for (const o of settings) {
        for (let seed = 0; seed < 25; seed++) {
          expect(sampleToken(row, o, new Rng(seed)), `V ${row.length} ${JSON.stringify(o)} seed ${seed}`).toBe(sortAllSample(row, o, new Rng(seed)));
          checked++;
        }
      }
    }
    expect(checked).toBe(9 * 14 * 25);
  });

  const probs = [0.1, 0.4, 0.05, 0.3, 0.15];
  const row = logitsOf(probs);

  it('is greedy at temperature 0, whatever the truncation', () => {
    const rng = new Rng(1);
    for (const o of [{ temperature: 0, topP: 1 }, { temperature: 0, topP: 0.1, topK: 3, minP: 0.9 }]) expect(sampleToken(row, o, rng)).toBe(1);
    expect(argmax(row)).toBe(1);
  });

  it('draws in proportion to the probabilities with no truncation', () => {
    expectFrequencies(frequencies(row, { temperature: 1, topP: 1 }), probs);
  });

  it('top-k keeps the k most likely, renormalized; k = 1 is greedy at any temperature', () => {
    expectFrequencies(frequencies(row, { temperature: 1, topP: 1, topK: 2 }), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0]);
    expect(new Set(frequencies(row, { temperature: 2, topP: 1, topK: 1 }, 500).flatMap((f, i) => (f > 0 ? [i] : [])))).toEqual(new Set([1]));
    // k beyond the vocabulary = all
    expectFrequencies(frequencies(row, { temperature: 1, topP: 1, topK: 99 }), probs);
  });

  it('min-p drops tokens below min_p × the top probability', () => {
    // floor 0.5 × 0.4 = 0.2: tokens 1 (0.4) and 3 (0.3) stay
    expectFrequencies(frequencies(row, { temperature: 1, topP: 1, minP: 0.5 }), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0]);
    // floor 0.2 × 0.4 = 0.08: token 0 (0.1) stays, token 2 (0.05) goes
    expectFrequencies(frequencies(row, { temperature: 1, topP: 1, minP: 0.2 }), [0.1 / 0.95, 0.4 / 0.95, 0, 0.3 / 0.95, 0.15 / 0.95]);
  });

  it('top-p acts on the distribution that top-k left, renormalized', () => {
    // after top-k 2: 0.571 and 0.429; top-p 0.5 keeps the first alone (on the full distribution 0.4 < 0.5 would keep two)
    expectFrequencies(frequencies(row, { temperature: 1, topP: 0.5, topK: 2 }), [0, 1, 0, 0, 0]);
    expectFrequencies(frequencies(row, { temperature: 1, topP: 0.5 }), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0]);
  });

  it('applies the temperature before min-p', () => {
    // at T = 0.5 the probabilities are ∝ p²: 0.16, 0.09, 0.0225, … over 0.285; min-p 0.5 → floor 0.08 / 0.285 keeps 1 and 3
    const sq = probs.map((p) => p * p);
    const z = sq.reduce((a, b) => a + b, 0);
    expect(sq[3]! / z).toBeGreaterThan((0.5 * sq[1]!) / z);
    expect(sq[4]! / z).toBeLessThan((0.5 * sq[1]!) / z);
    expectFrequencies(frequencies(row, { temperature: 0.5, topP: 1, minP: 0.5 }), [0, 0.16 / 0.25, 0, 0.09 / 0.25, 0]);
  });

  it('never draws a banned token (bias −100), and the draws are reproducible from the seed', () => {
    const banned = shapeLogits(row, { logitBias: new Map([[1, -100]]) }, [], []);
    const f = frequencies(banned, { temperature: 1, topP: 1 });
    expect(f[1]).toBe(0);
    expectFrequencies(f, [0.1 / 0.6, 0, 0.05 / 0.6, 0.3 / 0.6, 0.15 / 0.6]);
    expect(frequencies(row, { temperature: 1, topP: 0.9, topK: 4 }, 200, 3)).toEqual(frequencies(row, { temperature: 1, topP: 0.9, topK: 4 }, 200, 3));
  });
});
