/**
 * The WISE router, inside the forward graph (one pass, no second run).
 *
 * At the edited layer, every side memory k (its delta Δ_k = W′_k − W) gets δ_k = A(x)·Δ_kᵀ
 * (B, T, d) from one MatMul of A(x) (B, T, ff) with the stacked deltas `mem_deltas` (ff, M·d)
 * (router/stack.ts), then its sequence score s_k (router/score.ts). While M·d ≤ LEFT_MAX_ROWS the
 * stack is (M·d, ff) instead and the left operand, mem_deltas · A(x)ᵀ (the same δ_k). A sequence goes to the
 * memory with the highest key (the score, or score / ε_k) among those with s_k ≥ ε_k (top-1,
 * each memory gated by its own ε; ties go to the lower k), and to the main memory (the
 * original layer) when no memory passes. Output: base + δ_k* — exactly A·W′_k*ᵀ (+ bias).
 *
 * WISE-Merge is the case of few memories (the merged one, unmerged shards and the active
 * one, EasyEdit's "original / merged / active" choice, taking the larger score); WISE-Retrieve
 * the case of many. Routing is per sequence (EasyEdit routes a whole batch together).
 *
 * Inputs: mem_deltas (ff, M·d), mem_eps (M,), token_mask (B, T) float, use_max (B,) bool,
 * route_in (B,) int64: −1 = decide here, r ≥ 0 = force route r (decoding keeps the prefill's
 * decision). Outputs: route (B,) int64 (0 = main, k+1 = memory k), route_scores (B, M).
 * Cost per memory: the MatMul's share (ff·d multiply-adds per token) and O(d) per token for
 * the norm and the selection.
 *
 * With int8 scores (ScoreDtype, wise.route_score_dtype) the inputs are mem_blocks (M, ff, d)
 * float, for the output, and mem_deltas_q (ff, M·d) int8 and mem_deltas_scale (M·d,), for the
 * scores (quant.ts). Each memory then costs an integer MatMul (measured 2.4–3.2× faster than
 * the float one), plus a constant cost: the chosen block gathered per sequence and one batched
 * float MatMul. Cheaper than float32 from a few memories on (GPT-2 shape: from 4;
 * docs/bench-edit.md, "Tenth session").
 *
 * With float32 scores over memories that use only some of the ff input channels (channel masks,
 * wise.mask_structure; router/support.ts), the inputs are mem_channels (K,) int64, the union of
 * their channels, and mem_deltas (K, M·d), the stack's rows on them (or (M·d, K), its columns, as
 * the left operand): A(x)'s columns are gathered to (B, T, K) first (A(x)ᵀ's rows to (B, K, T)),
 * and the same δ_k cost K/ff of the FLOPs.
 */
import { ops, type Value } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { tensorData } from '../graph/types.js';
import type { DownHookCtx, Variant } from '../model/causal-lm.js';
import { PLAIN_STAT, quantizedStackedScores, stackedScores, type RouteStat } from './score.js';
import type { QuantizedColumns } from './quant.js';
import { stackDeltas, stackDims, stackQuantized, type Layout, type StackOrder } from './stack.js';
import { pickColumns, pickRows, unionChannels } from './support.js';

export interface RoutedMemory {
  /** stable id shown to users ('active', 'merged-2', 'shard-5', …) */
  id: string;
  /** W′ − W in the stored layout of the edited weight */
  delta: Float32Array;
  /** the routing threshold ε of this memory */
  eps: number;
}

/**
 * How the router picks among memories that pass their threshold: 'score' takes the highest
 * raw score (EasyEdit's Retrieve top-1); 'ratio' takes the highest s_k / ε_k, which compares
 * memories on their own scales (a memory whose scores run high everywhere does not win every
 * query).
 */
export type RouteSelect = 'score' | 'ratio';

export interface RouterOptions {
  layer: number;
  /** sequences longer than this route on the max token score */
  maxMeanTokens: number;
  select?: RouteSelect;
  /** 'max': every sequence routes on its max token score (as sequences longer than maxMeanTokens do) */
  reduce?: 'mean' | 'max';
  /** the edited weight's layout (the model's `spec.layer.mlp.down.layout`) */
  layout: Layout;
  /** the routing statistic (score.ts; default the paper's mean of raw token norms) */
  stat?: RouteStat;
  /** the arithmetic of the scores (wise.route_score_dtype): 'int8' scores from quant.ts, output still exact */
  scoreDtype?: ScoreDtype;
  /**
   * float32 scores on the channels the memories use when that is a subset (router/support.ts;
   * default true): the same scores, fewer FLOPs. false: always the full product (comparisons).
   */
  subset?: boolean;
  /** float32 scores with the stack as the left operand (LEFT_MAX_ROWS); default: while M·d ≤ LEFT_MAX_ROWS */
  left?: boolean;
}

