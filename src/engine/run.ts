/**
 * Running graphs: `Engine.run(graph, feeds, fetches?)` validates the feeds against the
 * graph's inputs (names, dtypes, shapes, symbolic-dim consistency) before onnxruntime sees
 * them, then runs the cached session and returns plain Tensors.
 *
 * Inputs declared with `g.param(..., { asInput: true })` are fed from `g.inputDefaults`
 * unless the caller overrides them.
 */
import { WiseError } from '../util/errors.js';
import { numel, shapeStr, type Graph } from '../graph/index.js';
import { SessionCache, type CacheStats, type EngineOptions } from './session.js';
import { arrayMatches, fromOrt, toOrt, type Tensor } from './tensor.js';
import type * as ort from 'onnxruntime-node';

export type Feeds = Readonly<Record<string, Tensor>>;

/** Checks feeds against g's inputs; returns the complete feed set (defaults filled in). */
export function validateFeeds(g: Graph, feeds: Feeds): Record<string, Tensor> {
  const names = new Set(g.inputs.map((v) => v.name));
  const unknown = Object.keys(feeds).filter((k) => !names.has(k));
  if (unknown.length) {
    throw new WiseError('WISE_FEED_UNKNOWN', `unknown feed(s) ${unknown.join(', ')}; graph ${g.name} inputs: ${[...names].join(', ')}`, {
      unknown,
      inputs: [...names],
    });
  }
  const all: Record<string, Tensor> = {};
  const missing: string[] = [];
  for (const v of g.inputs) {
    const t = feeds[v.name] ?? g.inputDefaults.get(v.name);
    if (t) all[v.name] = t;
    else missing.push(v.name);
  }
  if (missing.length) {
    throw new WiseError('WISE_FEED_MISSING', `missing feed(s) ${missing.join(', ')} for graph ${g.name}`, { missing });
  }
  const bound = new Map<string, { size: number; input: string }>();
  for (const v of g.inputs) {
    const t = all[v.name]!;
    const ctx = { input: v.name, expected: { dtype: v.dtype, shape: [...v.shape] }, got: { dtype: t.dtype, dims: [...t.dims] } };
    if (t.dtype !== v.dtype || !arrayMatches(v.dtype, t.data)) {
      throw new WiseError('WISE_DTYPE_MISMATCH', `feed '${v.name}': expected ${v.dtype}, got ${t.dtype} (${t.data.constructor.name})`, ctx);
    }
    const shapeErr = (why: string): WiseError =>
      new WiseError('WISE_SHAPE_MISMATCH', `feed '${v.name}': expected ${shapeStr(v.shape)}, got ${shapeStr(t.dims)}${why}`, ctx);
    if (t.dims.length !== v.rank) throw shapeErr(' (rank differs)');
    v.shape.forEach((d, i) => {
      const got = t.dims[i]!;
      if (typeof d === 'number') {
        if (d !== got) throw shapeErr(` (dim ${i})`);
        return;
      }
      const b = bound.get(d);
      if (!b) bound.set(d, { size: got, input: v.name });
      else if (b.size !== got) throw shapeErr(` (symbolic dim ${d} is ${b.size} in '${b.input}')`);
    });
    if (t.data.length !== numel(t.dims)) throw shapeErr(` (data has ${t.data.length} elements)`);
  }
  return all;
}

/**
 * Runs an onnxruntime session on complete, validated feeds and returns `fetches` as Tensors (no
 * copies either way); an onnxruntime failure is WISE_ENGINE naming the graph. Engine.run's last step,
 * and the training process's (memory/train-child.ts), whose sessions are not in a cache.
 */
export async function runSession(session: ort.InferenceSession, feeds: Feeds, fetches: readonly string[], graph: string): Promise<Record<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = toOrt(t);
  try {
    const res = await session.run(ortFeeds, [...fetches]);
    const out: Record<string, Tensor> = {};
    for (const k of fetches) out[k] = fromOrt(res[k] as ort.Tensor);
    return out;
  } catch (err) {
    if (err instanceof WiseError) throw err;
    throw new WiseError('WISE_ENGINE', `onnxruntime failed running graph ${graph}: ${(err as Error).message}`, { graph }, { cause: err });
  }
}

export class Engine {
  readonly cache: SessionCache;

  constructor(opts: EngineOptions = {}) {
    this.cache = new SessionCache(opts);
  }

  /** Runs g. `fetches` limits the returned outputs (ORT still runs the whole graph). */
  async run(g: Graph, feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, Tensor>> {
    const all = validateFeeds(g, feeds);
    const outs = g.outputs.map((o) => o.name);
    const want = fetches ?? outs;
    const bad = want.filter((f) => !outs.includes(f));
    if (bad.length) throw new WiseError('WISE_GRAPH', `unknown output(s) ${bad.join(', ')}; graph ${g.name} outputs: ${outs.join(', ')}`, { bad, outputs: outs });
    const e = await this.cache.acquire(g);
    try {
      return await runSession(e.session, all, want, g.name);
    } finally {
      this.cache.release(e);
    }
  }

  /** The settings every session of this engine is made with. */
  get options(): Readonly<Required<EngineOptions>> {
    return this.cache.opts;
  }

  /** The cached onnxruntime session for g (same object for equal graph hashes). */
  session(g: Graph): Promise<ort.InferenceSession> {
    return this.cache.session(g);
  }

  stats(): CacheStats {
    return this.cache.getStats();
  }

  dispose(): Promise<void> {
    return this.cache.dispose();
  }
}

let shared: Engine | undefined;

/**
 * The process-wide engine behind `run()` (sessions live as long as the process, which is
 * the point of the cache). Options apply only on first call.
 */
export function defaultEngine(opts?: EngineOptions): Engine {
  shared ??= new Engine(opts);
  return shared;
}

/** Runs g on the default engine. */
export function run(g: Graph, feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, Tensor>> {
  return defaultEngine().run(g, feeds, fetches);
}
