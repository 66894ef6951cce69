/**
 * Rebuilding every memory from the edit log (the source of truth): each shard and the active
 * memory are replayed from W over their non-reverted edits inside their own masks, and the
 * merges are recomputed in history order. Used by `wise db check --deep` (every memory must be
 * rebuildable to the same bits) and after restoring a log.
 */
import type { WiseEditor } from './editor.js';
import type { EditorState, LiveMemory, LiveShard } from './state.js';

export async function rebuildState(ed: WiseEditor): Promise<EditorState> {
  const s = ed.state;
  const live = new Set((await ed.store.listEdits()).filter((e) => e.status === 'active').map((e) => e.id));
  const shards = new Map<string, LiveShard>();
  for (const sh of s.shards.values()) {
    const ids = sh.editIds.filter((id) => live.has(id));
    const r = await ed.replay(sh.index, ids);
    shards.set(sh.id, { ...sh, editIds: ids, delta: ed.deltaFrom(r.side), minScore: r.minScore });
  }
  const activeIds = s.active.editIds.filter((id) => live.has(id));
  const a = await ed.replay(s.active.index, activeIds);
  const rebuilt = new Map<string, LiveMemory>();
  for (const step of s.merges) {
    const prev = step.previous ? (rebuilt.get(step.previous) ?? null) : null;
    rebuilt.set(step.id, ed.runMerge(step, shards, prev));
  }
  return {
    ...s,
    shards,
    active: { ...s.active, side: a.side, editIds: activeIds, minScore: a.minScore },
    memories: s.memories.map((m) => rebuilt.get(m.id) ?? m),
  };
}

/** Ids of memories whose stored bits differ from a rebuild (empty = all rebuildable). */
export function diffStates(a: EditorState, b: EditorState): string[] {
  const bad: string[] = [];
  const same = (x: Float32Array, y: Float32Array): boolean => x.length === y.length && Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) === 0;
  for (const [id, sh] of a.shards) {
    const o = b.shards.get(id);
    if (!o || !same(sh.delta, o.delta) || sh.minScore !== o.minScore) bad.push(id);
  }
  a.memories.forEach((m, i) => {
    const o = b.memories[i];
    if (!o || o.id !== m.id || !same(m.delta, o.delta) || m.minScore !== o.minScore) bad.push(m.id);
  });
  if (!same(a.active.side, b.active.side) || a.active.minScore !== b.active.minScore) bad.push('active');
  return bad;
}