/**
 * 'float32': every memory's δ_k from one float MatMul, which also gives the chosen memory's
 * output. 'int8': the scores from an integer MatMul (quant.ts; 2.4–3.2× cheaper per memory),
 * then the chosen memory's block of the float stack is gathered per sequence and applied
 * exactly: a constant cost (one memory's MatMul and a gather) instead of M float products.
 */
export type ScoreDtype = 'float32' | 'int8';

/** A graph-cache key part for a routing statistic ('' for the plain one). */
export const statKey = (s: RouteStat = PLAIN_STAT): string => `${s.topk > 0 ? `-top${s.topk}` : ''}${s.normalize ? '-norm' : ''}`;

/** For a route r (B,) int64 (0 = main, k+1 = memory k): whether a memory answers, and k (0 for main, to be masked). */
function routeIndex(route: Value): { on: Value; k: Value } {
  const on = ops.greater(route, 0);
  return { on, k: ops.where(on, ops.sub(route, 1), 0) };
}

/**
 * base + δ_k for each sequence's route (B,) int64 (0 = main: base unchanged), δ_k = a·Δ_kᵀ
 * from memory k's block gathered per sequence, then one batched MatMul. `mem` is the float
 * stack in `order` (stack.ts): 'blocks' (M, ff, d) and 'rows' (M·d, ff) gather with one copy;
 * 'columns' (ff, M·d) needs a strided gather and a transpose. Used by decode steps and int8 scoring.
 */
function applyGathered(a: Value, base: Value, mem: Value, order: StackOrder, route: Value, ff: number | string, M: number, d: number): Value {
  const { on, k } = routeIndex(route); // (B,), (B,)
  let delta: Value; // (B, T, d)
  if (order === 'rows') {
    const rows = ops.gather(ops.reshape(mem, [M, d, ff]), k, 0); // (B, d, ff) = Δ_k per sequence, one copy
    delta = ops.transpose(ops.matmul(rows, ops.transpose(a, [0, 2, 1])), [0, 2, 1]);
  } else {
    const blocks = order === 'blocks' ? ops.gather(mem, k, 0) : ops.transpose(ops.gather(ops.reshape(mem, [ff, M, d]), k, 1), [1, 0, 2]); // (B, ff, d) = Δ_kᵀ per sequence
    delta = ops.matmul(a, blocks);
  }
  return ops.add(base, ops.mul(delta, ops.unsqueeze(ops.cast(on, base.dtype), [1, 2])));
}

/** The float stack's graph input name: 'mem_deltas' (ff, M·d) for float32 scoring, 'mem_blocks' (M, ff, d) for int8. */
const memName = (order: StackOrder): string => (order === 'blocks' ? 'mem_blocks' : 'mem_deltas');
const memDims = <D extends number | string>(order: StackOrder, ff: D, M: number, d: number): (D | number)[] => (order === 'blocks' ? [M, ff, d] : order === 'rows' ? [M * d, ff] : [ff, M * d]);
function memInput(g: Value['graph'], order: StackOrder, ff: number | string, M: number, d: number): Value {
  return g.input(memName(order), g.floatType, memDims(order, ff, M, d));
}

/**
 * For float32 scores over memories that use a subset of the ff input channels (router/support.ts):
 * the input `mem_channels` (K,) int64; the stack is then (K, M·d), or (M·d, K) as the left operand.
 * undefined: every channel.
 */
const channelInput = (g: Value['graph'], on: boolean): Value | undefined => (on ? g.input('mem_channels', 'int64', ['K']) : undefined);

/**
 * Rows of the stack (M·d) up to which float32 scores multiply it as the left operand, stack
 * (M·d, ff) · A(x)ᵀ (StackOrder 'rows'): MLAS then packs the small (ff, T) operand instead of the
 * stack on every call, but the product is batched per sequence, so each sequence reads the whole
 * stack. bench:edit (GPT-2, 4 × 32 tokens): the score MatMul 1.06–1.37× faster at M·d 1536 and
 * 1.08–1.19× at 6144; the bundled model's T = 1000 evaluation (M·d 262144, 16 sequences a pass) 257 s against
 * 228 s with the right operand (docs/bench-edit.md, "Eleventh session").
 */
