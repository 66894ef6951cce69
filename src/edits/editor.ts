/**
 * The WISE editor: applies edits to the side memory, saves shards, merges them, reverts
 * edits and keeps everything in the store, where the edit log is the source of truth.
 *
 * Every change is one atomic commit (edit + active state + shard + merged memory + counters);
 * blobs are written first. The in-memory state is swapped only after the commit succeeded,
 * so readers see either the old or the new state, never a mix.
 */
import { WiseError } from '../util/errors.js';
import { hashString32 } from '../util/rng.js';
import { thresholdPoolTexts } from './pool-texts.js';
import type { Logger } from '../util/log.js';
import type { WiseConfig } from '../config/schema.js';
import type { CausalLM, Variant } from '../model/causal-lm.js';
import { fingerprintView } from '../model/config.js';
import { SideMemory } from '../memory/side-memory.js';
import { shardMask, shardSeed } from '../memory/masks.js';
import { routerVariant, type RoutedMemory } from '../router/router.js';
import { isPlain, type RouteStat } from '../router/score.js';
import { mergeRegistry } from '../merge/index.js';
import { fingerprintModel, Tx, type EditRecord, type ShardStore, type TensorRef } from '../shards/index.js';
import { validateEditRequest, type EditRequest } from './request.js';
import { isSavePoint, mergeDue, mergedId, mergeWeights, shardId, type MergeStep } from './schedule.js';
import { deltaOf, memoryViews, minOf, routedMemories, type EditorState, type LiveMemory, type LiveShard } from './state.js';
import { EditScores, type EditText } from './edit-scores.js';
import { EpsTracker } from './eps-tracker.js';
import { loadState } from './load-state.js';
import { loadProjection } from './projection-store.js';
import { guardTrainingSettings } from './settings-guard.js';
import { mostSimilar } from './similar.js';

export interface EditorOptions {
  lm: CausalLM;
  /** an unopened store */
  store: ShardStore;
  config: WiseConfig;
  /** irrelevant samples (text) for the margin loss */
  pool: readonly string[];
  owner?: string;
  log?: Logger;
  /** train edits in a child process (memory/train-process.ts; engine.train_process): the same bits, off the main thread */
  trainProcess?: boolean;
}

export interface AppliedEdit {
  record: EditRecord;
  steps: number;
  score: number;
  loss: number;
}

/** The edited layer when the config names none: EasyEdit edits a late-middle layer (27 of 32 for Llama-2-7B), ~0.8 of the depth. */
export function defaultEditLayer(numLayers: number): number {
  return Math.min(numLayers - 1, Math.round(0.8 * (numLayers - 1)));
}

export class WiseEditor {
  state!: EditorState;
  templates: string[] = [];
  readonly memory: SideMemory;
  private variantCache: { key: EditorState; memories: RoutedMemory[]; variant: Variant } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** applied (non-reverted) edits' prompt and target, for wise.threshold_above_edits */
  private live = new Map<number, EditText>();
  private readonly editScores: EditScores;
  private readonly epsTracker: EpsTracker;
  /** the routing statistic (wise.route_topk, wise.route_normalize) */
  readonly routeStat: RouteStat;

  private constructor(readonly lm: CausalLM, readonly store: ShardStore, readonly cfg: WiseConfig, readonly pool: readonly string[], readonly layer: number, trainProcess = false) {
    this.memory = new SideMemory(lm, {
      layer,
      scoreReduce: cfg.score_reduce,
      margin: { alpha: cfg.act_margin[0], beta: cfg.act_margin[1], gamma: cfg.act_margin[2], weight: cfg.margin_weight },
      hparams: { lr: cfg.edit_lr, nIter: cfg.n_iter, normConstraint: cfg.norm_constraint, weightDecay: cfg.weight_decay, earlyStopTol: cfg.early_stop_tol, earlyStopLoss: cfg.early_stop_loss },
      chat: cfg.use_chat_template,
      child: trainProcess,
    });
    this.routeStat = { topk: cfg.route_topk, normalize: cfg.route_normalize };
    this.editScores = new EditScores(this.memory, cfg.max_mean_tokens, cfg.score_reduce, this.routeStat, cfg.route_score_dtype);
    this.epsTracker = new EpsTracker(this.editScores, { ownAsMin: !isPlain(this.routeStat), poolTexts: thresholdPoolTexts(pool, cfg.threshold_pool, cfg.seed) });
  }

