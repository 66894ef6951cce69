/**
 * The editor's live state: an immutable snapshot (base W is the model's), replaced as a
 * whole after each committed change, so a generation that captured a snapshot finishes on
 * it while later requests see the new one.
 */
import type { RoutedMemory } from '../router/router.js';
import type { MergeStep } from './schedule.js';

export interface LiveShard {
  id: string;
  index: number;
  editIds: number[];
  maskSeed: number;
  /** W_shard − W (stored layout) */
  delta: Float32Array;
  /** min final edit score over its edits; null when it holds no active edit */
  minScore: number | null;
}

export interface LiveMemory {
  id: string;
  shardIds: string[];
  /** merged delta W_m − W */
  delta: Float32Array;
  minScore: number | null;
}

export interface ActiveMemory {
  index: number;
  maskSeed: number;
  /** W′ (stored layout) */
  side: Float32Array;
  editIds: number[];
  minScore: number | null;
}

export interface EditorState {
  /** number of edits in the log (reverted ones included) */
  edits: number;
  /** number of applied (non-reverted) edits */
  applied: number;
  active: ActiveMemory;
  shards: ReadonlyMap<string, LiveShard>;
  /** shard ids saved since the last merge, in order */
  pending: string[];
  /** merged memories, in creation order (merge mode keeps only the latest) */
  memories: LiveMemory[];
  merges: MergeStep[];
}

/** The memories the router chooses among, each gated by ε = act_ratio × its min edit score. */
export function routedMemories(s: EditorState, base: Float32Array, actRatio: number): RoutedMemory[] {
  const out: RoutedMemory[] = [];
  for (const m of s.memories) if (m.minScore !== null) out.push({ id: m.id, delta: m.delta, eps: actRatio * m.minScore });
  for (const id of s.pending) {
    const sh = s.shards.get(id)!;
    if (sh.minScore !== null) out.push({ id: sh.id, delta: sh.delta, eps: actRatio * sh.minScore });
  }
  if (s.active.editIds.length > 0 && s.active.minScore !== null) {
    const d = new Float32Array(base.length);
    for (let i = 0; i < d.length; i++) d[i] = (s.active.side[i] as number) - (base[i] as number);
    out.push({ id: 'active', delta: d, eps: actRatio * s.active.minScore });
  }
  return out;
}

export function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