export const LEFT_MAX_ROWS = 8192;
const leftOperand = (M: number, d: number, forced?: boolean): boolean => forced ?? M * d <= LEFT_MAX_ROWS;
const orderOf = (scoreDtype: ScoreDtype, left: boolean): StackOrder => (scoreDtype === 'int8' ? 'blocks' : left ? 'rows' : 'columns');

/**
 * Builds the routing hook for M memories (the graph structure depends only on M, and on
 * `channels`: float32 scores on a channel subset, mem_channels (K,) and mem_deltas (K, M·d), and on
 * `left`, default M·d ≤ LEFT_MAX_ROWS: the stack (M·d, ff) or (M·d, K) as the left operand).
 */
export function routerHook(M: number, layer: number, select: RouteSelect = 'score', stat: RouteStat = PLAIN_STAT, scoreDtype: ScoreDtype = 'float32', channels = false, left?: boolean) {
  return (ctx: DownHookCtx): Value => {
    const base = ctx.base(); // (B, T, d)
    if (ctx.layer !== layer || M === 0) return base;
    const g = base.graph;
    const [B, T, ff] = ctx.a.shape as [number | string, number | string, number];
    const d = base.shape[2] as number;
    const tokenMask = g.input('token_mask', g.floatType, [B, T]);
    const useMax = g.input('use_max', 'bool', [B]);
    const routeIn = g.input('route_in', 'int64', [B]);
    const eps = g.input('mem_eps', g.floatType, [M]);
    const idx = channelInput(g, channels && scoreDtype === 'float32');
    const lhs = scoreDtype === 'float32' && leftOperand(M, d, left);
    const stack = memInput(g, orderOf(scoreDtype, lhs), idx ? 'K' : ff, M, d);
    let deltas: Value | null = null; // (B, T, M, d), or (B, M, d, T) when byMemory; float32 scoring only
    let byMemory = false;
    let s: Value; // (B, M)
    if (scoreDtype === 'int8') {
      const q = g.input('mem_deltas_q', 'int8', [ff, M * d]);
      const qScale = g.input('mem_deltas_scale', g.floatType, [M * d]);
      s = quantizedStackedScores(ctx.a, q, qScale, M, d, tokenMask, useMax, stat);
    } else {
      ({ deltas, scores: s, byMemory } = stackedScores(ctx.a, stack, M, d, tokenMask, useMax, stat, idx, lhs));
    }
    const passes = ops.not(ops.less(s, eps)); // (B, M)
    const key = select === 'ratio' ? ops.div(s, ops.max(eps, 1e-12)) : s; // what the memories compete on (≥ 0)
    const masked = ops.where(passes, key, -1);
    const best = ops.reduceMax(masked, [1], true); // (B, 1)
    const isBest = ops.and(passes, ops.equal(masked, best)); // (B, M)
    // M − k for the first best k (0 when none passes): ReduceMax picks the lowest k among ties
    const down = g.constant(tensorData(g.floatType, [M], Array.from({ length: M }, (_, k) => M - k)));
    const pick = ops.reduceMax(ops.where(isBest, down, 0), [1]); // (B,)
    const route = ops.cast(ops.where(ops.greater(pick, 0), ops.sub(M + 1, pick), 0), 'int64'); // k + 1, or 0 = main
    const decided = ops.where(ops.less(routeIn, 0), route, routeIn); // (B,)
    g.output('route', decided);
    g.output('route_scores', s); // (B, M)
    if (!deltas) return applyGathered(ctx.a, base, stack, 'blocks', decided, ff, M, d);
    if (byMemory) {
      // deltas (B, M, d, T) from the left-operand product: δ_k* by a one-hot contraction over the
      // memories, w (B, 1, M) · deltas (B, M, d·T), w = [route = k + 1] (all zero for main). Exact:
      // one weight is 1 and the others 0. Fewer nodes than the gather below, and no transpose of
      // the whole product; O(M·d·T) per sequence, used only while M·d ≤ LEFT_MAX_ROWS.
      const slots = g.constant(tensorData('int64', [M], Array.from({ length: M }, (_, k) => k + 1)));
      const w = ops.unsqueeze(ops.cast(ops.equal(ops.unsqueeze(decided, [1]), slots), g.floatType), [1]); // (B, 1, M)
      const picked = ops.matmul(w, ops.reshape(deltas, [B!, M, -1])); // (B, 1, d·T)
      return ops.add(base, ops.transpose(ops.reshape(picked, [B!, d, T!]), [0, 2, 1])); // base + δ_k*
    }
    // δ_k* by GatherElements along the memory axis: O(T·d) per sequence, not O(T·M·d) as a one-hot
    // contraction over all memories. The index (B, T, 1, d) is k* broadcast over tokens and features
    // (built from token_mask·0, which is finite, so that the symbolic T is present for Expand).
    const { on, k } = routeIndex(decided); // (B,), (B,)
    const zeros = ops.unsqueeze(ops.cast(ops.mul(tokenMask, 0), 'int64'), [2, 3]); // (B, T, 1, 1)
    const at = ops.expand(ops.add(zeros, ops.unsqueeze(k, [1, 2, 3])), [B!, T!, 1, d]); // (B, T, 1, d)
    const chosen = ops.reshape(ops.gatherElements(deltas, at, 2), [B!, T!, d]); // (B, T, d)
    return ops.add(base, ops.mul(chosen, ops.unsqueeze(ops.cast(on, g.floatType), [1, 2]))); // base + δ_k*
  };
}

