/**
 * Per-chunk result cache for long lifelong-editing tables: one JSON file per
 * (model, dataset, method, T, chunk), written atomically (temp file + rename), so an interrupted run
 * loses at most the chunk in flight and a later run fills in only what is missing.
 *
 * An entry is reused only when its fingerprint (the caller's config hash) and its record ids match
 * the current run; otherwise, or when the file is unreadable, the chunk is recomputed and overwritten.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RequestResult } from './metrics.js';

export interface ChunkKey {
  model: string;
  dataset: string;
  method: string;
  T: number;
  chunk: number;
}

export interface ChunkTiming {
  preSeconds: number;
  editSeconds: number;
  postSeconds: number;
  wallSeconds: number;
}

export interface ChunkEntry {
  version: 1;
  key: ChunkKey;
  fingerprint: string;
  recordIds: string[];
  results: RequestResult[];
  timing: ChunkTiming;
  finishedAt: string;
  /** The edits came from a kept state (EditMethod.restore); timing.editSeconds is when they were applied. */
  restored?: boolean;
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);

/** File name: readable parts + a hash of the exact key (slugs alone could collide). */
export function chunkFileName(key: ChunkKey): string {
  const exact = JSON.stringify([key.model, key.dataset, key.method, key.T, key.chunk]);
  const h = createHash('sha256').update(exact).digest('hex').slice(0, 10);
  return `${slug(key.model)}__${slug(key.dataset)}__${slug(key.method)}__T${key.T}__c${key.chunk}__${h}.json`;
}

let tmpCounter = 0;

/** Writes `text` to `file` atomically: a sibling temp file, then rename (atomic on one filesystem). */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export class ChunkCache {
  constructor(readonly dir: string) {}

  file(key: ChunkKey): string {
    return path.join(this.dir, chunkFileName(key));
  }

  /** The cached entry, or null when absent, unreadable, or made for another config / other records. */
  get(key: ChunkKey, fingerprint: string, recordIds: readonly string[]): ChunkEntry | null {
    const file = this.file(key);
    if (!existsSync(file)) return null;
    let e: ChunkEntry;
    try {
      e = JSON.parse(readFileSync(file, 'utf8')) as ChunkEntry;
    } catch {
      return null;
    }
    if (e?.version !== 1 || e.fingerprint !== fingerprint || !Array.isArray(e.results) || !Array.isArray(e.recordIds)) return null;
    if (e.recordIds.length !== recordIds.length || e.recordIds.some((id, i) => id !== recordIds[i])) return null;
    return e;
  }

  put(entry: ChunkEntry): void {
    writeFileAtomic(this.file(entry.key), JSON.stringify(entry, nanToNull, 1));
  }
}

/**
 * JSON has no NaN: metrics that are NaN (empty targets) are stored as null and read back as
 * null, which `meanFinite` skips like NaN.
 */
function nanToNull(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}
