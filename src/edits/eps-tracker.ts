/**
 * wise.threshold_above_edits kept up to date edit by edit: each memory's ε depends on its
 * scores on every applied edit (router/conflicts.ts), which is O(memories × edits) to fold from
 * scratch, so every state change (one per edit) would cost O(n²) at n one-edit memories.
 * The folded statistics are kept per delta array (a memory's delta never changes in place:
 * a changed memory is a new array), with how many applied edits they cover; a new state
 * then only scores and folds the edits applied since. Applied edit ids only grow, so the
 * covered edits are exactly the live ids ≤ the last folded one; when an edit among them
 * was reverted that count drops, and the memory is folded again from scratch.
 *
 * With wise.threshold_pool each memory is also scored once on the fixed pool texts (the highest
 * score, mean and std are kept with its folded statistics; a refold keeps them). When the routing statistic is
 * not the one training used (wise.route_topk / route_normalize), the training's minScore is on
 * another scale, so the memory's lowest routing score on its own edits stands in for it.
 */
import { addScores, emptyStats, epsFromStats, type ConflictStats, type EpsRule } from '../router/conflicts.js';
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

export interface EpsOptions {
  /** take the lowest routing score on the memory's own edits as its minScore */
  ownAsMin?: boolean;
  /** wise.threshold_pool's texts (empty = off) */
  poolTexts?: readonly string[];
}

export class EpsTracker {
  private readonly folded = new WeakMap<Float32Array, Folded>();

  constructor(private readonly scores: EditScores, private readonly opts: EpsOptions = {}) {}

  /** ε per memory id, given the applied edits `live` (ids ascending, as the log adds them). */
  async eps(memories: readonly EpsMemory[], live: ReadonlyMap<number, EditText>, rule: EpsRule): Promise<Map<string, number>> {
    const poolTexts = this.opts.poolTexts ?? [];
    const unseen = poolTexts.length > 0 ? memories.filter((m) => !this.folded.has(m.delta)) : [];
    const pools = await this.scores.textStats(unseen.map((m) => m.delta), poolTexts);
    unseen.forEach((m, i) => this.folded.set(m.delta, { stats: { ...emptyStats(), ...pools[i]! }, count: 0, lastId: -1 }));
    const work = memories.map((m) => {
      let f = this.folded.get(m.delta);
      const fresh: number[] = [];
      let covered = 0;
      for (const id of live.keys()) {
        if (f && id <= f.lastId) covered++;
        else fresh.push(id);
      }
      if (!f || covered !== f.count) {
        const keep = f ? { pool: f.stats.pool, poolMean: f.stats.poolMean, poolStd: f.stats.poolStd } : {};
        f = { stats: { ...emptyStats(), ...keep }, count: 0, lastId: -1 }; // an edit it covered was reverted: refold
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
      const min = this.opts.ownAsMin && Number.isFinite(f.stats.ownLow) ? f.stats.ownLow : m.minScore;
      out.set(m.id, epsFromStats(min, f.stats, rule));
    });
    return out;
  }
}