/**
 * The decode steps' hook: the route was decided at the prefill (route_in ≥ 0, 0 = main), so
 * nothing is scored; the chosen memory's block of the stacked deltas is gathered per sequence
 * and applied. Cost: one gathered (ff, d) block per sequence instead of M score MatMuls.
 * Inputs: mem_deltas (ff, M·d), or mem_blocks (M, ff, d) with int8 scores; route_in (B,) int64.
 */
export function routerStepHook(M: number, layer: number, scoreDtype: ScoreDtype = 'float32', channels = false, left?: boolean) {
  return (ctx: DownHookCtx): Value => {
    const base = ctx.base(); // (B, T, d)
    if (ctx.layer !== layer || M === 0) return base;
    const g = base.graph;
    const [B, , ff] = ctx.a.shape as [number | string, number | string, number];
    const d = base.shape[2] as number;
    const routeIn = g.input('route_in', 'int64', [B]);
    const order = orderOf(scoreDtype, scoreDtype === 'float32' && leftOperand(M, d, left));
    const idx = channelInput(g, channels && scoreDtype === 'float32'); // the activations' columns on them: (B, T, K)
    const F = idx ? 'K' : ff;
    return applyGathered(idx ? ops.gather(ctx.a, idx, 2) : ctx.a, base, memInput(g, order, F, M, d), order, routeIn, F, M, d);
  };
}

/**
 * Memory counts are bucketed to powers of two (padding memories have a zero slot in the stack and an ε no
 * score reaches), so a store that gains memories edit by edit needs a new graph and session
 * only when it crosses a power of two: sessions are kept for the life of the process.
 */
export function bucketMemories(memories: readonly RoutedMemory[]): RoutedMemory[] {
  if (memories.length === 0) return [];
  let M = 1;
  while (M < memories.length) M *= 2;
  const none = new Float32Array(0); // padding slots of the stack stay zero (stack.ts); only the ε is read
  return [...memories, ...Array.from({ length: M - memories.length }, (_, i) => ({ id: `padding-${i}`, delta: none, eps: 3.0e38 }))];
}

/**
 * Floats in one (B·T, M·d) routing intermediate that a full pass should stay under (256 MiB): the
 * score MatMul's output and the tensors derived from it scale with M, and onnxruntime's CPU arena
 * keeps its largest allocations. Scoring ZsRE rows through 1000 memories of the bundled model
 * (d 256, bucketed to 1024) in batches of 16 rows held 15 GB resident; with this cap (256 tokens
 * a pass) 3.6 GB, and a third faster.
 */
export const ROUTE_CELL_BUDGET = 2 ** 26;

/** Tokens per full pass that keep M·d-wide intermediates within ROUTE_CELL_BUDGET (at least 64). */
export const routeTokenCap = (M: number, d: number): number => Math.max(64, Math.floor(ROUTE_CELL_BUDGET / Math.max(1, M * d)));