  static defaultLayer(lm: CausalLM): number {
    return defaultEditLayer(lm.config.numLayers);
  }

  static fingerprint(lm: CausalLM, layer: number): string {
    const sm = new SideMemory(lm, { layer, margin: { alpha: 0, beta: 0, gamma: 0 }, hparams: { lr: 0, nIter: 0, normConstraint: 0, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 } });
    return fingerprintModel({ config: fingerprintView(lm.config), weightName: sm.weightName, dtype: 'float32', shape: sm.shape, weight: sm.base });
  }

  static async open(o: EditorOptions): Promise<WiseEditor> {
    if (o.config.merge_freq % o.config.save_freq !== 0) {
      throw new WiseError('WISE_BAD_CONFIG', `wise.merge_freq (${o.config.merge_freq}) must be a multiple of wise.save_freq (${o.config.save_freq})`, { field: 'wise.merge_freq' });
    }
    if (o.config.use_chat_template && o.lm.tokenizer.chatTemplate === null) {
      throw new WiseError('WISE_BAD_CONFIG', `wise.use_chat_template is on, but ${o.lm.tokenizer.dir} has no chat template (tokenizer_config.json chat_template)`, { field: 'wise.use_chat_template' });
    }
    const layer = o.config.layer ?? WiseEditor.defaultLayer(o.lm);
    if (layer >= o.lm.config.numLayers) throw new WiseError('WISE_BAD_CONFIG', `wise.layer ${layer} ≥ the model's ${o.lm.config.numLayers} layers`, { field: 'wise.layer' });
    await o.store.open({ fingerprint: WiseEditor.fingerprint(o.lm, layer), create: true, owner: o.owner ?? 'wise' });
    const ed = new WiseEditor(o.lm, o.store, o.config, o.pool, layer, o.trainProcess);
    try {
      const stored = (await o.store.getMeta('templates')) as string[] | undefined;
      if (stored) ed.templates = stored;
      else {
        ed.templates = await ed.memory.contextTemplates(o.config.context_templates);
        await o.store.putMeta('templates', ed.templates);
      }
      await guardTrainingSettings(o.store, o.config, o.lm.tokenizer.prefixIds);
      for (const e of await o.store.listEdits()) {
        if (e.status === 'active') ed.live.set(e.id, { prompt: (e.request as EditRequest).prompt, target: (e.request as EditRequest).target });
      }
      if (o.config.project_rank > 0) await loadProjection(o.store, ed.memory, o.config.project_rank, o.config.project_samples, o.pool);
      ed.state = await ed.withEps(await loadState(o.store, ed.memory.base, (i) => shardSeed(o.config.seed, i)), ed.live);
    } catch (e) {
      await ed.memory.close();
      await o.store.close();
      throw e;
    }
    return ed;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.memory.close();
    await this.store.close();
  }

  /** Serializes writers: edits, reverts and merges run one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The routing variant of the current state (cached until the state changes). */
  variant(state: EditorState = this.state): { variant: Variant; memories: RoutedMemory[] } {
    if (this.variantCache?.key === state) return this.variantCache;
    const memories = routedMemories(state, this.memory.base, this.cfg.act_ratio);
    const variant = routerVariant(memories, { layer: this.layer, maxMeanTokens: this.cfg.max_mean_tokens, select: this.cfg.route_select, reduce: this.cfg.score_reduce, stat: this.routeStat, scoreDtype: this.cfg.route_score_dtype, layout: this.memory.lm.spec.layer.mlp.down.layout }, this.memory.shape);
    const v = { key: state, memories, variant };
    if (state === this.state) this.variantCache = v;
    return v;
  }

  /** Deterministic irrelevant samples of edit `id` (a function of the id and the seed). */
  irrelevantFor(id: number, req: EditRequest): { texts: string[]; refs: string[] } {
    if (this.cfg.irrelevant === 'request' || this.pool.length === 0) {
      if (!req.locality_prompt) throw new WiseError('WISE_BAD_REQUEST', 'no irrelevant-sample pool is configured, so the edit needs locality_prompt', { field: 'locality_prompt' });
      return { texts: [`${req.locality_prompt} ${req.locality_answer ?? ''}`.trim()], refs: ['request'] };
    }
    const texts: string[] = [];
    const refs: string[] = [];
    // Hard negatives first: the pool samples sharing the most words with the prompt (same
    // relation, other subject), so a memory learns to stay quiet on its relation's other facts.
    for (const i of mostSimilar(req.prompt, this.pool, this.cfg.irrelevant_similar)) {
      texts.push(this.pool[i] as string);
      refs.push(`pool:${i}`);
    }
    for (let j = 0; texts.length < this.cfg.irrelevant_count + this.cfg.irrelevant_similar; j++) {
      // j = 0 keeps the single-sample choice of earlier stores
      const i = hashString32(j === 0 ? `${this.cfg.seed}:irrelevant:${id}` : `${this.cfg.seed}:irrelevant:${id}:${j}`) % this.pool.length;
      texts.push(this.pool[i] as string);
      refs.push(`pool:${i}`);
    }
    return { texts, refs };
  }

