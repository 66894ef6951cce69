/**
 * MEMIT and MEMIT-MASS (src/baselines/memit.ts): the default layers, the adjusted keys by hand, the
 * method's validation and batching, and edits on the bundled model (a model that knows facts): the
 * first layer's update moves the last layer's output toward z, and the edits land.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { editWeightName } from '../../src/model/arch.js';
import { adjustedKeys, MemitMethod, memitDefaultLayers } from '../../src/baselines/memit.js';
import { createMethod } from '../../src/eval/methods/index.js';
import { bundledEdits, bundledTrainTexts, reliability as bundledReliability } from '../helpers/bundled-edits.js';
import type { WiseConfig } from '../../src/config/schema.js';
import { Rng } from '../../src/util/rng.js';

describe('MEMIT (pure)', () => {
  it('default layers are EasyEdit llama-7b\'s 4–8 of 32, scaled', () => {
    expect([6, 12, 32].map(memitDefaultLayers)).toEqual([[0, 1], [1, 2, 3], [4, 5, 6, 7, 8]]);
  });

  it('adjustedKeys solves (λC + K Kᵀ) x_j = k_j', () => {
    const ff = 7;
    const rng = new Rng(11);
    const m = Array.from({ length: ff * ff }, () => rng.normal());
    const c = new Float64Array(ff * ff); // Mᵀ M / ff + 0.1 I: a second moment
    for (let i = 0; i < ff; i++) for (let j = 0; j < ff; j++) {
      let s = i === j ? 0.1 : 0;
      for (let k = 0; k < ff; k++) s += (m[k * ff + i]! * m[k * ff + j]!) / ff;
      c[i * ff + j] = s;
    }
    const keys = [0, 1, 2].map(() => Float32Array.from({ length: ff }, () => rng.normal()));
    const xs = adjustedKeys(c, ff, 3, keys);
    for (const [j, x] of xs.entries()) {
      for (let p = 0; p < ff; p++) {
        let s = 0;
        for (let q = 0; q < ff; q++) s += (3 * c[p * ff + q]! + keys.reduce((t, k) => t + k[p]! * k[q]!, 0)) * x[q]!;
        expect(s).toBeCloseTo(keys[j]![p]!, 4);
      }
    }
  });
});

describe('MEMIT on the bundled model', () => {
  let lm: CausalLM;
  let pool: string[];
  const recs = bundledEdits;
  const base = (layer: number): Float32Array => lm.ckpt.weights.get(editWeightName(lm.spec, layer))!.data;
  beforeAll(async () => {
    lm = await CausalLM.load(bundledModelDir());
    pool = bundledTrainTexts(300);
  });

  const reliability = (m: MemitMethod, rs: ReturnType<typeof recs>): Promise<number> => bundledReliability(() => m.scorer(), rs);

  it('MEMIT-MASS holds a chunk until finishEdits, then one batch lands the edits; each layer moves h_L toward z', async () => {
    const m = new MemitMethod(lm, { layers: memitDefaultLayers(lm.config.numLayers), mass: true }, pool);
    expect(m.name).toBe('memit-mass');
    const rs = recs(5);
    const pre = await reliability(m, rs);
    for (const r of rs) await m.applyEdit(r as never);
    expect(m.weights.get(0)).toEqual(base(0)); // nothing applied yet
    await m.finishEdits();
    expect(m.weights.get(0)).not.toEqual(base(0));
    const post = await reliability(m, rs);
    expect(post).toBeGreaterThanOrEqual(0.6);
    expect(post).toBeGreaterThan(pre + 0.3);
    await m.reset();
    expect(await reliability(m, rs)).toBe(pre);

    const r = await m.editBatch(rs);
    expect(r.losses).toHaveLength(5);
    expect(r.residuals).toHaveLength(2);
    expect(r.residuals[1]!).toBeLessThan(0.8 * r.residuals[0]!); // layer 0's update wrote part of z − h_L
  });

  it('sequential MEMIT applies each edit at once; bad layers are refused; registered as memit / memit-mass', async () => {
    const m = new MemitMethod(lm, { layers: [0, 1] }, pool);
    const [r] = recs(1);
    await m.applyEdit(r as never);
    expect(m.weights.get(1)).not.toEqual(base(1));
    expect(() => new MemitMethod(lm, { layers: [lm.config.numLayers - 1] })).toThrow(/within 0\.\./);
    expect(() => new MemitMethod(lm, { layers: [] })).toThrow(/MEMIT layers/);
    const ctx = { lm, config: { layer: 3 } as WiseConfig, pool, newStore: () => { throw new Error('unused'); } } as never;
    expect(createMethod('memit', ctx).settings).toMatchObject({ method: 'memit', layers: [0, 1], mass: false, mom2UpdateWeight: null });
    expect(createMethod('memit-mass', { ...(ctx as object), memit: { layers: [1, 2] } } as never).settings).toMatchObject({ layers: [1, 2], mass: true });
  });
});
