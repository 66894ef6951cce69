/**
 * Thresholds that respect the edit log (wise.threshold_above_edits, our addition; EasyEdit
 * has no such rule). With one memory per shard, a memory trained before a later edit never
 * saw that edit's prompt as a negative, and its activation score there can pass its ε: the
 * router then sends the later edit to the wrong memory. Every applied edit's prompt is known,
 * so each memory's ε is raised just above its highest score on the prompts of edits it does
 * not hold, and never above the lowest score on its own prompts (a memory must keep
 * answering its own edits):
 *
 *   ε_k = max(act_ratio × min_k, min((1 − 1e-3) × min_k, (1 + margin) × max_{e ∉ k} s_k(p_e)))
 *
 * min_k is the memory's threshold score (wise.threshold_on); the 1e-3 keeps ε below it when the
 * same score is recomputed in another batch and differs in its last bits. Pure: it derives from the state
 * and the log, so a rebuild or a revert recomputes it and nothing extra is stored.
 */

export interface MemoryEditScores {
  /** the memory's threshold score (min over its edits) */
  minScore: number;
  /** ids of the edits the memory holds */
  own: ReadonlySet<number>;
  /** the memory's activation score on each applied edit's prompt (edit id → score) */
  scores: ReadonlyMap<number, number>;
}

/** ε stays this fraction below the memory's own threshold score. */
export const CAP_SLACK = 1e-3;

export function conflictEps(m: MemoryEditScores, actRatio: number, margin: number): number {
  let worst = 0;
  for (const [id, s] of m.scores) if (!m.own.has(id) && s > worst) worst = s;
  return Math.max(actRatio * m.minScore, Math.min((1 - CAP_SLACK) * m.minScore, (1 + margin) * worst));
}