  applyEdit(request: unknown): Promise<AppliedEdit> {
    const req = validateEditRequest(request);
    return this.serial(() => this.applyLocked(req));
  }

  private async applyLocked(req: EditRequest): Promise<AppliedEdit> {
    const s = this.state;
    const id = this.store.nextEditId;
    const irr = this.irrelevantFor(id, req);
    // WISE's replay (paper B.3): earlier edits are negatives, so the new memory stays quiet on them.
    for (const e of await this.recentEdits(this.cfg.replay)) {
      irr.texts.push(`${e.prompt} ${e.target.replace(/^\s+/, '')}`);
      irr.refs.push('replay');
    }
    const mask = this.maskOf(s.active.maskSeed);
    let side = Float32Array.from(s.active.side);
    let r = await this.memory.train(side, mask, this.memory.batch(this.templates, { prompt: req.prompt, target: req.target, irrelevant: irr.texts }));
    const conflicts = await this.conflictsOf(side, s.active.editIds, this.scoreOf(r));
    if (conflicts.length > 0) {
      // Retrain from the same start with the conflicting edits as negatives too.
      for (const c of conflicts) {
        irr.texts.push(c.text);
        irr.refs.push(`conflict:${c.id}`);
      }
      side = Float32Array.from(s.active.side);
      r = await this.memory.train(side, mask, this.memory.batch(this.templates, { prompt: req.prompt, target: req.target, irrelevant: irr.texts }));
    }
    let next: EditorState = { ...s, edits: id + 1, applied: s.applied + 1, active: { ...s.active, side, editIds: [...s.active.editIds, id], minScore: minOf(s.active.minScore, this.scoreOf(r)) } };
    const tx = new Tx();
    if (isSavePoint(next.active.editIds.length, this.cfg.save_freq)) await this.saveActive(next, tx);
    if (mergeDue(next.pending, this.cfg.save_freq, this.cfg.merge_freq)) await this.mergePending(next, tx);
    await this.putActive(next, tx);
    const live = new Map(this.live).set(id, { prompt: req.prompt, target: req.target });
    next = await this.withEps(next, live);
    const record = await this.store.appendEdit(
      {
        request: req, seed: hashString32(`edit:${id}`), irrelevantSampleIds: irr.refs, shardId: shardId(s.active.index),
        meta: { irrelevant: irr.texts, score: r.editScore, steps: r.steps, loss: r.finalLoss },
      },
      (t) => t.ops.push(...tx.ops),
    );
    this.live = live;
    this.state = next;
    return { record, steps: r.steps, score: r.editScore, loss: r.finalLoss };
  }

  /** Moves the active memory into a new shard and resets it to W (mutates `next`). */
  private async saveActive(next: EditorState, tx: Tx): Promise<void> {
    const a = next.active;
    const sh: LiveShard = { id: shardId(a.index), index: a.index, editIds: a.editIds, maskSeed: a.maskSeed, delta: this.deltaFrom(a.side), minScore: a.minScore };
    tx.putShard({ ...(await this.shardRecord(sh)) });
    next.shards = new Map(next.shards).set(sh.id, sh);
    next.pending = [...next.pending, sh.id];
    const index = a.index + 1;
    next.active = { index, maskSeed: shardSeed(this.cfg.seed, index), side: Float32Array.from(this.memory.base), editIds: [], minScore: null };
  }

  /** Merges the pending shards (mutates `next`). */
  private async mergePending(next: EditorState, tx: Tx): Promise<void> {
    const prev = this.cfg.mode === 'merge' ? (next.memories.at(-1) ?? null) : null;
    const step: MergeStep = { id: mergedId(next.merges.length), shardIds: next.pending, previous: prev?.id ?? null };
    const mem = this.runMerge(step, next.shards, prev);
    tx.putMemory(await this.memoryRecord(mem, step));
    if (prev) tx.deleteMemory(prev.id);
    next.memories = prev ? [...next.memories.slice(0, -1), mem] : [...next.memories, mem];
    next.merges = [...next.merges, step];
    next.pending = [];
    tx.putMeta('merges', next.merges);
  }

