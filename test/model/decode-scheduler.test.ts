/**
 * Continuous batching (src/model/decode-scheduler.ts, decode-batch.ts) against Hugging Face's
 * reference tokens on the tiny fixtures: rows submitted while others are decoding join the running
 * batch (their caches padded to a common length) and still reproduce transformers' greedy tokens
 * and step logits; rows beyond maxRows wait for a free slot; a row of another variant runs in a
 * batch of its own beside the first, unless the router sent it to main (it then joins the plain
 * batch); a callback that throws fails its own row only.
 */
import { beforeAll, expect, it } from 'vitest';
import { describeShared, HF_FIXTURES, hfFixtureDir, readSharedJson } from '../helpers/shared.js';
import { CausalLM, type GenerateOpts } from '../../src/model/causal-lm.js';
import { DecodeScheduler } from '../../src/model/decode-scheduler.js';
import { routerVariant } from '../../src/router/router.js';
import { Rng } from '../../src/util/rng.js';
import { SideMemory } from '../../src/memory/side-memory.js';

interface Case { prompt_ids: number[]; greedy_ids: number[]; greedy_step_logits: number[][] }

function maxAbs(a: Float32Array, b: readonly number[]): number {
  let m = 0;
  b.forEach((x, i) => (m = Math.max(m, Math.abs(a[i]! - x))));
  return m;
}

