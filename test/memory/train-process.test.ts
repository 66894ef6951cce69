/**
 * Training in a child process (memory/train-process.ts, engine.train_process): the same bits as training
 * in process, no step graph run in the parent, errors with their codes, and a dead child replaced.
 * On the tiny llama fixture (mechanics, not edit quality).
 */
import { beforeAll, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { diffStates } from '../../src/edits/rebuild.js';
import { SideMemory, type SideMemoryOptions } from '../../src/memory/side-memory.js';
import { TrainProcess } from '../../src/memory/train-process.js';
import { shardMask } from '../../src/memory/masks.js';
import { MemoryShardStore, MemoryBacking } from '../../src/shards/index.js';
import { WiseError } from '../../src/util/errors.js';
import type { Engine } from '../../src/engine/index.js';
import { TINY_CFG, TINY_EDITS, TINY_POOL } from '../helpers/tiny-edits.js';

const [POOL, EDITS, CFG] = [TINY_POOL, TINY_EDITS, TINY_CFG];
const SM: SideMemoryOptions = { layer: 1, margin: { alpha: 5, beta: 20, gamma: 10 }, hparams: { lr: 1, nIter: 6, normConstraint: 1, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 } };

/** Records the names of the graphs `engine` runs until the returned function is called. */
function recordRuns(engine: Engine): { names: string[]; stop: () => void } {
  const names: string[] = [];
  const run = engine.run.bind(engine);
  engine.run = (g, feeds, fetches) => {
    names.push(g.name);
    return run(g, feeds, fetches);
  };
  return { names, stop: () => void (engine.run = run) };
}

describeShared('training in a child process (tiny-llama)', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
  });

  it('an editor training in the child reaches the bit-identical state, through saves, a merge and a revert, with no step run in the parent', async () => {
    const states = [];
    for (const trainProcess of [false, true]) {
      const ed = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking(), { blobThreshold: 0 }), config: CFG, pool: POOL, trainProcess });
      const rec = recordRuns(lm.engine);
      try {
        const applied = [];
        for (const e of EDITS) applied.push(await ed.applyEdit(e));
        expect(ed.state.memories.length).toBe(1); // merged at 4 edits
        await ed.revert(1); // inside the merged shard: replays the shard's other edit
        states.push({ state: ed.state, applied: applied.map((a) => [a.steps, a.score, a.loss]) });
      } finally {
        rec.stop();
        await ed.close();
      }
      const steps = rec.names.filter((n) => n.startsWith('wise-step')).length;
      if (trainProcess) {
        expect(steps).toBe(0);
        expect(ed.memory.child?.started).toBe(1);
      } else expect(steps).toBeGreaterThanOrEqual(EDITS.length * (CFG.n_iter + 1));
    }
    const [inProcess, onThread] = states;
    expect(diffStates(inProcess!.state, onThread!.state)).toEqual([]);
    expect(diffStates(onThread!.state, inProcess!.state)).toEqual([]);
    expect(onThread!.applied).toEqual(inProcess!.applied);
  });

  it("the child keeps its sessions within the engine's session budget, least recently used out; an evicted graph is sent again when needed", async () => {
    const sm = new SideMemory(lm, SM);
    const mask = shardMask(3, sm.shape, lm.spec.layer.mlp.down.layout, 0.2);
    const cases = [['{}'], ['{}', 'I think {}']].map((templates) => {
      const b = sm.batch(templates, { prompt: EDITS[2]!.prompt, target: EDITS[2]!.target, irrelevant: POOL[2]! });
      return { b, g: sm.stepGraph(b) };
    });
    expect(cases[0]!.g.name).not.toBe(cases[1]!.g.name); // two step graphs (E 1 and E 2)
    const want = await Promise.all(cases.map(async ({ b }) => {
      const side = Float32Array.from(sm.base);
      return { side, result: await sm.train(side, mask, b) };
    }));
    for (const [budget, held] of [[1, 1], [2 ** 31, 2]] as const) {
      const t = new TrainProcess({ ...lm.engine.options, cacheBudgetBytes: budget }, sm.base);
      try {
        for (const i of [0, 1, 0]) {
          const { b, g } = cases[i]!;
          const side = Float32Array.from(sm.base);
          const r = await t.train(g, await sm.stepFeeds(b), side, mask, sm.shape, b, SM.hparams);
          expect(Buffer.from(side.buffer).equals(Buffer.from(want[i]!.side.buffer)), `budget ${budget}, graph ${i}`).toBe(true);
          expect(r).toEqual(want[i]!.result);
        }
        expect(t.graphsHeld).toBe(held);
        expect(t.started).toBe(1);
      } finally {
        await t.close();
      }
    }
  });

  it('a bad feed fails in the parent with its code and the feed named; no child is forked', async () => {
    const sm = new SideMemory(lm, SM);
    const b = sm.batch(['{}'], { prompt: EDITS[0]!.prompt, target: EDITS[0]!.target, irrelevant: POOL[0]! });
    const feeds = await sm.stepFeeds(b);
    const t = new TrainProcess(lm.engine.options, sm.base);
    const bad = { ...feeds, token_mask: { ...feeds.token_mask!, dims: [feeds.token_mask!.dims[0]!, feeds.token_mask!.dims[1]! + 1] } };
    const err = await t.train(sm.stepGraph(b), bad, Float32Array.from(sm.base), shardMask(1, sm.shape, lm.spec.layer.mlp.down.layout, 0.2), sm.shape, b, SM.hparams).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WiseError);
    expect((err as WiseError).code).toBe('WISE_SHAPE_MISMATCH');
    expect((err as WiseError).message).toContain('token_mask');
    expect(t.started).toBe(0);
    await t.close();
  });

  it('an onnxruntime failure in the child is WISE_ENGINE; a child killed mid-edit (or before it is ready) fails that edit, and the next edit forks a new one with the in-process bits', async () => {
    const sm = new SideMemory(lm, SM);
    const b = sm.batch(['{}', 'I think {}'], { prompt: EDITS[1]!.prompt, target: EDITS[1]!.target, irrelevant: POOL[1]! });
    const feeds = await sm.stepFeeds(b);
    const g = sm.stepGraph(b);
    const mask = shardMask(7, sm.shape, lm.spec.layer.mlp.down.layout, 0.2);
    const want = Float32Array.from(sm.base);
    const wantResult = await sm.train(want, mask, b); // in process
    expect(want).not.toEqual(sm.base);

    const t = new TrainProcess(lm.engine.options, sm.base);
    try {
      // a row index past the rows the step gathers its logits from: onnxruntime rejects it in the child
      const rows = BigInt64Array.from(feeds.rows!.data as BigInt64Array, () => 1_000_000n);
      const side0 = Float32Array.from(sm.base);
      const err = await t.train(g, { ...feeds, rows: { ...feeds.rows!, data: rows } }, side0, mask, sm.shape, b, SM.hparams).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WiseError);
      expect((err as WiseError).code).toBe('WISE_ENGINE');
      expect((err as WiseError).message).toContain('training process');
      expect(side0).toEqual(sm.base); // the caller's W′ is untouched by a failed edit

      // the child survived that failure: the same child trains the real feeds
      const side1 = Float32Array.from(sm.base);
      const r1 = await t.train(g, feeds, side1, mask, sm.shape, b, SM.hparams);
      expect(t.started).toBe(1);
      expect(Buffer.from(side1.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      expect(r1).toEqual(wantResult);

      // killed while an edit trains: that edit fails, the next one gets a new child
      const side2 = Float32Array.from(sm.base);
      const inFlight = t.train(g, feeds, side2, mask, sm.shape, b, { ...SM.hparams, nIter: 100_000 });
      await new Promise((res) => setTimeout(res, 50));
      await t.close();
      const stopped = await inFlight.catch((e: unknown) => e);
      expect(stopped).toBeInstanceOf(WiseError);
      expect((stopped as WiseError).code).toBe('WISE_ENGINE');
      expect((stopped as WiseError).message).toContain('training process stopped');
      expect(side2).toEqual(sm.base);
      const side3 = Float32Array.from(sm.base);
      const r3 = await t.train(g, feeds, side3, mask, sm.shape, b, SM.hparams);
      expect(t.started).toBe(2);
      expect(Buffer.from(side3.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      expect(r3).toEqual(wantResult);

      // stopped before a new child is even ready: that edit fails the same way, nothing left unobserved
      await t.close();
      const early = t.train(g, feeds, Float32Array.from(sm.base), mask, sm.shape, b, SM.hparams);
      expect(t.started).toBe(3);
      await t.close();
      expect(await early.catch((e: unknown) => e)).toMatchObject({ code: 'WISE_ENGINE', message: expect.stringContaining('training process stopped') });
    } finally {
      await t.close();
    }
  });
});
