/**
 * The shard schedule and merge plan (pure): when the active side memory is saved as a shard
 * (every `save_freq` edits) and when saved shards are merged (every `merge_freq` edits),
 * and which memories the router sees.
 *
 * WISE-Merge (EasyEdit §1.8): the first merge TIES-merges the pending shards with weight
 * w/n each; later merges combine the existing merged delta (weight 0.6) with the new shards
 * (0.4/n each). One merged memory exists at a time; its ε is act_ratio × the minimum edit
 * score of every shard in it.
 * WISE-Retrieve: each merge of the pending shards becomes one more retrievable memory.
 * Between merges, saved shards are routable memories of their own, and so is the active one
 * (EasyEdit merges pending shards at the next inference; we keep them separate until their
 * merge point so that every memory keeps its own threshold).
 */

export interface MergeStep {
  /** id of the memory this merge produces */
  id: string;
  /** shards merged in this step, in order */
  shardIds: string[];
  /** the merged memory this step folds in (merge mode), or null */
  previous: string | null;
}

export function shardId(index: number): string {
  return `shard-${index}`;
}

export function mergedId(index: number): string {
  return `merged-${index}`;
}

/** True when the active memory holding `count` edits must be saved as a shard. */
export function isSavePoint(count: number, saveFreq: number): boolean {
  return count > 0 && count % saveFreq === 0;
}

/** The merge to run once `pending` shards await merging, or null. */
export function mergeDue(pending: readonly string[], saveFreq: number, mergeFreq: number): boolean {
  return pending.length > 0 && pending.length * saveFreq >= mergeFreq;
}

/** Merge weights: first merge w/n each; later (merge mode) 0.6 for the previous merged delta and 0.4/n per shard. */
export function mergeWeights(nShards: number, hasPrevious: boolean, w: number): number[] {
  if (!hasPrevious) return new Array<number>(nShards).fill(w / nShards);
  return [0.6, ...new Array<number>(nShards).fill(0.4 / nShards)];
}
