/**
 * The lifelong-editing protocol (wise-reference.md §3, "Lifelong protocol"; §8.6):
 *
 *   for each T, the records are cut into disjoint chunks of T (records [cT, (c+1)T), same data for
 *   every method); per chunk:
 *     reset()                      restore the unedited model (so chunks never see each other's edits)
 *     pre  = evaluate all T        pre-edit outputs first, on the unedited model
 *     applyEdit × T in order       sequential editing, no restore in between
 *     post = evaluate all T        edit-all-then-evaluate, on the final model (the paper's protocol;
 *                                  not EasyEdit @14cea82's evaluate-after-each-edit)
 *   the cell for T = means over the evaluated requests of all chunks (equal-size chunks, so this is
 *   also the mean of the chunk means).
 *
 * The paper averages T=1 over 1000 runs, T=10 over 100, T=100 over 10, T=1000 over 1. The default
 * chunk caps here are 50/10/2/1 (device budget); `chunks` overrides them and the report prints the
 * counts used. Each finished chunk is cached (cache.ts) so a long table fills in over several runs.
 */
import { WiseError } from '../util/errors.js';
import { ChunkCache, type ChunkEntry, type ChunkKey, type ChunkTiming } from './cache.js';
import type { EvalRecord } from './datasets.js';
import { combine, evaluateSide, type EvaluateOptions } from './evaluate.js';
import { summarize, type RequestResult, type Summary } from './metrics.js';
import type { Scorer } from './scorer.js';

/** What the model layer implements for each editing method (WISE, GRACE, FT-L, …). */
export interface EditMethod {
  /** Name in tables, charts and cache keys. */
  readonly name: string;
  /**
   * Restores the unedited model (drops every edit since construction or the last reset). `chunk`
   * names the chunk about to run, for methods that keep edited states (restore / keep).
   */
  reset(chunk?: ChunkRef): Promise<void>;
  /** Applies one edit on top of the current state; `irrelevant` is the paired train-split sample. */
  applyEdit(rec: EvalRecord, irrelevant?: string): Promise<void>;
  /** A Scorer over the current state (called after reset for pre, after the edits for post). */
  scorer(): Scorer;
  /**
   * Optional (WISE with kept states): after the pre-edit evaluation, switch to a kept state that
   * already holds this chunk's edits, instead of applying them again. Returns the seconds the
   * edits took when they were applied, or null when there is no such state.
   */
  restore?(): Promise<number | null>;
  /** Optional: every edit of the chunk has been passed to applyEdit (a batch method such as MEMIT-MASS applies them now; timed as editing). */
  finishEdits?(): Promise<void>;
  /** Optional: the chunk's edits are all applied (in `editSeconds`); keep the state for restore. */
  keep?(editSeconds: number): Promise<void>;
}

/** The chunk a reset prepares: its cache key and the ids of its records, in edit order. */
export interface ChunkRef {
  key: ChunkKey;
  recordIds: readonly string[];
}

/** Default chunk caps (paper: 1000/100/10/1); T not listed → 1 chunk. */
export const DEFAULT_CHUNK_CAPS: Readonly<Record<number, number>> = { 1: 50, 10: 10, 100: 2, 1000: 1 };

export type ProgressPhase = 'cached' | 'pre' | 'edit' | 'post' | 'chunk-done';

export interface Progress {
  method: string;
  T: number;
  chunk: number;
  chunks: number;
  phase: ProgressPhase;
  /** Edits done / to do in this run (cached chunks excluded). */
  editsDone: number;
  editsTotal: number;
  elapsedMs: number;
  /** Remaining time estimated from the time per edit so far (eval time included); undefined before the first edit. */
  etaMs?: number;
}

export interface LifelongOptions {
  /** Names used in cache keys and the report. */
  model: string;
  dataset: string;
  records: readonly EvalRecord[];
  /** Train-split irrelevant samples; record at position g gets irrelevant[g % length]. */
  irrelevant?: readonly string[];
  ts: readonly number[];
  /** Chunk count override: one number for every T, or per T. */
  chunks?: number | Readonly<Record<number, number>>;
  /** Cache directory; no caching when absent. */
  cacheDir?: string;
  /** The method's config hash: cached chunks made under another fingerprint are recomputed. */
  fingerprint?: string;
  evaluate?: EvaluateOptions;
  onProgress?: (p: Progress) => void;
  /** Millisecond clock (tests inject one). */
  now?: () => number;
}

export interface ChunkSummary {
  chunk: number;
  cached: boolean;
  summary: Summary;
  timing: ChunkTiming;
}

export interface CellResult {
  T: number;
  /** Chunks evaluated, of which `chunksCached` came from the cache; `chunksAvailable` = floor(N / T). */
  chunks: number;
  chunksCached: number;
  chunksAvailable: number;
  /** Requests behind the means (= chunks × T). */
  n: number;
  summary: Summary;
  perChunk: ChunkSummary[];
  /** Sums over chunks (cached chunks contribute the time they took when computed). */
  timing: ChunkTiming;
  /** Per-request results, in chunk order. */
  results: RequestResult[];
}

export interface MethodRun {
  method: string;
  cells: CellResult[];
}

/** Chunks used for T over N records. */
export function chunkCount(T: number, N: number, override?: LifelongOptions['chunks']): number {
  if (!Number.isInteger(T) || T < 1) throw new WiseError('WISE_USAGE', `T must be a positive integer, got ${T}`, { T });
  const available = Math.floor(N / T);
  if (available === 0) throw new WiseError('WISE_USAGE', `T=${T} needs at least ${T} records, the dataset has ${N}`, { T, records: N });
  const want = typeof override === 'number' ? override : override?.[T] ?? DEFAULT_CHUNK_CAPS[T] ?? 1;
  if (!Number.isInteger(want) || want < 1) throw new WiseError('WISE_USAGE', `chunk count must be a positive integer, got ${want}`, { T, chunks: want });
  return Math.min(want, available);
}

