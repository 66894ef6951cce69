/**
 * Input validation for records before they are committed. Public store methods validate,
 * then the base store encodes (the Level template-method pattern). Hand-written rather
 * than zod because shards/ imports only util (style guide §3).
 * Every failure is WISE_BAD_REQUEST with `details.field` naming the offending field.
 */
import { WiseError } from '../util/errors.js';
import { DTYPE_BYTES, type EditRecord, type MemoryRecord, type ShardRecord, type TensorRef } from './store.js';

/** Ids of shards, memories and meta names become part of keys: keep them short and plain. */
export const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const HASH_RE = /^[0-9a-f]{64}$/;

function bad(what: string, field: string, message: string, value?: unknown): WiseError {
  return new WiseError('WISE_BAD_REQUEST', `invalid ${what}: ${field} ${message}`, { field, value });
}

function isU32(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;
}

export function checkId(what: string, field: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID_RE.test(id)) throw bad(what, field, `must match ${ID_RE} (got ${JSON.stringify(id)})`, id);
}

/** Rejects values JSON cannot round-trip: undefined, NaN/Infinity, functions, bigint, cycles. */
export function checkJson(what: string, field: string, v: unknown, seen = new Set<object>()): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(what, field, `is not finite (${v})`);
    return;
  }
  if (typeof v !== 'object') throw bad(what, field, `is not JSON (${typeof v})`);
  if (seen.has(v)) throw bad(what, field, 'contains a cycle');
  seen.add(v);
  if (Array.isArray(v)) v.forEach((x, i) => checkJson(what, `${field}[${i}]`, x, seen));
  else if (ArrayBuffer.isView(v)) throw bad(what, field, 'is a typed array: store it as a blob');
  else for (const [k, x] of Object.entries(v)) if (x !== undefined) checkJson(what, `${field}.${k}`, x, seen);
  seen.delete(v);
}

function checkTensor(what: string, field: string, t: TensorRef | null): void {
  if (t === null) return;
  if (typeof t !== 'object') throw bad(what, field, 'must be a TensorRef or null');
  const { blob, dtype, shape } = t;
  if (!blob || typeof blob.hash !== 'string' || !HASH_RE.test(blob.hash)) throw bad(what, `${field}.blob.hash`, 'must be a sha256 hex', blob?.hash);
  if (!Number.isInteger(blob.size) || blob.size < 0) throw bad(what, `${field}.blob.size`, 'must be a byte count', blob.size);
  if (typeof blob.inline !== 'boolean') throw bad(what, `${field}.blob.inline`, 'must be boolean');
  const width = DTYPE_BYTES[dtype];
  if (width === undefined) throw bad(what, `${field}.dtype`, `must be one of ${Object.keys(DTYPE_BYTES).join(', ')}`, dtype);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(what, `${field}.shape`, 'must be non-negative integers', shape);
  const bytes = shape.reduce((a, d) => a * d, 1) * width;
  if (bytes !== blob.size) throw bad(what, `${field}`, `shape [${shape.join(', ')}] × ${dtype} is ${bytes} bytes but the blob holds ${blob.size}`);
}

export function validateEdit(r: EditRecord): void {
  const w = `edit ${r?.id}`;
  if (!Number.isInteger(r.id) || r.id < 0) throw bad(w, 'id', 'must be a non-negative integer', r.id);
  checkJson(w, 'request', r.request);
  if (r.request === undefined) throw bad(w, 'request', 'is required');
  if (!isU32(r.seed)) throw bad(w, 'seed', 'must be a u32', r.seed);
  if (!Array.isArray(r.irrelevantSampleIds) || !r.irrelevantSampleIds.every((s) => typeof s === 'string')) {
    throw bad(w, 'irrelevantSampleIds', 'must be an array of strings');
  }
  if (r.status !== 'active' && r.status !== 'reverted') throw bad(w, 'status', "must be 'active' or 'reverted'", r.status);
  if (r.shardId !== null) checkId(w, 'shardId', r.shardId);
  if (typeof r.createdAt !== 'string') throw bad(w, 'createdAt', 'must be an ISO string');
  checkJson(w, 'meta', r.meta ?? null);
}

export function validateShard(r: ShardRecord): void {
  const w = `shard ${r?.id}`;
  checkId(w, 'id', r.id);
  if (!Array.isArray(r.editIds) || !r.editIds.every((e, i) => Number.isInteger(e) && e >= 0 && (i === 0 || e > (r.editIds[i - 1] ?? -1)))) {
    throw bad(w, 'editIds', 'must be strictly ascending non-negative integers', r.editIds);
  }
  if (!isU32(r.maskSeed)) throw bad(w, 'maskSeed', 'must be a u32', r.maskSeed);
  if (!(typeof r.density === 'number' && r.density > 0 && r.density <= 1)) throw bad(w, 'density', 'must be in (0, 1]', r.density);
  checkTensor(w, 'delta', r.delta);
  if (r.minScore !== null && !Number.isFinite(r.minScore)) throw bad(w, 'minScore', 'must be finite or null', r.minScore);
  checkJson(w, 'meta', r.meta ?? null);
}

export function validateMemory(r: MemoryRecord): void {
  const w = `memory ${r?.id}`;
  checkId(w, 'id', r.id);
  if (!Array.isArray(r.shardIds)) throw bad(w, 'shardIds', 'must be an array');
  r.shardIds.forEach((s, i) => checkId(w, `shardIds[${i}]`, s));
  if (typeof r.method !== 'string' || r.method.length === 0) throw bad(w, 'method', 'must be a merge method name', r.method);
  checkJson(w, 'params', r.params ?? null);
  checkTensor(w, 'weights', r.weights);
  if (!Number.isFinite(r.threshold)) throw bad(w, 'threshold', 'must be finite', r.threshold);
  checkJson(w, 'meta', r.meta ?? null);
}

/**
 * Blob refs a record points to (used by commit, check, gc and backup). A meta record's value is
 * free JSON: every TensorRef-shaped object in it ({ blob: { hash, size, inline }, … }) is a
 * reference, so an editor may keep tensors under meta (the active memory's W′) and the store
 * tracks them like a shard's delta or a memory's weights.
 */
export function blobRefsOf(kind: string, rec: unknown): TensorRef['blob'][] {
  if (kind === 'shard') {
    const d = (rec as ShardRecord).delta;
    return d ? [d.blob] : [];
  }
  if (kind === 'memory') {
    const w = (rec as MemoryRecord).weights;
    return w ? [w.blob] : [];
  }
  if (kind === 'meta') {
    const out: TensorRef['blob'][] = [];
    collectRefs(rec, out);
    return out;
  }
  return [];
}

/** A blob's identity across both places blobs live (an inline record and a file may share a hash). */
export const refKey = (r: Pick<TensorRef['blob'], 'inline' | 'hash'>): string => `${r.inline}:${r.hash}`;

function isBlobRef(b: unknown): b is TensorRef['blob'] {
  if (b === null || typeof b !== 'object') return false;
  const r = b as Record<string, unknown>;
  return typeof r['hash'] === 'string' && HASH_RE.test(r['hash']) && Number.isInteger(r['size']) && typeof r['inline'] === 'boolean';
}

/** Appends the blob of every { blob: BlobRef } object inside a JSON value (depth-first, in order). */
function collectRefs(v: unknown, out: TensorRef['blob'][]): void {
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) collectRefs(x, out);
    return;
  }
  const blob = (v as { blob?: unknown }).blob;
  if (isBlobRef(blob)) out.push(blob);
  for (const x of Object.values(v)) collectRefs(x, out);
}
