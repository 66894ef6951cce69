/**
 * Activation scores of memories on the prompts of applied edits, for wise.threshold_above_edits
 * (router/conflicts.ts), each edit as the prompt alone and as prompt + target. A text's
 * down-projection input A(x) (T, ff) at the edited layer is computed once (frozen layers
 * below); a memory's score on it is
 * mean_t ‖A_t Δᵀ‖ (the router's score, router/score.ts) from one small graph run per memory
 * over every prompt it has not been scored on. Scores are cached per delta array, so a saved
 * shard (immutable) is scored once per prompt; a changed memory has a new array.
 *
 * After an edit, every earlier memory lacks only the new edit's two texts: scoresMany scores
 * all such memories in one run over their stacked deltas (router/stack.ts), not one run each
 * (with one memory per edit, a thousand runs per edit at T = 1000). When several memories miss
 * many texts (a store reopened: every memory is folded from scratch), they are scored GROUP at a
 * time over blocks of TEXT_BLOCK texts, each block packed once: at 1000 one-edit memories that is
 * about 500 stacked runs instead of 1000 runs that each pack all 2000 texts again.
 */
import { Graph, nn } from '../graph/index.js';
import { tensorData, type TensorData } from '../graph/types.js';
import type { SideMemory } from '../memory/side-memory.js';
import { PLAIN_STAT, quantizedStackedScores, sequenceScore, stackedScores, tokenScores, type RouteStat } from '../router/score.js';
import { stackDeltas, stackDims, stackQuantized } from '../router/stack.js';
import type { ScoreDtype } from '../router/router.js';
import { nextPow2 } from '../memory/rows.js';
import { poolStats, type PoolStats } from '../router/conflicts.js';

/** memories missing at most this many texts are scored together */
const FEW = 8;
/** memories per stacked run over the threshold-pool texts ((P, T, GROUP·d) floats in flight) */
const GROUP = 16;
/** texts per stacked run when many memories miss many texts (bounds (P·T, GROUP·d) in flight) */
const TEXT_BLOCK = 256;

export interface EditText {
  prompt: string;
  target: string;
}

interface Act {
  data: Float32Array;
  T: number;
}

export class EditScores {
  /** keyed `${id}` (prompt + target) and `${id}:p` (prompt alone) */
  private readonly acts = new Map<string, Act>();
  private readonly cache = new WeakMap<Float32Array, Map<string, number>>();
  private graph: Graph | null = null;
  private readonly stackedGraphs = new Map<number, Graph>();

  /** scoreDtype: the router's (wise.route_score_dtype), so that thresholds and routing compare the same numbers */
  constructor(private readonly memory: SideMemory, private readonly maxMeanTokens: number, private readonly reduce: 'mean' | 'max' = 'mean', private readonly stat: RouteStat = PLAIN_STAT, private readonly scoreDtype: ScoreDtype = 'float32') {}

  /** (P, T, ff) acts, (P, T) mask, (P,) use_max, Δ (stored layout) → scores (P,) */
  private scoreGraph(): Graph {
    if (this.graph) return this.graph;
    const g = new Graph({ floatType: 'float32', name: `edit-scores-L${this.memory.layer}` });
    const ffIn = this.memory.lm.spec.layer.mlp.down.layout === 'out_in' ? this.memory.shape[1]! : this.memory.shape[0]!;
    const acts = g.input('acts', 'float32', ['P', 'T', ffIn]);
    const delta = g.input('delta', 'float32', this.memory.shape);
    const mask = g.input('token_mask', 'float32', ['P', 'T']);
    const useMax = g.input('use_max', 'bool', ['P']);
    g.output('scores', sequenceScore(tokenScores(nn.linear(acts, delta, undefined, this.memory.lm.spec.layer.mlp.down.layout), acts, this.stat), mask, useMax, this.stat.topk));
    this.graph = g;
    return g;
  }

  private async activation(key: string, e: EditText): Promise<Act> {
    let a = this.acts.get(key);
    if (!a) {
      a = await this.memory.promptActivation(e.prompt, key.endsWith(':p') ? null : e.target);
      this.acts.set(key, a);
    }
    return a;
  }