const zeroTiming = (): ChunkTiming => ({ preSeconds: 0, editSeconds: 0, postSeconds: 0, wallSeconds: 0 });

/** Runs the protocol for one method over every T. */
export async function runLifelong(method: EditMethod, opts: LifelongOptions): Promise<MethodRun> {
  const now = opts.now ?? (() => performance.now());
  const N = opts.records.length;
  const cache = opts.cacheDir ? new ChunkCache(opts.cacheDir) : null;
  const fingerprint = opts.fingerprint ?? '';
  const keyOf = (T: number, chunk: number): ChunkKey => ({ model: opts.model, dataset: opts.dataset, method: method.name, T, chunk });
  const idsOf = (T: number, c: number): string[] => opts.records.slice(c * T, (c + 1) * T).map((r) => r.id);

  // Plan first, so progress knows the total work left (cached chunks cost nothing).
  const plan = opts.ts.map((T) => {
    const chunks = chunkCount(T, N, opts.chunks);
    const hits = Array.from({ length: chunks }, (_, c) => cache?.get(keyOf(T, c), fingerprint, idsOf(T, c)) ?? null);
    return { T, chunks, hits };
  });
  const editsTotal = plan.reduce((s, p) => s + p.T * p.hits.filter((h) => h === null).length, 0);
  const t0 = now();
  let editsDone = 0;
  const report = (T: number, chunk: number, chunks: number, phase: ProgressPhase): void => {
    if (!opts.onProgress) return;
    const elapsedMs = now() - t0;
    const p: Progress = { method: method.name, T, chunk, chunks, phase, editsDone, editsTotal, elapsedMs };
    if (editsDone > 0) p.etaMs = (elapsedMs / editsDone) * (editsTotal - editsDone);
    opts.onProgress(p);
  };

  const cells: CellResult[] = [];
  for (const { T, chunks, hits } of plan) {
    const perChunk: ChunkSummary[] = [];
    const results: RequestResult[] = [];
    for (let c = 0; c < chunks; c++) {
      let entry = hits[c] ?? null;
      const cached = entry !== null;
      if (entry === null) {
        let last = now();
        const onEdit = (n = 1): void => {
          editsDone += n;
          if (now() - last < 5000) return; // an 'edit' line (with its ETA) at most every 5 s
          last = now();
          report(T, c, chunks, 'edit');
        };
        entry = await runChunk(method, opts, keyOf(T, c), fingerprint, now, (phase) => report(T, c, chunks, phase), onEdit);
        cache?.put(entry);
      }
      report(T, c, chunks, cached ? 'cached' : 'chunk-done');
      results.push(...entry.results);
      perChunk.push({ chunk: c, cached, summary: summarize(entry.results), timing: entry.timing });
    }
    const timing = zeroTiming();
    for (const pc of perChunk) for (const k of Object.keys(timing) as (keyof ChunkTiming)[]) timing[k] += pc.timing[k];
    cells.push({
      T,
      chunks,
      chunksCached: perChunk.filter((p) => p.cached).length,
      chunksAvailable: Math.floor(N / T),
      n: results.length,
      summary: summarize(results),
      perChunk,
      timing,
      results,
    });
  }
  return { method: method.name, cells };
}

/** One chunk: reset, pre-evaluate, T sequential edits, post-evaluate. */
async function runChunk(
  method: EditMethod,
  opts: LifelongOptions,
  key: ChunkKey,
  fingerprint: string,
  now: () => number,
  phase: (p: ProgressPhase) => void,
  onEdit: (n?: number) => void,
): Promise<ChunkEntry> {
  const start = key.chunk * key.T;
  const recs = opts.records.slice(start, start + key.T);
  const timing = zeroTiming();
  const tStart = now();

  await method.reset({ key, recordIds: recs.map((r) => r.id) });
  phase('pre');
  let t = now();
  const pre = await evaluateSide(method.scorer(), recs, opts.evaluate);
  timing.preSeconds = (now() - t) / 1000;

  phase('edit');
  t = now();
  const kept = method.restore ? await method.restore() : null;
  if (kept !== null) {
    // the edits were applied when the state was kept: their time then, not the reopening's
    timing.editSeconds = kept;
    onEdit(recs.length);
  } else {
    const irr = opts.irrelevant;
    for (let i = 0; i < recs.length; i++) {
      const g = start + i;
      await method.applyEdit(recs[i] as EvalRecord, irr && irr.length > 0 ? irr[g % irr.length] : undefined);
      onEdit();
    }
    await method.finishEdits?.();
    timing.editSeconds = (now() - t) / 1000;
    await method.keep?.(timing.editSeconds);
  }

  phase('post');
  t = now();
  const post = await evaluateSide(method.scorer(), recs, opts.evaluate);
  timing.postSeconds = (now() - t) / 1000;
  timing.wallSeconds = (now() - tStart) / 1000;

  return {
    version: 1,
    key,
    fingerprint,
    recordIds: recs.map((r) => r.id),
    results: recs.map((r, i) => combine(r.id, pre[i]!, post[i]!)),
    timing,
    finishedAt: new Date().toISOString(),
    ...(kept !== null ? { restored: true } : {}),
  };
}

/** Runs several methods on the same data (each method's cells share the same chunks). */
export async function runMethods(methods: readonly EditMethod[], opts: LifelongOptions): Promise<MethodRun[]> {
  const out: MethodRun[] = [];
  for (const m of methods) out.push(await runLifelong(m, opts));
  return out;
}