  runMerge(step: MergeStep, shards: ReadonlyMap<string, LiveShard>, prev: LiveMemory | null): LiveMemory {
    const parts = step.shardIds.map((id) => shards.get(id)!);
    const deltas = [...(prev ? [prev.delta] : []), ...parts.map((p) => p.delta)];
    const weights = mergeWeights(parts.length, prev !== null, this.cfg.weights);
    const params = this.cfg.merge_alg === 'ties' ? { density: this.cfg.densities, lambda: this.cfg.lambda, ...this.cfg.merge_params } : this.cfg.merge_params;
    const shape = this.memory.shape;
    const merged = mergeRegistry.merge(this.cfg.merge_alg, { data: this.memory.base, shape }, deltas.map((d) => ({ data: d, shape })), weights, params);
    let minScore = prev?.minScore ?? null;
    for (const p of parts) minScore = minOf(minScore, p.minScore);
    return { id: step.id, shardIds: [...(prev?.shardIds ?? []), ...step.shardIds], delta: merged, minScore };
  }

  private async tensorRef(data: Float32Array): Promise<TensorRef> {
    return { blob: await this.store.putBlob(data), dtype: 'float32', shape: [...this.memory.shape] };
  }

  private async shardRecord(sh: LiveShard) {
    return { id: sh.id, editIds: sh.editIds, maskSeed: sh.maskSeed, density: this.cfg.mask_ratio, delta: await this.tensorRef(sh.delta), minScore: sh.minScore };
  }

  private async memoryRecord(m: LiveMemory, step: MergeStep) {
    return {
      id: m.id, shardIds: m.shardIds, method: this.cfg.merge_alg, params: { densities: this.cfg.densities, lambda: this.cfg.lambda, ...this.cfg.merge_params },
      weights: await this.tensorRef(m.delta), threshold: m.minScore === null ? 0 : this.cfg.act_ratio * m.minScore,
      meta: { minScore: m.minScore, previous: step.previous, merged: step.shardIds },
    };
  }

  private async putActive(next: EditorState, tx: Tx): Promise<void> {
    const a = next.active;
    tx.putMeta('active', {
      index: a.index, maskSeed: a.maskSeed, editIds: a.editIds, minScore: a.minScore,
      // W′ itself, not W′ − W: (W′ − W) + W does not give back W′'s bits in float32.
      side: a.editIds.length > 0 ? await this.tensorRef(a.side) : null,
    });
    tx.putMeta('pending', next.pending);
  }

  /** Forces a merge of the pending shards now (and saves the active memory first if it holds edits). */
  mergeNow(): Promise<{ merged: boolean; memory: string | null }> {
    return this.serial(async () => {
      let next: EditorState = { ...this.state };
      const tx = new Tx();
      if (next.active.editIds.length > 0) await this.saveActive(next, tx);
      if (next.pending.length === 0) return { merged: false, memory: null };
      await this.mergePending(next, tx);
      await this.putActive(next, tx);
      next = await this.withEps(next, this.live);
      await this.store.commit(tx);
      this.state = next;
      return { merged: true, memory: next.memories.at(-1)?.id ?? null };
    });
  }

  revert(id: number): Promise<EditRecord> {
    return this.serial(async () => {
      const { revertEdit } = await import('./revert.js');
      return revertEdit(this, id);
    });
  }

  /** The gradient mask of the shard with mask seed `seed` (wise.mask_ratio, wise.mask_structure). */
  private maskOf(seed: number): Float32Array {
    return shardMask(seed, this.memory.shape, this.memory.lm.spec.layer.mlp.down.layout, this.cfg.mask_ratio, this.cfg.mask_structure);
  }

