/**
 * EpsTracker (src/edits/eps-tracker.ts) folds each memory's scores edit by edit; its ε must
 * equal conflictEps over all applied edits computed from scratch, after appends and after a
 * revert, while scoring only what is new.
 */
import { describe, expect, it } from 'vitest';
import { EpsTracker, type EpsMemory } from '../../src/edits/eps-tracker.js';
import type { EditScores, EditText } from '../../src/edits/edit-scores.js';
import { conflictEps } from '../../src/router/conflicts.js';
import { Rng } from '../../src/util/rng.js';

/** Scores as a fixed pseudo-random function of (memory, edit); counts what it is asked. */
function fakeScores(asked: { n: number; pool?: number }): EditScores {
  const memo = new Map<string, [number, number]>();
  const memIds = new WeakMap<Float32Array, number>();
  let next = 0;
  const score = (delta: Float32Array, id: number): [number, number] => {
    if (!memIds.has(delta)) memIds.set(delta, next++);
    const key = `${memIds.get(delta)}:${id}`;
    if (!memo.has(key)) {
      const r = new Rng(memIds.get(delta)! * 1000 + id);
      memo.set(key, [10 * r.next(), 10 * r.next()]);
    }
    return memo.get(key)!;
  };
  return {
    scoresMany: async (items: { delta: Float32Array; ids: readonly number[] }[]) =>
      items.map(({ delta, ids }) => {
        asked.n += ids.length;
        return new Map(ids.map((id) => [id, score(delta, id)] as const));
      }),
    scores: async (delta: Float32Array, edits: ReadonlyMap<number, EditText>) => new Map([...edits.keys()].map((id) => [id, score(delta, id)] as const)),
    // the pool-text high of a memory: its delta's first value, mean half of it, std a tenth (a memory is scored once)
    textStats: async (deltas: readonly Float32Array[]) => {
      asked.pool = (asked.pool ?? 0) + deltas.length;
      return deltas.map((d) => ({ pool: d[0]!, poolMean: d[0]! / 2, poolStd: d[0]! / 10 }));
    },
  } as unknown as EditScores;
}

describe('EpsTracker', () => {
  it('equals conflictEps from scratch after every edit and after a revert, scoring only new edits', async () => {
    const asked = { n: 0 };
    const fake = fakeScores(asked);
    const tracker = new EpsTracker(fake);
    const memories: EpsMemory[] = [];
    const live = new Map<number, EditText>();
    const check = async (): Promise<void> => {
      const got = await tracker.eps(memories, live, { actRatio: 0.8, margin: 0.05, poolFactor: null });
      for (const m of memories) {
        const scores = await fake.scores(m.delta, live);
        expect(got.get(m.id)).toBe(conflictEps({ minScore: m.minScore, own: new Set(m.editIds), scores }, 0.8, 0.05));
      }
    };
    for (let id = 0; id < 12; id++) {
      live.set(id, { prompt: `p${id}`, target: `t${id}` });
      memories.push({ id: `shard-${id}`, delta: new Float32Array(1), minScore: 2 + (id % 5), editIds: [id] });
      const before = asked.n;
      await check();
      // only the new memory (all edits) and the new edit (every older memory) were scored
      if (id > 0) expect(asked.n - before).toBe(live.size + (memories.length - 1));
    }
    live.delete(4); // revert edit 4: its memory goes, every other memory refolds
    memories.splice(4, 1);
    await check();
    live.set(12, { prompt: 'p12', target: 't12' });
    memories.push({ id: 'shard-12', delta: new Float32Array(1), minScore: 3, editIds: [12] });
    await check();
  });

  it('adds the pool floor (each memory scored on the pool once) and takes the own-edit low as minScore when asked', async () => {
    const asked = { n: 0, pool: 0 };
    const fake = fakeScores(asked);
    const tracker = new EpsTracker(fake, { ownAsMin: true, poolTexts: ['x', 'y'] });
    const memories: EpsMemory[] = [];
    const live = new Map<number, EditText>();
    let raisedByPool = 0;
    for (let id = 0; id < 10; id++) {
      live.set(id, { prompt: `p${id}`, target: `t${id}` });
      memories.push({ id: `shard-${id}`, delta: Float32Array.of(id % 3 === 0 ? 30 + id : 1), minScore: 1000, editIds: [id] });
      const got = await tracker.eps(memories, live, { actRatio: 0.8, margin: 0.05, poolFactor: 1.1 });
      expect(asked.pool).toBe(memories.length);
      for (const m of memories) {
        const scores = await fake.scores(m.delta, live);
        const ownLow = Math.min(...m.editIds.flatMap((e) => scores.get(e)!));
        const want = conflictEps({ minScore: ownLow, own: new Set(m.editIds), scores }, 0.8, 0.05, { high: m.delta[0]!, factor: 1.1 });
        expect(got.get(m.id)).toBe(want);
        if (want === 1.1 * m.delta[0]!) raisedByPool++;
      }
    }
    expect(raisedByPool).toBeGreaterThan(0); // the floor decided some ε (scores are below 10, the highs of every third memory 30+)
  });

  it('threshold_pool_z: the floor is mean + z × std of the pool scores, kept across a refold', async () => {
    const asked = { n: 0, pool: 0 };
    const tracker = new EpsTracker(fakeScores(asked), { ownAsMin: true, poolTexts: ['x', 'y'] });
    const memories: EpsMemory[] = [0, 1, 2].map((id) => ({ id: `shard-${id}`, delta: Float32Array.of(40 + id), minScore: 1000, editIds: [id] }));
    const live = new Map<number, EditText>([0, 1, 2].map((id) => [id, { prompt: `p${id}`, target: `t${id}` }]));
    const rule = { actRatio: 0.8, margin: 0.05, poolFactor: 1.1, poolZ: 4 };
    // scores are below 10; mean + 4 std = h/2 + 0.4 h = 0.9 h (not 1.1 h, the max rule)
    for (const m of memories) expect((await tracker.eps(memories, live, rule)).get(m.id)).toBeCloseTo(0.9 * m.delta[0]!, 5);
    live.delete(1); // revert: every memory refolds its edit statistics, but keeps its pool ones (not rescored)
    memories.splice(1, 1);
    const got = await tracker.eps(memories, live, rule);
    for (const m of memories) expect(got.get(m.id)).toBeCloseTo(0.9 * m.delta[0]!, 5);
    expect(asked.pool).toBe(3);
  });
});
