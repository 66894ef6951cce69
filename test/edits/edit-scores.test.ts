/**
 * EditScores (src/edits/edit-scores.ts) scores memories on the applied edits' texts three ways:
 * one run per memory, one stacked run for memories missing few texts (after an edit), and
 * GROUP-stacked runs over text blocks for memories missing many (a reopened store). All three
 * must give the same scores; tiny-llama with random deltas, both routing statistics.
 */
import { beforeAll, expect, it, vi } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { SideMemory } from '../../src/memory/side-memory.js';
import { EditScores, type EditText } from '../../src/edits/edit-scores.js';
import { Rng } from '../../src/util/rng.js';

describeShared('EditScores on tiny-llama', () => {
  let lm: CausalLM;
  let memory: SideMemory;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
    memory = new SideMemory(lm, { layer: 1, margin: { alpha: 0, beta: 0, gamma: 0 }, hparams: { lr: 0, nIter: 0, normConstraint: 0, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 } });
  });
  const deltas = (n: number, seed: number): Float32Array[] => {
    const r = new Rng(seed);
    return Array.from({ length: n }, () => Float32Array.from({ length: memory.size }, () => 0.1 * (r.next() - 0.5)));
  };
  const texts = (n: number): Map<number, EditText> =>
    new Map(Array.from({ length: n }, (_, i) => [i, { prompt: `Fact number ${i} says that the item`, target: ` is ${i % 7 === 0 ? 'red and heavy' : 'blue'}` }] as const));

  for (const stat of [{ topk: 0, normalize: false }, { topk: 3, normalize: true }]) {
    it(`stacked scoring of memories that miss many texts equals one run per memory (topk ${stat.topk}, normalize ${stat.normalize})`, async () => {
      const live = texts(20); // 40 texts per memory, above the few-texts path
      const ds = deltas(19, 7); // 19 memories: one full group of 16 and a padded group of 3
      const scorer = new EditScores(memory, 100, 'mean', stat);
      await scorer.scores(deltas(1, 8)[0]!, live); // computes and caches the 40 texts' activations
      const runs = vi.spyOn(lm.engine, 'run');
      const stacked = await scorer.scoresMany(ds.map((delta) => ({ delta, ids: [...live.keys()] })), live);
      expect(runs.mock.calls.length, 'one stacked run per group of 16 over the one text block').toBe(2);
      runs.mockRestore();
      const single = new EditScores(memory, 100, 'mean', stat);
      for (const [k, d] of ds.entries()) {
        const want = await single.scores(d, live);
        for (const [id, [a, b]] of want) {
          const [x, y] = stacked[k]!.get(id)!;
          expect(Math.abs(x - a), `memory ${k} edit ${id} prompt`).toBeLessThanOrEqual(1e-5 * Math.max(1, a));
          expect(Math.abs(y - b), `memory ${k} edit ${id} prompt + target`).toBeLessThanOrEqual(1e-5 * Math.max(1, b));
        }
      }
    });
  }
});
