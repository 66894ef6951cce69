/**
 * RoPE frequency scaling (src/graph/rope-scaling.ts) against formulations written out here:
 * - llama3 against Meta's per-frequency loop (llama-models `apply_scaling`), a different shape of
 *   the same rule than HF's tensor `where`s that src/ follows;
 * - yarn against its correction dims computed by hand for Qwen2.5's YaRN block, and the paper's
 *   attention factor;
 * - linear and dynamic against default RoPE.
 */
import { describe, expect, it } from 'vitest';
import { ropeFrequencies, ropeInvFreq, ropeTables, type RopeScaling } from '../../src/graph/index.js';

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));

/** Llama-3.1-8B's config.json: head_dim 128, rope_theta 500000, rope_scaling llama3. */
const LLAMA31: RopeScaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };

/** Meta's reference (llama-models, `apply_scaling`), in float64. */
function metaApplyScaling(freqs: number[], s: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number }): { freqs: number[]; kinds: string[] } {
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const out: number[] = [];
  const kinds: string[] = [];
  for (const freq of freqs) {
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) {
      out.push(freq);
      kinds.push('kept');
    } else if (wavelen > lowWavelen) {
      out.push(freq / s.factor);
      kinds.push('divided');
    } else {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out.push((1 - smooth) * (freq / s.factor) + smooth * freq);
      kinds.push('smoothed');
    }
  }
  return { freqs: out, kinds };
}

describe('RoPE scaling', () => {
  it('default and dynamic (within the context) give the unscaled frequencies, attention factor 1', () => {
    const plain = ropeInvFreq(64, 10000);
    expect(ropeFrequencies(64, 10000, null)).toEqual({ invFreq: plain, attentionFactor: 1 });
    expect(ropeFrequencies(64, 10000, { type: 'dynamic', factor: 4 })).toEqual({ invFreq: plain, attentionFactor: 1 });
  });

  it('linear divides every frequency by the factor: positions 2p at factor 2 give the tables of p', () => {
    const { invFreq, attentionFactor } = ropeFrequencies(32, 10000, { type: 'linear', factor: 4 }, 'float64');
    const plain = ropeInvFreq(32, 10000, 'float64');
    invFreq.forEach((v, i) => expect(v).toBe(plain[i]! / 4));
    expect(attentionFactor).toBe(1);
    const pos = [0, 1, 5, 17, 100, 255];
    const scaled = ropeTables(pos.map((p) => 2 * p), 1, pos.length, 32, 10000, 'float64', 'float64', { type: 'linear', factor: 2 });
    const ref = ropeTables(pos, 1, pos.length, 32, 10000, 'float64', 'float64');
    expect(Array.from(scaled.cos.data as Float64Array)).toEqual(Array.from(ref.cos.data as Float64Array));
    expect(Array.from(scaled.sin.data as Float64Array)).toEqual(Array.from(ref.sin.data as Float64Array));
  });

  it("llama3 equals Meta's per-frequency rule on Llama 3.1's parameters, in all three bands", () => {
    const base = ropeInvFreq(128, 500000, 'float64');
    const meta = metaApplyScaling(base, LLAMA31 as Extract<RopeScaling, { type: 'llama3' }>);
    // the test means something only if every band is exercised
    for (const k of ['kept', 'divided', 'smoothed']) expect(meta.kinds.filter((x) => x === k).length, k).toBeGreaterThan(0);
    const exact = ropeFrequencies(128, 500000, LLAMA31, 'float64');
    exact.invFreq.forEach((v, i) => expect(relDiff(v, meta.freqs[i]!), `i=${i}`).toBeLessThan(1e-14));
    // float32 rounding as HF computes it: within a few float32 ulps of the exact values
    const f32 = ropeFrequencies(128, 500000, LLAMA31, 'hf-float32');
    f32.invFreq.forEach((v, i) => {
      expect(Math.fround(v)).toBe(v);
      expect(relDiff(v, meta.freqs[i]!), `i=${i}`).toBeLessThan(1e-6);
    });
    expect(f32.attentionFactor).toBe(1);
  });

  describe('yarn', () => {
    // Qwen2.5-7B-Instruct's documented YaRN block: {"factor": 4.0, "original_max_position_embeddings": 32768, "type": "yarn"}
    const QWEN: RopeScaling = { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768, betaFast: 32, betaSlow: 1, attentionFactor: null, mscale: null, mscaleAllDim: null, truncate: true };
    const D = 128;
    const THETA = 1e6;
    // correction dim of r rotations over the original context: D·ln(L / (2π r)) / (2 ln θ)
    const corrDim = (r: number): number => (D * Math.log(32768 / (2 * Math.PI * r))) / (2 * Math.log(THETA));

    it('keeps the fast dimensions, interpolates the slow ones, ramps between the truncated correction dims', () => {
      const low = Math.floor(corrDim(32));
      const high = Math.ceil(corrDim(1));
      expect([low, high]).toEqual([23, 40]); // 23.6 → 23, 39.7 → 40
      const plain = ropeInvFreq(D, THETA, 'float64');
      const { invFreq, attentionFactor } = ropeFrequencies(D, THETA, QWEN, 'float64');
      expect(attentionFactor).toBeCloseTo(0.1 * Math.log(4) + 1, 15);
      invFreq.forEach((v, i) => {
        const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
        expect(relDiff(v, plain[i]! * (1 - ramp) + (plain[i]! / 4) * ramp), `i=${i}`).toBeLessThan(1e-14);
        if (i <= low) expect(relDiff(v, plain[i]!)).toBeLessThan(1e-15);
        if (i >= high) expect(relDiff(v, plain[i]! / 4)).toBeLessThan(1e-14);
      });
    });

    it('without truncation the ramp runs between the exact correction dims', () => {
      const plain = ropeInvFreq(D, THETA, 'float64');
      const { invFreq } = ropeFrequencies(D, THETA, { ...QWEN, truncate: false }, 'float64');
      const [low, high] = [corrDim(32), corrDim(1)];
      invFreq.forEach((v, i) => {
        const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
        expect(relDiff(v, plain[i]! * (1 - ramp) + (plain[i]! / 4) * ramp), `i=${i}`).toBeLessThan(1e-14);
      });
    });

    it('attention factor: explicit, or the mscale ratio, or 0.1·ln(factor) + 1; it scales cos and sin', () => {
      expect(ropeFrequencies(D, THETA, { ...QWEN, attentionFactor: 1.5 }).attentionFactor).toBe(1.5);
      const m = (s: number, k: number): number => 0.1 * k * Math.log(s) + 1;
      expect(ropeFrequencies(D, THETA, { ...QWEN, factor: 40, mscale: 0.707, mscaleAllDim: 1 }).attentionFactor).toBeCloseTo(m(40, 0.707) / m(40, 1), 15);
      expect(ropeFrequencies(D, THETA, { ...QWEN, factor: 1 }).attentionFactor).toBe(1);
      const af = 0.1 * Math.log(4) + 1;
      const t = ropeTables([0, 3, 77], 1, 3, D, THETA, 'float64', 'float64', QWEN);
      const c = t.cos.data as Float64Array;
      const s = t.sin.data as Float64Array;
      expect(c[0]).toBeCloseTo(af, 14); // position 0: cos = 1 before scaling
      for (let k = 0; k < c.length; k++) expect(c[k]! ** 2 + s[k]! ** 2).toBeCloseTo(af * af, 12);
    });
  });
});
