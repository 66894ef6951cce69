/**
 * wise.threshold_above_edits kept up to date edit by edit: each memory's ε depends on its
 * scores on every applied edit (router/conflicts.ts), which is O(memories × edits) to fold from
 * scratch, so every state change (one per edit) would cost O(n²) at n one-edit memories.
 * The folded statistics are kept per delta array (a memory's delta never changes in place:
 * a changed memory is a new array), with how many applied edits they cover; a new state
 * then only scores and folds the edits applied since. Applied edit ids only grow, so the
 * covered edits are exactly the live ids ≤ the last folded one; when an edit among them
 * was reverted that count drops, and the memory is folded again from scratch.
 */
import { addScores, emptyStats, epsFromStats, type ConflictStats } from '../router/conflicts.js';
import type { EditScores, EditText } from './edit-scores.js';

interface Folded {
  stats: ConflictStats;
  /** live edits covered, and the highest id among them */
  count: number;
  lastId: number;
}

export interface EpsMemory {
  id: string;
  delta: Float32Array;
  minScore: number;
  editIds: readonly number[];
}

export class EpsTracker {
  private readonly folded = new WeakMap<Float32Array, Folded>();

  constructor(private readonly scores: EditScores) {}

  /** ε per memory id, given the applied edits `live` (ids ascending, as the log adds them). */
  async eps(memories: readonly EpsMemory[], live: ReadonlyMap<number, EditText>, actRatio: number, margin: number): Promise<Map<string, number>> {
    const work = memories.map((m) => {
      let f = this.folded.get(m.delta);
      const fresh: number[] = [];
      let covered = 0;
      for (const id of live.keys()) {
        if (f && id <= f.lastId) covered++;
        else fresh.push(id);
      }
      if (!f || covered !== f.count) {
        f = { stats: emptyStats(), count: 0, lastId: -1 }; // an edit it covered was reverted: refold
        fresh.splice(0, fresh.length, ...live.keys());
      }
      this.folded.set(m.delta, f);
      return { m, f, fresh };
    });
    const scored = await this.scores.scoresMany(work.map((w) => ({ delta: w.m.delta, ids: w.fresh })), live);
    const out = new Map<string, number>();
    work.forEach(({ m, f, fresh }, i) => {
      const own = new Set(m.editIds);
      for (const id of fresh) {
        const [a, b] = scored[i]!.get(id)!;
        addScores(f.stats, own.has(id), a, b);
        f.lastId = Math.max(f.lastId, id);
      }
      f.count += fresh.length;
      out.set(m.id, epsFromStats(m.minScore, f.stats, actRatio, margin));
    });
    return out;
  }
}
