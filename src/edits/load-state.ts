/**
 * Rebuilds the editor's in-memory state from the store on open (resume after a restart):
 * the active memory from meta 'active', saved shards, pending shards, merged memories and the
 * merge history. Nothing is retrained here; replay happens only on revert or rebuild.
 */
import type { ShardStore, TensorRef } from '../shards/index.js';
import type { MergeStep } from './schedule.js';
import type { EditorState, LiveMemory, LiveShard } from './state.js';

interface ActiveMeta {
  index: number;
  maskSeed: number;
  editIds: number[];
  minScore: number | null;
  /** W′ of the active memory (null while it holds no edit) */
  side: TensorRef | null;
}

export async function loadState(store: ShardStore, base: Float32Array, seedOf: (index: number) => number): Promise<EditorState> {
  const meta = (await store.getMeta('active')) as ActiveMeta | undefined;
  const side = meta?.side ? Float32Array.from(await store.getTensor(meta.side)) : Float32Array.from(base);
  const active = meta
    ? { index: meta.index, maskSeed: meta.maskSeed, side, editIds: meta.editIds, minScore: meta.minScore }
    : { index: 0, maskSeed: seedOf(0), side, editIds: [], minScore: null };
  const shards = new Map<string, LiveShard>();
  for (const r of await store.listShards()) {
    const delta = r.delta ? await store.getTensor(r.delta) : new Float32Array(base.length);
    shards.set(r.id, { id: r.id, index: Number(r.id.split('-')[1]), editIds: r.editIds, maskSeed: r.maskSeed, delta, minScore: r.minScore });
  }
  const merges = ((await store.getMeta('merges')) as MergeStep[] | undefined) ?? [];
  const order = new Map(merges.map((m, i) => [m.id, i]));
  const memories: LiveMemory[] = [];
  for (const r of await store.listMemories()) {
    const delta = r.weights ? await store.getTensor(r.weights) : new Float32Array(base.length);
    memories.push({ id: r.id, shardIds: r.shardIds, delta, minScore: ((r.meta as { minScore?: number | null } | undefined)?.minScore) ?? null });
  }
  memories.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  const edits = await store.listEdits();
  return {
    edits: store.nextEditId,
    applied: edits.filter((e) => e.status === 'active').length,
    active,
    shards,
    pending: ((await store.getMeta('pending')) as string[] | undefined) ?? [],
    memories,
    merges,
  };
}
