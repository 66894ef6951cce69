/**
 * results.json: the machine-readable twin of report.html (the report is rendered from this object,
 * so both always carry the same numbers).
 *
 * Shape:
 *   { schema: "wise-edit/eval-results@1",
 *     meta: { model, dataset, kind?, seed?, configHash, versions{node, wise-edit, …}, createdAt, records, skipped?, notes[] },
 *     methods: [ { method, cells: [ { T, n, chunks, chunksCached, chunksAvailable,
 *                                      pre: Headline, post: Headline, summary: Summary, timing,
 *                                      perChunk: [{chunk, cached, summary, timing}], requests?: RequestResult[] } ] } ] }
 * Non-finite numbers (NaN metrics) are written as null.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../config/paths.js';
import type { ChunkTiming } from './cache.js';
import type { DatasetKind } from './datasets.js';
import type { ChunkSummary, MethodRun } from './lifelong.js';
import { headline, type Headline, type RequestResult, type Summary } from './metrics.js';

export const RESULTS_SCHEMA = 'wise-edit/eval-results@1';

export interface RunMeta {
  model: string;
  dataset: string;
  kind?: DatasetKind;
  seed?: number;
  /** Hash of the run's full config (see `configHash`). */
  configHash: string;
  versions: Record<string, string>;
  createdAt: string;
  /** Usable records in the dataset, and records skipped by the loader. */
  records: number;
  skipped?: number;
  notes?: string[];
}

export interface CellJson {
  T: number;
  n: number;
  chunks: number;
  chunksCached: number;
  chunksAvailable: number;
  pre: Headline;
  post: Headline;
  summary: Summary;
  timing: ChunkTiming;
  perChunk: ChunkSummary[];
  requests?: RequestResult[];
}

export interface ResultsJson {
  schema: typeof RESULTS_SCHEMA;
  meta: RunMeta;
  methods: { method: string; cells: CellJson[] }[];
}

/** JSON with sorted object keys, so equal configs hash equal whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** sha256 (first 16 hex digits) of the canonical JSON of a config object. */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}

/** Node and wise-edit versions, plus any extras (e.g. onnxruntime-node). */
export function runVersions(extra: Record<string, string> = {}): Record<string, string> {
  let pkg = 'unknown';
  try {
    pkg = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    // a bundled build without package.json: keep 'unknown'
  }
  return { node: process.version, 'wise-edit': pkg, ...extra };
}

export function buildResults(runs: readonly MethodRun[], meta: RunMeta, opts: { requests?: boolean } = {}): ResultsJson {
  const withRequests = opts.requests ?? true;
  return {
    schema: RESULTS_SCHEMA,
    meta,
    methods: runs.map((r) => ({
      method: r.method,
      cells: r.cells.map((c) => {
        const cell: CellJson = {
          T: c.T,
          n: c.n,
          chunks: c.chunks,
          chunksCached: c.chunksCached,
          chunksAvailable: c.chunksAvailable,
          pre: preHeadline(c.summary.pre),
          post: headline(c.summary.post),
          summary: c.summary,
          timing: c.timing,
          perChunk: c.perChunk,
        };
        if (withRequests) cell.requests = c.results;
        return cell;
      }),
    })),
  };
}

/**
 * Pre-edit headline without Avg.: pre-edit Loc. is 1 by definition and not stored, so an average of
 * the pre-edit Rel./Gen. alone would not be comparable with the post-edit Avg.
 */
function preHeadline(side: Summary['pre']): Headline {
  const h = headline(side);
  delete h.avg;
  return h;
}

/** Serializes results (NaN → null). */
export function resultsToJson(results: ResultsJson): string {
  return JSON.stringify(results, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1);
}