  /** Replays `editIds` from W inside the mask of shard `index`: W′, the min score. Deterministic. */
  async replay(index: number, editIds: readonly number[]): Promise<{ side: Float32Array; minScore: number | null }> {
    const side = Float32Array.from(this.memory.base);
    const mask = this.maskOf(shardSeed(this.cfg.seed, index));
    let minScore: number | null = null;
    for (const eid of editIds) {
      const e = await this.store.getEdit(eid);
      if (!e) throw new WiseError('WISE_NOT_FOUND', `edit ${eid} is missing from the log`, { id: eid });
      const req = e.request as EditRequest;
      const irrelevant = (e.meta as { irrelevant: string | string[] }).irrelevant;
      const r = await this.memory.train(side, mask, this.memory.batch(this.templates, { prompt: req.prompt, target: req.target, irrelevant }));
      minScore = minOf(minScore, this.scoreOf(r));
    }
    return { side, minScore };
  }

  /**
   * wise.replay_conflicts: the applied edits outside the active memory (`own`) on whose prompt
   * (alone or with its target) the trained W′ `side` scores ≥ replay_conflicts × act_ratio × `score`, in id order.
   */
  private async conflictsOf(side: Float32Array, own: readonly number[], score: number): Promise<{ id: number; text: string }[]> {
    const f = this.cfg.replay_conflicts;
    if (f === null) return [];
    const others = new Map([...this.live].filter(([id]) => !own.includes(id)));
    if (others.size === 0) return [];
    const scores = await this.editScores.scores(this.deltaFrom(side), others);
    const out: { id: number; text: string }[] = [];
    for (const [id, e] of others) if (Math.max(...scores.get(id)!) >= f * this.cfg.act_ratio * score) out.push({ id, text: `${e.prompt} ${e.target.replace(/^\s+/, '')}` });
    return out;
  }

  /** The last `k` applied edits' requests, newest first. */
  private async recentEdits(k: number): Promise<EditRequest[]> {
    if (k <= 0) return [];
    const out: EditRequest[] = [];
    for (let id = this.store.nextEditId - 1; id >= 0 && out.length < k; id--) {
      const e = await this.store.getEdit(id);
      if (e?.status === 'active') out.push(e.request as EditRequest);
    }
    return out;
  }

  /** The score that feeds ε (wise.threshold_on). */
  private scoreOf(r: { editScore: number; promptScore: number; promptOnlyScore: number; irrelevantMax: number }): number {
    // 'prompt': the lower of the bare prompt with its target (teacher-forced evaluation) and
    // without it (a generation routes on the prompt alone)
    const s = this.cfg.threshold_on === 'prompt' ? Math.min(r.promptScore, r.promptOnlyScore) : r.editScore;
    return this.cfg.threshold_above_irrelevant ? Math.max(s, r.irrelevantMax / this.cfg.act_ratio) : s;
  }

  /** Internal: used by revert.ts after a successful commit. */
  setState(s: EditorState): void {
    this.state = s;
  }

  /** Commits `next` (after a revert of `reverted`, when given) and makes it the live state. */
  async persist(tx: Tx, next: EditorState, reverted?: number): Promise<void> {
    await this.putActive(next, tx);
    const live = new Map(this.live);
    if (reverted !== undefined) live.delete(reverted);
    const withEps = await this.withEps(next, live);
    await this.store.commit(tx);
    this.live = live;
    this.state = withEps;
  }

  /**
   * `s` with each memory's ε (router/conflicts.ts) from wise.threshold_above_edits (above its
   * scores on the prompts of the applied edits `live` it does not hold), wise.threshold_pool
   * (above its scores on held-out pool text: threshold_above_pool × their max, or their mean +
   * threshold_pool_z × std), and on the routing statistic's scale when that is
   * not the training's. Unchanged (act_ratio × minScore) when all are off.
   */
  async withEps(s: EditorState, live: ReadonlyMap<number, EditText>): Promise<EditorState> {
    const margin = this.cfg.threshold_above_edits;
    const poolFactor = this.cfg.threshold_pool > 0 && this.pool.length > 0 ? this.cfg.threshold_above_pool : null;
    if (margin === null && poolFactor === null && isPlain(this.routeStat)) return s;
    const eps = await this.epsTracker.eps(memoryViews(s, this.memory.base), live, { actRatio: this.cfg.act_ratio, margin, poolFactor, poolZ: this.cfg.threshold_pool_z });
    return { ...s, eps };
  }

  shardRecordOf(sh: LiveShard) {
    return this.shardRecord(sh);
  }
  memoryRecordOf(m: LiveMemory, step: MergeStep) {
    return this.memoryRecord(m, step);
  }
  /** W′ − W of a side memory `side` (a new array). */
  deltaFrom(side: Float32Array): Float32Array {
    return deltaOf(side, this.memory.base);
  }
}
