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

export function conflictEps(m: MemoryEditScores, actRatio: number, margin: number): number {
  let worst = 0;
  let own = m.minScore;
  for (const [id, [a, b]] of m.scores) {
    if (m.own.has(id)) own = Math.min(own, a, b);
    else worst = Math.max(worst, a, b);
  }
  return Math.max(actRatio * m.minScore, Math.min((1 - CAP_SLACK) * own, (1 + margin) * worst));
}
