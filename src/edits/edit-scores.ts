/**
 * Activation scores of memories on the prompts of applied edits, for wise.threshold_above_edits
 * (router/conflicts.ts), each edit as the prompt alone and as prompt + target. A text's
 * down-projection input A(x) (T, ff) at the edited layer is computed once (frozen layers
 * below); a memory's score on it is
 * mean_t ‖A_t Δᵀ‖ (the router's score, router/score.ts) from one small graph run per memory
 * over every prompt it has not been scored on. Scores are cached per delta array, so a saved
 * shard (immutable) is scored once per prompt; a changed memory has a new array.
 */
import { Graph, nn } from '../graph/index.js';
import { tensorData } from '../graph/types.js';
import type { SideMemory } from '../memory/side-memory.js';
import { sequenceScore, tokenNorms } from '../router/score.js';

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

  constructor(private readonly memory: SideMemory, private readonly maxMeanTokens: number, private readonly reduce: 'mean' | 'max' = 'mean') {}

  /** (P, T, ff) acts, (P, T) mask, (P,) use_max, Δ (stored layout) → scores (P,) */
  private scoreGraph(): Graph {
    if (this.graph) return this.graph;
    const g = new Graph({ floatType: 'float32', name: `edit-scores-L${this.memory.layer}` });
    const ffIn = this.memory.lm.spec.layer.mlp.down.layout === 'out_in' ? this.memory.shape[1]! : this.memory.shape[0]!;
    const acts = g.input('acts', 'float32', ['P', 'T', ffIn]);
    const delta = g.input('delta', 'float32', this.memory.shape);
    const mask = g.input('token_mask', 'float32', ['P', 'T']);
    const useMax = g.input('use_max', 'bool', ['P']);
    g.output('scores', sequenceScore(tokenNorms(nn.linear(acts, delta, undefined, this.memory.lm.spec.layer.mlp.down.layout)), mask, useMax));
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

  /**
   * The scores of memory `delta` on each of `edits` (id → prompt and target): [prompt alone,
   * prompt + target], cached per delta array.
   */
  async scores(delta: Float32Array, edits: ReadonlyMap<number, EditText>): Promise<Map<number, [number, number]>> {
    let known = this.cache.get(delta);
    if (!known) this.cache.set(delta, (known = new Map()));
    const keys = [...edits.keys()].flatMap((id) => [`${id}:p`, `${id}`]);
    const todo = keys.filter((k) => !known!.has(k));
    if (todo.length > 0) {
      const acts = await Promise.all(todo.map((k) => this.activation(k, edits.get(Number.parseInt(k, 10))!)));
      const T = Math.max(...acts.map((a) => a.T));
      const ff = acts[0]!.data.length / acts[0]!.T;
      const P = todo.length;
      const x = new Float32Array(P * T * ff);
      const mask = new Float32Array(P * T);
      const useMax = new Uint8Array(P);
      acts.forEach((a, p) => {
        x.set(a.data, p * T * ff);
        mask.fill(1, p * T, p * T + a.T);
        useMax[p] = this.reduce === 'max' || a.T > this.maxMeanTokens ? 1 : 0;
      });
      const out = await this.memory.lm.engine.run(this.scoreGraph(), {
        acts: tensorData('float32', [P, T, ff], x),
        delta: tensorData('float32', [...this.memory.shape], delta),
        token_mask: tensorData('float32', [P, T], mask),
        use_max: { dtype: 'bool', dims: [P], data: useMax },
      }, ['scores']);
      const s = out.scores!.data as Float32Array;
      todo.forEach((id, p) => known!.set(id, s[p]!));
    }
    const res = new Map<number, [number, number]>();
    for (const id of edits.keys()) res.set(id, [known.get(`${id}:p`)!, known.get(`${id}`)!]);
    return res;
  }
}