/** A CausalLM variant routing over `memories` (the key depends only on their bucketed count). */
export function routerVariant(given: readonly RoutedMemory[], o: RouterOptions, shape: readonly number[]): Variant {
  const memories = bucketMemories(given);
  const M = memories.length;
  const dtype: ScoreDtype = o.scoreDtype ?? 'float32';
  // float32 scores on the channels the memories use, when that is a real subset (router/support.ts)
  const channels = dtype === 'float32' && M > 0 && o.subset !== false ? unionChannels(given.map((m) => m.delta), shape, o.layout) : null;
  const left = dtype === 'float32' && M > 0 && leftOperand(M, stackDims(shape, o.layout)[1], o.left);
  const order = orderOf(dtype, left);
  let stacked: TensorData | null = null; // built on first use, then kept with the variant
  let quant: QuantizedColumns | null = null; // the same for int8 scoring
  const memFeeds = (): Record<string, TensorData> => {
    const [ff, d] = stackDims(shape, o.layout);
    if (!stacked) {
      const full = stackDeltas(given.map((m) => m.delta), M, shape, o.layout, true, order);
      if (!channels) stacked = tensorData('float32', memDims(order, ff, M, d), full);
      else stacked = left ? tensorData('float32', [M * d, channels.length], pickColumns(full, M * d, ff, channels)) : tensorData('float32', [channels.length, M * d], pickRows(full, M * d, channels));
    }
    const feeds: Record<string, TensorData> = { mem_eps: { dtype: 'float32', dims: [M], data: Float32Array.from(memories.map((m) => m.eps)) }, [memName(order)]: stacked };
    if (channels) feeds['mem_channels'] = { dtype: 'int64', dims: [channels.length], data: BigInt64Array.from(channels, (j) => BigInt(j)) };
    if (dtype === 'int8') {
      quant ??= stackQuantized(given.map((m) => m.delta), M, shape, o.layout);
      feeds['mem_deltas_q'] = { dtype: 'int8', dims: [ff, M * d], data: quant.q };
      feeds['mem_deltas_scale'] = { dtype: 'float32', dims: [M * d], data: quant.scale };
    }
    return feeds;
  };
  const common = (batch: number, T: number, mask: readonly number[]): Record<string, TensorData> => {
    const useMax = new Uint8Array(batch);
    for (let b = 0; b < batch; b++) {
      let n = 0;
      for (let t = 0; t < T; t++) n += mask[b * T + t] as number;
      useMax[b] = o.reduce === 'max' || n > o.maxMeanTokens ? 1 : 0;
    }
    return {
      ...memFeeds(),
      token_mask: { dtype: 'float32', dims: [batch, T], data: Float32Array.from(mask) },
      use_max: { dtype: 'bool', dims: [batch], data: useMax },
      route_in: { dtype: 'int64', dims: [batch], data: new BigInt64Array(batch).fill(-1n) }, // decide here
    };
  };
  return {
    key: `router-L${o.layer}-M${M}-${o.select ?? 'score'}${statKey(o.stat)}${dtype === 'int8' ? '-q8' : ''}${channels ? '-ch' : ''}${left ? '-lhs' : ''}`,
    hook: routerHook(M, o.layer, o.select, o.stat, dtype, channels !== null, left),
    stepHook: routerStepHook(M, o.layer, dtype, channels !== null, left),
    outputs: M > 0 ? ['route', 'route_scores'] : [],
    maxTokens: routeTokenCap(M, stackDims(shape, o.layout)[1]),
    feeds: (batch, T, mask) => (M > 0 ? common(batch, T, mask) : {}),
    // the decode steps (stepHook's graph): the stacked deltas and the prefill's route
    decodeFeeds: (batch, _T, prefill): Record<string, TensorData> => (M > 0 ? { ...pick(memFeeds(), [memName(order), 'mem_channels']), route_in: { dtype: 'int64', dims: [batch], data: BigInt64Array.from(prefill.route!.data as BigInt64Array) } } : {}),
    // every sequence routed to main: the steps' layer is W itself (base + 0), so they need neither the stack nor a
    // second session (in serving, most prompts are not edits; two sessions' workers also compete for the cores)
    plainSteps: (prefill) => M === 0 || (prefill.route !== undefined && Array.from(prefill.route.data as BigInt64Array).every((r) => r === 0n)),
  };
}

/** The entries of `feeds` named in `names` that are present. */
function pick(feeds: Record<string, TensorData>, names: readonly string[]): Record<string, TensorData> {
  return Object.fromEntries(names.filter((n) => n in feeds).map((n) => [n, feeds[n]!]));
}

/** The memory id that answered each sequence (route r: 0 → 'main', k+1 → memories[k].id). */
export function routeNames(route: TensorData | undefined, memories: readonly RoutedMemory[]): string[] {
  if (!route) return [];
  return Array.from(route.data as BigInt64Array, (r) => (r === 0n ? 'main' : (memories[Number(r) - 1]?.id ?? `memory-${r}`)));
}