  /** acts (P, T, ff), token_mask (P, T), use_max (P,) for the texts `keys` */
  private async packed(keys: readonly string[], edits: ReadonlyMap<number, EditText>): Promise<{ feeds: Record<string, TensorData>; P: number }> {
    return this.pack(await Promise.all(keys.map((k) => this.activation(k, edits.get(Number.parseInt(k, 10))!))));
  }

  /** Activations (T_p, ff) padded into acts (P, T, ff), token_mask (P, T), use_max (P,). */
  private pack(acts: readonly Act[]): { feeds: Record<string, TensorData>; P: number } {
    const T = Math.max(...acts.map((a) => a.T));
    const ff = this.memory.ffDim;
    const P = acts.length;
    const x = new Float32Array(P * T * ff);
    const mask = new Float32Array(P * T);
    const useMax = new Uint8Array(P);
    acts.forEach((a, p) => {
      x.set(a.data, p * T * ff);
      mask.fill(1, p * T, p * T + a.T);
      useMax[p] = this.reduce === 'max' || a.T > this.maxMeanTokens ? 1 : 0;
    });
    return { P, feeds: { acts: tensorData('float32', [P, T, ff], x), token_mask: tensorData('float32', [P, T], mask), use_max: { dtype: 'bool', dims: [P], data: useMax } } };
  }

  /**
   * Each delta's scores over `texts` (wise.threshold_pool), summarized as max, mean and std
   * (router/conflicts.ts poolStats), GROUP deltas per stacked run.
   * Texts are scored whole (no prompt/target split); their activations are the side memory's
   * cached ones.
   */
  async textStats(deltas: readonly Float32Array[], texts: readonly string[]): Promise<PoolStats[]> {
    const out: PoolStats[] = [];
    const none = (): PoolStats[] => deltas.map(() => poolStats([]));
    if (deltas.length === 0 || texts.length === 0) return none();
    const acts = (await Promise.all(texts.map((t) => this.memory.textActivation(t)))).filter((a) => a.T > 0);
    if (acts.length === 0) return none();
    const { feeds, P } = this.pack(acts);
    for (let k0 = 0; k0 < deltas.length; k0 += GROUP) {
      const group = deltas.slice(k0, k0 + GROUP);
      const { s, G } = await this.stackedRun(group, feeds, false); // (P, G)
      group.forEach((_, k) => out.push(poolStats(Array.from({ length: P }, (_, p) => s[p * G + k]!))));
    }
    return out;
  }

  /** Scores (P, G) of `deltas` (at most G = nextPow2 of their count, padded) on the packed texts `feeds`. */
  private async stackedRun(deltas: readonly Float32Array[], feeds: Record<string, TensorData>, keep = true): Promise<{ s: Float32Array; G: number }> {
    const layout = this.memory.lm.spec.layer.mlp.down.layout;
    const [ff, d] = stackDims(this.memory.shape, layout);
    const G = nextPow2(deltas.length);
    let mem: Record<string, TensorData>;
    if (this.scoreDtype === 'int8') {
      const q = stackQuantized(deltas, G, this.memory.shape, layout, keep);
      mem = { stack_q: tensorData('int8', [ff, G * d], q.q), stack_scale: tensorData('float32', [G * d], q.scale) };
    } else {
      mem = { stack: tensorData('float32', [ff, G * d], stackDeltas(deltas, G, this.memory.shape, layout, keep)) };
    }
    const out = await this.memory.lm.engine.run(this.stackedGraph(G), { ...feeds, ...mem }, ['scores']);
    return { s: out.scores!.data as Float32Array, G };
  }

  /** (P, T, ff) acts, (P, T) mask, (P,) use_max, (ff, G·d) stacked deltas → scores (P, G) */
  private stackedGraph(G: number): Graph {
    let g = this.stackedGraphs.get(G);
    if (g) return g;
    const [ff, d] = stackDims(this.memory.shape, this.memory.lm.spec.layer.mlp.down.layout);
    g = new Graph({ floatType: 'float32', name: `edit-scores-L${this.memory.layer}-G${G}` });
    const acts = g.input('acts', 'float32', ['P', 'T', ff]);
    const mask = g.input('token_mask', 'float32', ['P', 'T']);
    const useMax = g.input('use_max', 'bool', ['P']);
    g.output('scores', this.scoreDtype === 'int8'
      ? quantizedStackedScores(acts, g.input('stack_q', 'int8', [ff, G * d]), g.input('stack_scale', 'float32', [G * d]), G, d, mask, useMax, this.stat)
      : stackedScores(acts, g.input('stack', 'float32', [ff, G * d]), G, d, mask, useMax, this.stat).scores);
    this.stackedGraphs.set(G, g);
    return g;
  }