for (const name of HF_FIXTURES) {
  describeShared(`continuous batching on ${name}`, () => {
    let lm: CausalLM;
    let cases: Case[];
    beforeAll(async () => {
      lm = await CausalLM.load(hfFixtureDir(name));
      cases = readSharedJson<{ cases: Case[] }>('fixtures', 'hf', name, 'reference.json').cases;
    });

    /** greedy options that record each step's logits row, and call `at(k)` after the k-th token */
    const recording = (n: number, rows: Float32Array[], at?: (k: number) => void): GenerateOpts => ({
      maxTokens: n,
      stopIds: [],
      onToken: (_id, row) => {
        rows.push(Float32Array.from(row));
        at?.(rows.length);
      },
    });

    it('rows that arrive while others decode join the batch and reproduce the reference greedy tokens and step logits', async () => {
      const s = new DecodeScheduler(lm, 8);
      const logits: Float32Array[][] = cases.map(() => []);
      const later: Promise<unknown>[] = [];
      const loads: { running: number; waiting: number }[] = [];
      // case 2 (28 tokens) starts alone; after its 3rd token, cases 0 and 1 (12, 23 tokens) arrive and join it
      const first = s.generate([cases[2]!.prompt_ids], [recording(8, logits[2]!, (k) => {
        if (k === 3) later.push(s.generate([cases[0]!.prompt_ids, cases[1]!.prompt_ids], [recording(8, logits[0]!), recording(8, logits[1]!)]));
        if (k === 5) loads.push(s.load);
      })]);
      const [r2] = await first;
      const [r0, r1] = (await later[0]) as Awaited<typeof first>;
      expect(loads).toEqual([{ running: 3, waiting: 0 }]); // decoding together
      [r0!, r1!, r2!].forEach((r, i) => {
        const c = cases[[0, 1, 2][i]!]!;
        expect(r.ids).toEqual(c.greedy_ids);
      });
      logits.forEach((rows, i) => rows.forEach((row, k) => expect(maxAbs(row, cases[i]!.greedy_step_logits[k]!), `case ${i} step ${k}`).toBeLessThanOrEqual(1e-4)));
    });

    it('under steady arrivals the batch never empties, yet its cache stays as long as its longest row needs (positions padded for rows that left are dropped)', async () => {
      const s = new DecodeScheduler(lm, 8);
      const budget = 4;
      const order = [2, 0, 1, 2, 0, 1, 2, 0, 1, 2]; // case 2 has the longest prompt (28 tokens)
      const positions: number[] = [];
      const runs: Promise<unknown>[] = [];
      // row i, at its 2nd token, submits row i + 1: rows overlap, so the batch is never empty until the last ends
      const submit = (i: number): void => {
        let k = 0;
        runs[i] = s.generate([cases[order[i]!]!.prompt_ids], [{
          maxTokens: budget, stopIds: [], onToken: () => {
            positions.push(s.cachedPositions);
            if (++k === 2 && i + 1 < order.length) submit(i + 1);
          },
        }]);
      };
      submit(0);
      while (runs.length < order.length) await Promise.all(runs);
      const outs = (await Promise.all(runs)) as { ids: number[] }[][];
      outs.forEach(([r], i) => expect(r!.ids, `row ${i}`).toEqual(cases[order[i]!]!.greedy_ids.slice(0, budget)));
      expect(Math.min(...positions.slice(1, -1))).toBeGreaterThan(0); // one batch ran throughout
      const longest = Math.max(...cases.map((c) => c.prompt_ids.length));
      // without dropping shared padding the cache grows one position per step: ~28 + 2 × 10 here
      expect(Math.max(...positions)).toBeLessThanOrEqual(longest + budget);
    });

    it('at most maxRows rows decode at once; a waiting row takes the first free slot', async () => {
      const s = new DecodeScheduler(lm, 2);
      const seen: { running: number; waiting: number }[] = [];
      const budgets = [2, 8, 5];
      const rs = await s.generate(cases.map((c) => c.prompt_ids), budgets.map((n) => ({ maxTokens: n, stopIds: [], onToken: () => void seen.push(s.load) })));
      rs.forEach((r, i) => expect(r.ids).toEqual(cases[i]!.greedy_ids.slice(0, budgets[i])));
      expect(Math.max(...seen.map((l) => l.running))).toBe(2);
      expect(seen[0]).toEqual({ running: 0, waiting: 1 }); // the first prefill: rows 0 and 1 admitted, row 2 waits
      expect(seen.some((l) => l.waiting === 0 && l.running === 2)).toBe(true); // row 2 took row 0's slot
    });

    it('a row of another variant (a later WISE state) decodes in a batch of its own beside the running one, each on its own model', async () => {
      const layer = lm.config.numLayers - 1;
      const sm = new SideMemory(lm, { layer, margin: { alpha: 1, beta: 1, gamma: 1 }, hparams: { lr: 0, nIter: 0, normConstraint: 1, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 } });
      const rng = new Rng(5);
      const delta = Float32Array.from(sm.base, () => 0.5 * (rng.next() - 0.5));
      const v = routerVariant([{ id: 'm', delta, eps: 0 }], { layer, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout }, sm.shape);
      const alone = await lm.generate(cases[1]!.prompt_ids, { maxTokens: 6, stopIds: [], variant: v });
      const s = new DecodeScheduler(lm, 8);
      const order: string[] = [];
      const a = s.generate([cases[0]!.prompt_ids], [{ maxTokens: 6, stopIds: [], onToken: () => void order.push('plain') }]);
      const b = s.generate([cases[1]!.prompt_ids], [{ maxTokens: 6, stopIds: [], variant: v, onToken: () => void order.push('routed') }]);
      const [[ra], [rb]] = await Promise.all([a, b]);
      expect(order.filter((x) => x === 'plain')).toHaveLength(6);
      expect(order.indexOf('routed')).toBeLessThan(order.lastIndexOf('plain')); // its own batch, stepped beside the running one
      expect(ra!.ids).toEqual(cases[0]!.greedy_ids.slice(0, 6));
      expect(rb!.ids).toEqual(alone.ids);
      expect(Number((rb!.prefill.route!.data as BigInt64Array)[0])).toBe(1); // on the memory (ε 0)
      expect(rb!.ids).not.toEqual(cases[1]!.greedy_ids.slice(0, 6)); // which changes the answer
    });

    it('a row the router sends to main decodes in the plain batch, whatever its variant; a row on a memory in its own', async () => {
      const layer = lm.config.numLayers - 1;
      const sm = new SideMemory(lm, { layer, margin: { alpha: 1, beta: 1, gamma: 1 }, hparams: { lr: 0, nIter: 0, normConstraint: 1, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 } });
      const rng = new Rng(9);
      const delta = Float32Array.from(sm.base, () => 0.5 * (rng.next() - 0.5));
      const opts = { layer, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout };
      const toMain = routerVariant([{ id: 'm', delta, eps: 1e30 }], opts, sm.shape);
      const toSide = routerVariant([{ id: 'm', delta, eps: 0 }], opts, sm.shape);
      const sideAlone = await lm.generate(cases[2]!.prompt_ids, { maxTokens: 6, stopIds: [], variant: toSide });
      const s = new DecodeScheduler(lm, 8);
      const counts: number[] = [];
      const logits: Float32Array[] = [];
      // the plain row starts; after its 2nd token a main-routed row and a side-routed row arrive
      let later: Promise<unknown> | undefined;
      const a = s.generate([cases[0]!.prompt_ids], [{ maxTokens: 8, stopIds: [], onToken: () => {
        counts.push(s.batchCount);
        if (counts.length === 2) later = Promise.all([
          s.generate([cases[1]!.prompt_ids], [recording(6, logits, () => counts.push(-s.batchCount))].map((o) => ({ ...o, variant: toMain }))),
          s.generate([cases[2]!.prompt_ids], [{ maxTokens: 6, stopIds: [], variant: toSide }]),
        ]);
      } }]);
      const [ra] = await a;
      const [[rb], [rc]] = (await later) as [Awaited<typeof a>, Awaited<typeof a>];
      expect(ra!.ids).toEqual(cases[0]!.greedy_ids.slice(0, 8));
      expect(Number((rb!.prefill.route!.data as BigInt64Array)[0])).toBe(0);
      expect(rb!.ids).toEqual(cases[1]!.greedy_ids.slice(0, 6)); // the plain model's tokens and logits
      logits.forEach((row, k) => expect(maxAbs(row, cases[1]!.greedy_step_logits[k]!), `step ${k}`).toBeLessThanOrEqual(1e-4));
      expect(Number((rc!.prefill.route!.data as BigInt64Array)[0])).toBe(1);
      expect(rc!.ids).toEqual(sideAlone.ids);
      // while all three decode: two batches (plain + the main-routed row; the side-routed row), not three
      expect(Math.max(...counts.map(Math.abs))).toBe(2);
      expect(counts.slice(2).some((c) => c === 2)).toBe(true);
      expect(s.batchCount).toBe(0);
    });

    it("a callback that throws fails its own row only; the others finish; a bad prompt is refused before anything runs", async () => {
      const s = new DecodeScheduler(lm, 8);
      const boom = new Error('client went away');
      let k = 0;
      // its third token comes in a step shared with the row below (admitted after this one's prefill)
      const bad = s.generate([cases[0]!.prompt_ids], [{ maxTokens: 6, stopIds: [], onToken: () => { if (++k === 3) throw boom; } }]);
      const good = s.generate([cases[1]!.prompt_ids], [{ maxTokens: 6, stopIds: [] }]);
      await expect(bad).rejects.toBe(boom);
      expect((await good)[0]!.ids).toEqual(cases[1]!.greedy_ids.slice(0, 6));
      expect(() => s.generate([[]], [{ maxTokens: 1 }])).toThrow(expect.objectContaining({ code: 'WISE_BAD_REQUEST' }));
      expect(() => s.generate([new Array(lm.contextLength).fill(1)], [{ maxTokens: 1 }])).toThrow(expect.objectContaining({ code: 'WISE_CONTEXT_LENGTH' }));
      expect(s.load).toEqual({ running: 0, waiting: 0 });
    });
  }, ['fixtures/hf/' + name + '/reference.json']);
}
