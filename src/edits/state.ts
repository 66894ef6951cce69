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
  /** ε per memory id from wise.threshold_above_edits (derived from the state and the log; absent = act_ratio × minScore) */
  eps?: ReadonlyMap<string, number>;
}

const activeDeltas = new WeakMap<Float32Array, Float32Array>();

/** W′ − W, a new array. */
export function deltaOf(side: Float32Array, base: Float32Array): Float32Array {
  const d = new Float32Array(base.length);
  for (let i = 0; i < d.length; i++) d[i] = (side[i] as number) - (base[i] as number);
  return d;
}

/** W′ − W of the active memory, one array per W′ array (so score caches keyed by it hold). */
export function activeDelta(side: Float32Array, base: Float32Array): Float32Array {
  let d = activeDeltas.get(side);
  if (!d) activeDeltas.set(side, (d = deltaOf(side, base)));
  return d;
}

export interface MemoryView {
  id: string;
  delta: Float32Array;
  minScore: number;
  /** the applied edits it holds */
  editIds: number[];
}

/** The memories the router chooses among, before thresholds: merged, pending shards, active. */
export function memoryViews(s: EditorState, base: Float32Array): MemoryView[] {
  const out: MemoryView[] = [];
  for (const m of s.memories) {
    if (m.minScore !== null) out.push({ id: m.id, delta: m.delta, minScore: m.minScore, editIds: m.shardIds.flatMap((id) => s.shards.get(id)?.editIds ?? []) });
  }
  for (const id of s.pending) {
    const sh = s.shards.get(id)!;
    if (sh.minScore !== null) out.push({ id: sh.id, delta: sh.delta, minScore: sh.minScore, editIds: sh.editIds });
  }
  if (s.active.editIds.length > 0 && s.active.minScore !== null) {
    out.push({ id: 'active', delta: activeDelta(s.active.side, base), minScore: s.active.minScore, editIds: s.active.editIds });
  }
  return out;
}

/** The memories the router chooses among, each gated by its ε (default act_ratio × its min edit score). */
export function routedMemories(s: EditorState, base: Float32Array, actRatio: number): RoutedMemory[] {
  return memoryViews(s, base).map((m) => ({ id: m.id, delta: m.delta, eps: s.eps?.get(m.id) ?? actRatio * m.minScore }));
}

export function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
