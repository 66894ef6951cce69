/**
 * Thresholds that respect the edit log (wise.threshold_above_edits, our addition; EasyEdit
 * has no such rule). With one memory per shard, a memory trained before a later edit never
 * saw that edit's prompt as a negative, and its activation score there can pass its ε: the
 * router then sends the later edit to the wrong memory. Every applied edit's prompt is known,
 * so each memory's ε is raised just above its highest score on the prompts of edits it does
 * not hold, and never above the lowest score on its own prompts (a memory must keep
 * answering its own edits):
 *
 *   ε_k = max(act_ratio × min_k, min((1 − 1e-3) × own_k, (1 + margin) × max_{e ∉ k} hi_k(e)))
 *
 * min_k is the memory's threshold score (wise.threshold_on). Each edit is scored twice, as the
 * router meets it: its prompt alone (a generation routes on the prompt) and prompt + target (a
 * teacher-forced evaluation); hi_k(e) is the higher of the two, and own_k = min(min_k, the lowest
 * of both over the memory's own edits), so ε never shuts a memory out of its own prompts. The
 * 1e-3 keeps ε below own_k when the same score is recomputed in another batch and differs in its
 * last bits. Pure: it derives from the state
 * and the log, so a rebuild or a revert recomputes it and nothing extra is stored.
 *
 * wise.threshold_pool adds a floor from held-out text: ε_k ≥ threshold_above_pool × the memory's
 * highest score on a fixed, seeded choice of pool texts (`pool` below). It is not capped at the
 * memory's own score: a memory that answers generic text as strongly as its own prompt is one the
 * router should not trust (a "hub" that would claim other edits' prompts and unrelated queries).
 * With wise.threshold_pool_z = z > 0 the floor is instead mean + z × std of those pool scores
 * (population std): it follows how widely a memory's scores on generic text spread, not only
 * the single highest of them.
 */

export interface MemoryEditScores {
  /** the memory's threshold score (min over its edits) */
  minScore: number;
  /** ids of the edits the memory holds */
  own: ReadonlySet<number>;
  /** per applied edit id: the memory's scores on the prompt alone and on prompt + target */
  scores: ReadonlyMap<number, readonly [number, number]>;
}

/** ε stays this fraction below the memory's own threshold score. */
export const CAP_SLACK = 1e-3;

/** One memory's scores on the threshold-pool texts: max, mean, population std (0 when none). */
export interface PoolStats {
  pool: number;
  poolMean: number;
  poolStd: number;
}

/** The two statistics ε needs: the lowest score on own prompts, the highest on others' (folds). */
export interface ConflictStats extends PoolStats {
  /** min over the memory's own edits' scores (+∞ when none scored) */
  ownLow: number;
  /** max over the other edits' scores (0 when none) */
  worst: number;
}

export const emptyStats = (): ConflictStats => ({ ownLow: Infinity, worst: 0, pool: 0, poolMean: 0, poolStd: 0 });

/** The pool part of ConflictStats from one memory's scores on the pool texts. */
export function poolStats(scores: ArrayLike<number>): PoolStats {
  const n = scores.length;
  if (n === 0) return { pool: 0, poolMean: 0, poolStd: 0 };
  let hi = 0, sum = 0;
  for (let i = 0; i < n; i++) { hi = Math.max(hi, scores[i]!); sum += scores[i]!; }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (scores[i]! - mean) ** 2;
  return { pool: hi, poolMean: mean, poolStd: Math.sqrt(ss / n) };
}

/** The parameters of ε: act_ratio, threshold_above_edits (null = off), threshold_above_pool (null = off). */
export interface EpsRule {
  actRatio: number;
  margin: number | null;
  poolFactor: number | null;
  /** threshold_pool_z (null or 0 = the poolFactor × max rule); used only when poolFactor is not null */
  poolZ?: number | null;
}

/** Folds one edit's two scores into `st` (in place). */
export function addScores(st: ConflictStats, own: boolean, a: number, b: number): void {
  if (own) st.ownLow = Math.min(st.ownLow, a, b);
  else st.worst = Math.max(st.worst, a, b);
}

export function epsFromStats(minScore: number, st: ConflictStats, rule: EpsRule): number {
  let eps = rule.actRatio * minScore;
  if (rule.margin !== null) eps = Math.max(eps, Math.min((1 - CAP_SLACK) * Math.min(minScore, st.ownLow), (1 + rule.margin) * st.worst));
  if (rule.poolFactor !== null) eps = Math.max(eps, rule.poolZ ? st.poolMean + rule.poolZ * st.poolStd : rule.poolFactor * st.pool);
  return eps;
}

export function conflictEps(m: MemoryEditScores, actRatio: number, margin: number, pool?: { high: number; factor: number }): number {
  const st = emptyStats();
  for (const [id, [a, b]] of m.scores) addScores(st, m.own.has(id), a, b);
  if (pool) st.pool = pool.high;
  return epsFromStats(m.minScore, st, { actRatio, margin, poolFactor: pool?.factor ?? null });
}
