/**
 * onnxruntime sessions cached by graph content hash for the life of the process (creating
 * one costs 35 ms to 2.5 s; running a small graph costs ~0.03 ms), evicted least-recently
 * used when the sum of serialized model sizes exceeds a budget.
 *
 * Execution providers: 'cpu' (default, bundled with onnxruntime-node). 'cuda' is optional:
 * it needs the onnxruntime-node CUDA binaries installed (linux x64, CUDA 12; e.g.
 * `npm install` with `--onnxruntime-node-install-cuda` or the env var
 * ONNXRUNTIME_NODE_INSTALL_CUDA=v12) and falls back to CPU for unsupported ops when listed
 * as ['cuda', 'cpu'].
 */
import * as ort from 'onnxruntime-node';
import { WiseError } from '../util/errors.js';
import { graphHash, toOnnxBytes, type Graph } from '../graph/index.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface EngineOptions {
  /** Intra-op threads per session. Default 2. */
  intraOpNumThreads?: number;
  /** Providers in priority order. Default ['cpu']. */
  executionProviders?: readonly ExecutionProvider[];
  /** Budget for cached sessions, in serialized model bytes. Default 2 GiB. */
  cacheBudgetBytes?: number;
  /** ORT worker spinning (faster, burns CPU while idle). Turn off for benchmarks under contention. Default true. */
  allowSpinning?: boolean;
  /** Default 'all'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface Entry {
  readonly hash: string;
  readonly session: ort.InferenceSession;
  readonly bytes: number;
  inFlight: number;
  evicted: boolean;
}

export interface CacheStats {
  sessions: number;
  bytes: number;
  created: number;
  hits: number;
  evicted: number;
}

/**
 * float64 graphs (finite-difference checks) are capped at 'basic': ORT's extended fusions
 * produce com.microsoft ops with float-only kernels, e.g. x*sigmoid(x) -> QuickGelu, which
 * then fail to load ("implemented only for tensor(float)").
 */
function optimizationLevel(floatType: Graph['floatType'], level: NonNullable<EngineOptions['graphOptimizationLevel']>): typeof level {
  return floatType === 'float64' && (level === 'extended' || level === 'all') ? 'basic' : level;
}

/** The engine settings with every default filled in. */
export function resolveEngineOptions(opts: EngineOptions = {}): Required<EngineOptions> {
  return {
    intraOpNumThreads: opts.intraOpNumThreads ?? 2,
    executionProviders: opts.executionProviders ?? ['cpu'],
    cacheBudgetBytes: opts.cacheBudgetBytes ?? 2 ** 31,
    allowSpinning: opts.allowSpinning ?? true,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
  };
}

/** One onnxruntime session for a serialized graph under settings `o` (the cache's entries). */
async function createSession(bytes: Uint8Array, o: Required<EngineOptions>, floatType: Graph['floatType'], name: string, hash: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: o.intraOpNumThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      executionProviders: [...o.executionProviders],
      graphOptimizationLevel: optimizationLevel(floatType, o.graphOptimizationLevel),
      extra: o.allowSpinning ? {} : { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (err) {
    throw new WiseError('WISE_ENGINE', `onnxruntime could not load graph ${name}: ${(err as Error).message}`, { hash, graph: name }, { cause: err });
  }
}

/** A serialized graph as the cache needs it: its hash, and its bytes only when a session must be made. */
export interface GraphSource {
  hash: string;
  name: string;
  floatType: Graph['floatType'];
  bytes: () => Uint8Array;
  /** bytes the session holds besides the graph's (its input defaults, kept by the caller), counted in the budget */
  extraBytes?: number;
}

export class SessionCache {
  private readonly entries = new Map<string, Entry>(); // insertion order = LRU order
  private readonly pending = new Map<string, Promise<Entry>>();
  readonly opts: Required<EngineOptions>;
  private readonly stats: CacheStats = { sessions: 0, bytes: 0, created: 0, hits: 0, evicted: 0 };

  /** @param onEvict called with the hash of each session evicted to keep the budget */
  constructor(opts: EngineOptions = {}, private readonly onEvict?: (hash: string) => void) {
    this.opts = resolveEngineOptions(opts);
  }

  /** The cached session for g (created on first use). Marks it in use until `done(entry)`. */
  acquire(g: Graph): Promise<Entry> {
    return this.acquireSource({ hash: graphHash(g), name: g.name, floatType: g.floatType, bytes: () => toOnnxBytes(g) });
  }

  /** acquire for a graph given by hash and bytes (the training process: memory/train-child.ts). */
  async acquireSource(src: GraphSource): Promise<Entry> {
    const hash = src.hash;
    let e = this.entries.get(hash);
    if (e) {
      this.stats.hits++;
      this.entries.delete(hash); // move to most-recent
      this.entries.set(hash, e);
    } else {
      let p = this.pending.get(hash);
      if (!p) {
        p = this.create(src).finally(() => this.pending.delete(hash));
        this.pending.set(hash, p);
      } else this.stats.hits++;
      e = await p;
    }
    e.inFlight++;
    return e;
  }

  release(e: Entry): void {
    e.inFlight--;
    if (e.evicted && e.inFlight === 0) void e.session.release();
  }

  /** The session object for g (same object for graphs with the same hash). */
  async session(g: Graph): Promise<ort.InferenceSession> {
    const e = await this.acquire(g);
    this.release(e);
    return e.session;
  }

  getStats(): CacheStats {
    return { ...this.stats };
  }

  /** Releases every session. */
  async dispose(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.stats.sessions = 0;
    this.stats.bytes = 0;
    await Promise.all(all.map((e) => e.session.release()));
  }

  private async create(src: GraphSource): Promise<Entry> {
    const bytes = src.bytes();
    const session = await createSession(bytes, this.opts, src.floatType, src.name, src.hash);
    const e: Entry = { hash: src.hash, session, bytes: bytes.byteLength + (src.extraBytes ?? 0), inFlight: 0, evicted: false };
    this.entries.set(src.hash, e);
    this.stats.created++;
    this.stats.sessions++;
    this.stats.bytes += e.bytes;
    this.evict(e);
    return e;
  }

  /** Drops least-recently-used idle sessions until the budget holds (never `keep`). */
  private evict(keep: Entry): void {
    for (const [hash, e] of this.entries) {
      if (this.stats.bytes <= this.opts.cacheBudgetBytes) break;
      if (e === keep) continue;
      this.entries.delete(hash);
      this.stats.sessions--;
      this.stats.bytes -= e.bytes;
      this.stats.evicted++;
      e.evicted = true;
      if (e.inFlight === 0) void e.session.release();
      this.onEvict?.(hash);
    }
  }
}
