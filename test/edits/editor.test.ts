/**
 * WISE editor mechanics on the tiny llama fixture (a random model: these tests check
 * routing, schedule, revert, resume and the store, not edit quality — that is
 * test/edits/quality.test.ts on the bundled model).
 */
import { beforeAll, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { thresholdPoolTexts } from '../../src/edits/pool-texts.js';
import { rebuildState, diffStates } from '../../src/edits/rebuild.js';
import { routerVariant } from '../../src/router/router.js';
import { channelFlags } from '../../src/router/support.js';
import { shardMask } from '../../src/memory/masks.js';
import { MemoryShardStore, MemoryBacking } from '../../src/shards/index.js';
import type { WiseConfig } from '../../src/config/schema.js';
import { checkStore } from '../../src/shards/index.js';
import { TINY_CFG, TINY_EDITS, TINY_POOL } from '../helpers/tiny-edits.js';

const [POOL, EDITS, CFG] = [TINY_POOL, TINY_EDITS, TINY_CFG];

async function open(lm: CausalLM, backing = new MemoryBacking(), cfg = CFG): Promise<WiseEditor> {
  return WiseEditor.open({ lm, store: new MemoryShardStore(backing, { blobThreshold: 0 }), config: cfg, pool: POOL });
}

describeShared('WISE editor on tiny-llama', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
  });

  it('routes by threshold: ε above every score → main (base logits); ε = 0 → the memory (W′ logits)', async () => {
    const ed = await open(lm);
    await ed.applyEdit(EDITS[0]);
    const { memories } = ed.variant();
    expect(memories.map((m) => m.id)).toEqual(['active']);
    const seqs = [lm.tokenizer.encode(EDITS[0]!.prompt), lm.tokenizer.encode('Water is wet and cold')];
    const base = await lm.forward(seqs);
    const never = routerVariant(memories.map((m) => ({ ...m, eps: 1e9 })), { layer: 1, maxMeanTokens: 100, layout: ed.memory.lm.spec.layer.mlp.down.layout }, ed.memory.shape);
    const r1 = await lm.forward(seqs, { variant: never });
    expect(Array.from(r1.extra.route!.data as BigInt64Array)).toEqual([0n, 0n]);
    expect(r1.logits).toEqual(base.logits);
    const always = routerVariant(memories.map((m) => ({ ...m, eps: 0 })), { layer: 1, maxMeanTokens: 100, layout: ed.memory.lm.spec.layer.mlp.down.layout }, ed.memory.shape);
    const r2 = await lm.forward(seqs, { variant: always });
    expect(Array.from(r2.extra.route!.data as BigInt64Array)).toEqual([1n, 1n]);
    expect(r2.logits).not.toEqual(base.logits);
    // Per sequence within one batch: a mixed batch routes each row on its own score.
    const s = r2.extra.route_scores!.data as Float32Array;
    const mid = (s[0]! + s[1]!) / 2;
    const mixed = routerVariant(memories.map((m) => ({ ...m, eps: mid })), { layer: 1, maxMeanTokens: 100, layout: ed.memory.lm.spec.layer.mlp.down.layout }, ed.memory.shape);
    const r3 = await lm.forward(seqs, { variant: mixed });
    const routes = Array.from(r3.extra.route!.data as BigInt64Array);
    expect(routes.sort()).toEqual([0n, 1n]);
    await ed.close();
  });

  it('follows save_freq / merge_freq: shards, a TIES merge, an active memory; the store checks clean', async () => {
    const ed = await open(lm);
    for (const e of EDITS) await ed.applyEdit(e);
    expect([...ed.state.shards.keys()]).toEqual(['shard-0', 'shard-1']);
    expect(ed.state.memories.map((m) => m.id)).toEqual(['merged-0']);
    expect(ed.state.pending).toEqual([]);
    expect(ed.state.active.editIds).toEqual([4]);
    expect(ed.variant().memories.map((m) => m.id)).toEqual(['merged-0', 'active']);
    const report = await checkStore(ed.store);
    expect(report.errors).toEqual([]);
    // every memory rebuilds from the log to the same bits
    expect(diffStates(ed.state, await rebuildState(ed))).toEqual([]);
    await ed.close();
  });

  it('mask_structure channel: shards train whole ff channels of their mask, a merge stays on their union, the router scores those channels only', async () => {
    const ed = await open(lm, new MemoryBacking(), { ...CFG, mask_structure: 'channel' });
    for (const e of EDITS) await ed.applyEdit(e);
    const layout = ed.memory.lm.spec.layer.mlp.down.layout;
    const flags = (x: Float32Array): number[] => Array.from(channelFlags(x, ed.memory.shape, layout));
    const ff = ed.memory.ffDim;
    const union = new Array<number>(ff).fill(0);
    for (const sh of ed.state.shards.values()) {
      const maskCh = flags(shardMask(sh.maskSeed, ed.memory.shape, layout, CFG.mask_ratio, 'channel'));
      const used = flags(sh.delta);
      expect(used.some((u) => u === 1)).toBe(true);
      used.forEach((u, j) => expect(u <= maskCh[j]!).toBe(true)); // nothing trained outside the shard's channels
      used.forEach((u, j) => (union[j] = Math.max(union[j]!, u)));
    }
    flags(ed.state.memories[0]!.delta).forEach((u, j) => expect(u <= union[j]!).toBe(true));
    const v = ed.variant();
    expect(v.variant.key.includes('-ch')).toBe(true);
    const full = routerVariant(v.memories, { layer: 1, maxMeanTokens: 100, layout, subset: false }, ed.memory.shape);
    const seqs = EDITS.map((e) => lm.tokenizer.encode(`${e.prompt} ${e.target}`));
    const [a, b] = [await lm.forward(seqs, { variant: v.variant }), await lm.forward(seqs, { variant: full })];
    expect(Array.from(a.extra.route!.data as BigInt64Array)).toEqual(Array.from(b.extra.route!.data as BigInt64Array));
    (a.extra.route_scores!.data as Float32Array).forEach((x, i) => expect(x).toBeCloseTo((b.extra.route_scores!.data as Float32Array)[i]!, 4));
    expect(diffStates(ed.state, await rebuildState(ed))).toEqual([]);
    await ed.close();
  });

  it('reverts an edit inside a merged shard: equal to a rebuild from the log, bit for bit', async () => {
    const ed = await open(lm);
    for (const e of EDITS) await ed.applyEdit(e);
    const before = ed.state.memories[0]!.delta.slice();
    await ed.revert(1);
    expect((await ed.store.getEdit(1))?.status).toBe('reverted');
    expect(ed.state.shards.get('shard-0')!.editIds).toEqual([0]);
    expect(ed.state.memories[0]!.delta).not.toEqual(before);
    expect(diffStates(ed.state, await rebuildState(ed))).toEqual([]);
    await expect(ed.revert(1)).rejects.toMatchObject({ code: 'WISE_BAD_REQUEST' });
    await expect(ed.revert(99)).rejects.toMatchObject({ code: 'WISE_NOT_FOUND' });
    await ed.close();
  });

  it('reverting the latest edit equals a store that never had it: same memories and outputs, bit for bit', async () => {
    const a = await open(lm);
    for (const e of EDITS) await a.applyEdit(e);
    await a.revert(4);
    const b = await open(lm);
    for (const e of EDITS.slice(0, 4)) await b.applyEdit(e);
    expect(diffStates(a.state, b.state)).toEqual([]);
    const probes = [...EDITS.map((e) => e.prompt), 'Water is wet'].map((p) => lm.tokenizer.encode(p));
    const la = await lm.forward(probes, { variant: a.variant().variant });
    const lb = await lm.forward(probes, { variant: b.variant().variant });
    expect(la.logits).toEqual(lb.logits);
    await a.close();
    await b.close();
  });

  it('resumes after a restart with identical results', async () => {
    const straight = await open(lm);
    for (const e of EDITS) await straight.applyEdit(e);
    const backing = new MemoryBacking();
    let ed = await open(lm, backing);
    for (const e of EDITS.slice(0, 3)) await ed.applyEdit(e);
    await ed.close();
    ed = await open(lm, backing);
    expect(ed.state.edits).toBe(3);
    for (const e of EDITS.slice(3)) await ed.applyEdit(e);
    expect(diffStates(ed.state, straight.state)).toEqual([]);
    await ed.close();
    await straight.close();
  });

  it('refuses a store built for another base model, naming both fingerprints', async () => {
    const backing = new MemoryBacking();
    const ed = await open(lm, backing);
    await ed.applyEdit(EDITS[0]);
    await ed.close();
    const other = await CausalLM.load(hfFixtureDir('tiny-qwen2'));
    const err = await open(other, backing).catch((e: unknown) => e as { code: string; message: string });
    expect((err as { code: string }).code).toBe('WISE_STORE_FINGERPRINT');
    expect((err as { message: string }).message).toContain(WiseEditor.fingerprint(lm, 1));
    expect((err as { message: string }).message).toContain(WiseEditor.fingerprint(other, 1));
  });

  it('refuses to reopen an edited store under other training settings, naming them; routing settings may change', async () => {
    const backing = new MemoryBacking();
    const empty = await open(lm, backing, { ...CFG, n_iter: 3 });
    await empty.close(); // no edits yet: the next open's settings are taken instead
    const ed = await open(lm, backing);
    await ed.applyEdit(EDITS[0]);
    await ed.close();
    const err = await open(lm, backing, { ...CFG, mask_ratio: 0.5, n_iter: 9 }).catch((e: unknown) => e as { code: string; message: string; details: { differences: string[] } });
    expect((err as { code: string }).code).toBe('WISE_BAD_CONFIG');
    expect((err as { details: { differences: string[] } }).details.differences).toEqual(['wise.mask_ratio: 0.2 → 0.5', 'wise.n_iter: 8 → 9']);
    const routed = await open(lm, backing, { ...CFG, act_ratio: 0.5, threshold_above_edits: 2 }); // routing only
    expect(routed.state.edits).toBe(1);
    await routed.close();
  });

  it('replay_conflicts: conflicting earlier edits become recorded negatives; the memories still rebuild bit for bit', async () => {
    // A tiny fraction flags every earlier edit outside the active memory as a conflict.
    const cfg: WiseConfig = { ...CFG, save_freq: 1, merge_freq: 4, replay_conflicts: 1e-9 };
    const ed = await open(lm, new MemoryBacking(), cfg);
    for (const e of EDITS) await ed.applyEdit(e);
    expect((await ed.store.getEdit(0))!.irrelevantSampleIds.filter((r) => r.startsWith('conflict:'))).toEqual([]);
    expect((await ed.store.getEdit(3))!.irrelevantSampleIds.filter((r) => r.startsWith('conflict:'))).toEqual(['conflict:0', 'conflict:1', 'conflict:2']);
    expect(diffStates(ed.state, await rebuildState(ed))).toEqual([]);
    await ed.close();
  });

  for (const dtype of ['float32', 'int8'] as const) it(`threshold_above_edits (${dtype} scores): each ε clears the memory score on the other edits (the router agrees), and a revert recomputes it`, async () => {
    const cfg: WiseConfig = { ...CFG, save_freq: 1, merge_freq: 100, threshold_above_edits: 0.1, route_score_dtype: dtype };
    const ed = await open(lm, new MemoryBacking(), cfg);
    for (const e of EDITS.slice(0, 4)) await ed.applyEdit(e);
    const check = async (live: number[]) => {
      const { memories } = ed.variant();
      const always = routerVariant(memories.map((m) => ({ ...m, eps: 0 })), { layer: 1, maxMeanTokens: 100, layout: ed.memory.lm.spec.layer.mlp.down.layout, scoreDtype: dtype }, ed.memory.shape);
      // each edit as the router meets it: the prompt alone, and prompt + target
      const seqs = live.flatMap((i) => [lm.tokenizer.encode(EDITS[i]!.prompt), [...lm.tokenizer.encode(EDITS[i]!.prompt), ...lm.tokenizer.encode(' ' + EDITS[i]!.target)]]);
      const r = await lm.forward(seqs, { variant: always });
      const s = r.extra.route_scores!.data as Float32Array;
      const M = r.extra.route_scores!.dims[1]!;
      memories.forEach((m, k) => {
        const sh = ed.state.shards.get(m.id)!;
        let worst = 0;
        let ownLow = sh.minScore!;
        live.forEach((e, j) => {
          const [a, b] = [s[2 * j * M + k]!, s[(2 * j + 1) * M + k]!];
          if (sh.editIds.includes(e)) ownLow = Math.min(ownLow, a, b);
          else worst = Math.max(worst, a, b);
        });
        const want = Math.max(cfg.act_ratio * sh.minScore!, Math.min(0.999 * ownLow, 1.1 * worst));
        expect(m.eps).toBeCloseTo(want, 2);
        // thresholds are scored as the router scores (edit-scores.ts, in int8 too), so they agree closely
        // and an ε capped just below the memory's own score still lets its own prompts through
        expect(Math.abs(m.eps / want - 1)).toBeLessThan(1e-5);
        if (ownLow >= cfg.act_ratio * sh.minScore!) live.forEach((e, j) => sh.editIds.includes(e) && expect(s[2 * j * M + k]!).toBeGreaterThanOrEqual(m.eps));
      });
      return memories.map((m) => m.eps);
    };
    expect(await check([0, 1, 2, 3])).toHaveLength(4);
    await ed.revert(2);
    expect(await check([0, 1, 3])).toHaveLength(3);
    await ed.close();
  });

  it('route_topk / route_normalize / threshold_pool: ε on the routing statistic (own low as min) and above each memory score on the pool texts; a rebuild agrees', async () => {
    const stat = { topk: 2, normalize: true };
    const cfg: WiseConfig = { ...CFG, save_freq: 1, merge_freq: 100, threshold_above_edits: 0.1, route_topk: 2, route_normalize: true, threshold_pool: 2, threshold_above_pool: 1.5 };
    const ed = await open(lm, new MemoryBacking(), cfg);
    for (const e of EDITS.slice(0, 4)) await ed.applyEdit(e);
    const { memories, variant } = ed.variant();
    expect(variant.key).toContain('-top2-norm');
    const poolTexts = thresholdPoolTexts(POOL, 2, cfg.seed);
    expect(poolTexts).toHaveLength(2);
    const always = routerVariant(memories.map((m) => ({ ...m, eps: 0 })), { layer: 1, maxMeanTokens: 100, layout: ed.memory.lm.spec.layer.mlp.down.layout, stat }, ed.memory.shape);
    const live = [0, 1, 2, 3];
    const seqs = [
      ...live.flatMap((i) => [lm.tokenizer.encode(EDITS[i]!.prompt), [...lm.tokenizer.encode(EDITS[i]!.prompt), ...lm.tokenizer.encode(' ' + EDITS[i]!.target)]]),
      ...poolTexts.map((t) => lm.tokenizer.encode(t)),
    ];
    const r = await lm.forward(seqs, { variant: always });
    const s = r.extra.route_scores!.data as Float32Array;
    const M = r.extra.route_scores!.dims[1]!;
    let poolDecided = 0;
    memories.forEach((m, k) => {
      const sh = ed.state.shards.get(m.id)!;
      let worst = 0;
      let ownLow = Infinity;
      live.forEach((e, j) => {
        const [a, b] = [s[2 * j * M + k]!, s[(2 * j + 1) * M + k]!];
        if (sh.editIds.includes(e)) ownLow = Math.min(ownLow, a, b);
        else worst = Math.max(worst, a, b);
      });
      const poolHigh = Math.max(...poolTexts.map((_, p) => s[(2 * live.length + p) * M + k]!));
      const want = Math.max(cfg.act_ratio * ownLow, Math.min(0.999 * ownLow, 1.1 * worst), 1.5 * poolHigh);
      expect(m.eps).toBeCloseTo(want, 4);
      if (want === 1.5 * poolHigh) poolDecided++;
    });
    expect(poolDecided).toBeGreaterThan(0); // the pool floor is exercised (factor 1.5 on a tiny random model)
    expect(diffStates(ed.state, await rebuildState(ed))).toEqual([]);
    await ed.close();
  });

  it('project_rank: U is kept in the store; a reopen rebuilds bit for bit, another rank is refused', async () => {
    const cfg: WiseConfig = { ...CFG, save_freq: 1, merge_freq: 100, project_rank: 2 };
    const backing = new MemoryBacking();
    let ed = await open(lm, backing, cfg);
    for (const e of EDITS.slice(0, 2)) await ed.applyEdit(e);
    expect(((await ed.store.getMeta('projection')) as { rank: number }).rank).toBe(2);
    await ed.close();
    ed = await open(lm, backing, cfg);
    expect(diffStates(ed.state, await rebuildState(ed))).toEqual([]);
    await ed.close();
    const err = await open(lm, backing, { ...cfg, project_rank: 3 }).catch((e: unknown) => e as { code: string; message: string });
    expect((err as { code: string }).code).toBe('WISE_BAD_CONFIG');
    expect((err as { message: string }).message).toContain('wise.project_rank: 2 → 3'); // the training-settings guard (settings-guard.ts) names it first
  });
}, ['fixtures/hf/tiny-llama']);