  /**
   * For each item, the scores of its memory on the edits `ids` (their texts in `texts`), as
   * scores() gives them; memories missing few texts are scored in one stacked run.
   */
  async scoresMany(items: readonly { delta: Float32Array; ids: readonly number[] }[], texts: ReadonlyMap<number, EditText>): Promise<Map<number, [number, number]>[]> {
    const few: { delta: Float32Array; known: Map<string, number>; todo: string[] }[] = [];
    const many: typeof few = [];
    const seen = new Set<Float32Array>();
    for (const { delta, ids } of items) {
      if (seen.has(delta)) continue;
      seen.add(delta);
      const known = this.known(delta);
      const todo = ids.flatMap((id) => [`${id}:p`, `${id}`]).filter((k) => !known.has(k));
      if (todo.length > 0 && todo.length <= FEW) few.push({ delta, known, todo });
      else if (todo.length > FEW) many.push({ delta, known, todo });
    }
    if (few.length > 1) {
      const union = [...new Set(few.flatMap((m) => m.todo))];
      const { feeds } = await this.packed(union, texts);
      const { s, G } = await this.stackedRun(few.map((m) => m.delta), feeds); // (P, G)
      few.forEach((m, k) => union.forEach((key, p) => m.known.set(key, s[p * G + k]!)));
    }
    if (many.length > 1) {
      const union = [...new Set(many.flatMap((m) => m.todo))];
      for (let t0 = 0; t0 < union.length; t0 += TEXT_BLOCK) {
        const keys = union.slice(t0, t0 + TEXT_BLOCK);
        const { feeds } = await this.packed(keys, texts);
        for (let k0 = 0; k0 < many.length; k0 += GROUP) {
          const group = many.slice(k0, k0 + GROUP);
          const { s, G } = await this.stackedRun(group.map((m) => m.delta), feeds, false); // (P, G)
          group.forEach((m, k) => keys.forEach((key, p) => m.known.set(key, s[p * G + k]!)));
        }
      }
    }
    const res: Map<number, [number, number]>[] = [];
    for (const { delta, ids } of items) res.push(await this.scoresOf(delta, ids, texts));
    return res;
  }

  private known(delta: Float32Array): Map<string, number> {
    let known = this.cache.get(delta);
    if (!known) this.cache.set(delta, (known = new Map()));
    return known;
  }

  /** The scores of memory `delta` on the edits `ids` (texts in `texts`), computing what is not cached. */
  private async scoresOf(delta: Float32Array, ids: readonly number[], texts: ReadonlyMap<number, EditText>): Promise<Map<number, [number, number]>> {
    const known = this.known(delta);
    const todo = ids.flatMap((id) => [`${id}:p`, `${id}`]).filter((k) => !known.has(k));
    if (todo.length > 0) {
      const { feeds, P } = await this.packed(todo, texts);
      // int8: the stacked graph with one memory (its quantized columns are the router's)
      const s = this.scoreDtype === 'int8'
        ? (await this.stackedRun([delta], feeds, false)).s
        : (await this.memory.lm.engine.run(this.scoreGraph(), { ...feeds, delta: tensorData('float32', [...this.memory.shape], delta) }, ['scores'])).scores!.data as Float32Array;
      for (let p = 0; p < P; p++) known.set(todo[p]!, s[p]!);
    }
    const res = new Map<number, [number, number]>();
    for (const id of ids) res.set(id, [known.get(`${id}:p`)!, known.get(`${id}`)!]);
    return res;
  }

  /**
   * The scores of memory `delta` on each of `edits` (id → prompt and target): [prompt alone,
   * prompt + target], cached per delta array.
   */
  scores(delta: Float32Array, edits: ReadonlyMap<number, EditText>): Promise<Map<number, [number, number]>> {
    return this.scoresOf(delta, [...edits.keys()], edits);
  }
}
