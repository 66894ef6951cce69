/**
 * Reverting an edit: the shard that held it is rebuilt by replaying its remaining edits from
 * W inside the shard's own mask (deterministic), its ε is recomputed from the replayed
 * scores, and every merged memory downstream of that shard is re-merged in history order.
 * All of it is committed in one atomic batch together with the edit's new status.
 */
import { WiseError } from '../util/errors.js';
import { Tx, type EditRecord } from '../shards/index.js';
import type { WiseEditor } from './editor.js';
import type { EditorState, LiveMemory } from './state.js';

export async function revertEdit(ed: WiseEditor, id: number): Promise<EditRecord> {
  if (!Number.isInteger(id) || id < 0) throw new WiseError('WISE_BAD_REQUEST', `edit id must be a non-negative integer, got ${String(id)}`, { field: 'id' });
  const e = await ed.store.getEdit(id);
  if (!e) throw new WiseError('WISE_NOT_FOUND', `edit ${id} does not exist`, { id, field: 'id' });
  if (e.status === 'reverted') throw new WiseError('WISE_BAD_REQUEST', `edit ${id} is already reverted`, { id, field: 'id' });
  const s = ed.state;
  const next: EditorState = { ...s, applied: s.applied - 1 };
  const tx = new Tx().markReverted(id);
  const index = Number((e.shardId ?? 'shard-0').split('-')[1]);
  if (index === s.active.index) {
    const editIds = s.active.editIds.filter((x) => x !== id);
    const r = await ed.replay(index, editIds);
    next.active = { ...s.active, side: r.side, editIds, minScore: r.minScore };
  } else {
    const sh = s.shards.get(e.shardId!);
    if (!sh) throw new WiseError('WISE_NOT_FOUND', `shard ${e.shardId} of edit ${id} is missing`, { id, shard: e.shardId });
    const editIds = sh.editIds.filter((x) => x !== id);
    const r = await ed.replay(index, editIds);
    const rebuilt = { ...sh, editIds, delta: ed.deltaFrom(r.side), minScore: r.minScore };
    const shards = new Map(s.shards).set(sh.id, rebuilt);
    next.shards = shards;
    tx.putShard(await ed.shardRecordOf(rebuilt));
    // Re-merge every step in history order when the shard was merged: in merge mode each merge
    // folds in the previous one (whose record was replaced), so the chain is recomputed from
    // the shards, which are all kept. Merging costs far less than the replay above.
    if (s.merges.some((m) => m.shardIds.includes(sh.id))) {
      const rebuilt = new Map<string, LiveMemory>();
      for (const step of s.merges) {
        const prev = step.previous ? (rebuilt.get(step.previous) ?? null) : null;
        rebuilt.set(step.id, ed.runMerge(step, shards, prev));
      }
      next.memories = s.memories.map((m) => rebuilt.get(m.id) ?? m);
      for (const m of next.memories) tx.putMemory(await ed.memoryRecordOf(m, s.merges.find((x) => x.id === m.id)!));
    }
  }
  await ed.persist(tx, next, id);
  return (await ed.store.getEdit(id))!;
}
