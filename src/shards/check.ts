/**
 * checkStore: re-verifies every invariant of a store, for `wise db check` and for tests.
 *
 * Errors (ok = false): a record whose frame fails (checksum, magic, version, kind), an
 * unknown key, no header, edit ids not contiguous from 0 or not matching their key, a shard
 * naming a missing edit, a memory naming a missing shard, a blob referenced by a shard, memory
 * or meta record (the active memory's W′) missing or corrupt, a memory the editor's `rebuild`
 * callback cannot rebuild.
 * Warnings: orphan blobs (harmless: a crash between blob write and batch), an edit whose
 * shard is not stored yet (the active shard), an edit/shard disagreement about membership.
 * Reads one consistent snapshot via `store.entries()`; blob files are hashed in full.
 */
import { isWiseError } from '../util/errors.js';
import { decodeFrame, sha256Hex } from './codec.js';
import { KEYS, PREFIX, kindOfKey } from './keys.js';
import type { BlobRef, EditRecord, HeaderRecord, MemoryRecord, ShardRecord, ShardStore } from './store.js';
import { blobRefsOf, refKey } from './validate.js';

export interface CheckIssue {
  code: string;
  key?: string;
  message: string;
}

export interface CheckReport {
  ok: boolean;
  errors: CheckIssue[];
  warnings: CheckIssue[];
  stats: { edits: number; shards: number; memories: number; blobs: number; records: number };
}

export interface CheckOptions {
  /** Supplied by the editor: true when the memory can be rebuilt by replaying its edits. */
  rebuild?: (memory: MemoryRecord, store: ShardStore) => Promise<boolean>;
  /** Re-hash file blobs (default true). */
  verifyBlobs?: boolean;
}

export async function checkStore(store: ShardStore, opts: CheckOptions = {}): Promise<CheckReport> {
  const errors: CheckIssue[] = [];
  const warnings: CheckIssue[] = [];
  const edits = new Map<number, EditRecord | null>(); // null: present but unreadable
  const shards = new Map<string, ShardRecord>();
  const memories = new Map<string, MemoryRecord>();
  const metas = new Map<string, unknown>(); // key → { name, value }: values may hold TensorRefs (the active memory's W′)
  const inline = new Map<string, Uint8Array>();
  let header: HeaderRecord | undefined;
  let records = 0;

  // 1. Every record decodes (frame checksum, version, kind matches its key).
  for await (const { key, value } of store.entries()) {
    records++;
    const kind = kindOfKey(key);
    if (kind === undefined) {
      errors.push({ code: 'unknown-key', key, message: `unknown key '${key}'` });
      continue;
    }
    const editId = kind === 'edit' ? Number(key.slice(PREFIX.edit.length)) : -1;
    try {
      const f = decodeFrame(key, value);
      if (f.kind !== kind) throw Object.assign(new Error(`record under '${key}' is a ${f.kind} record`), { code: 'kind-mismatch' });
      if (kind === 'blob') {
        inline.set(key.slice(PREFIX.blob.length), f.payload);
        continue;
      }
      const rec: unknown = JSON.parse(new TextDecoder().decode(f.payload));
      if (kind === 'header') header = rec as HeaderRecord;
      else if (kind === 'edit') {
        const e = rec as EditRecord;
        if (e.id !== editId) errors.push({ code: 'edit-id-mismatch', key, message: `edit under '${key}' has id ${e.id}` });
        edits.set(editId, e);
      } else if (kind === 'shard') shards.set(key.slice(PREFIX.shard.length), rec as ShardRecord);
      else if (kind === 'memory') memories.set(key.slice(PREFIX.memory.length), rec as MemoryRecord);
      else if (kind === 'meta') metas.set(key, rec);
    } catch (e) {
      const code = isWiseError(e, 'WISE_STORE_VERSION') ? 'version' : ((e as { code?: string }).code === 'kind-mismatch' ? 'kind-mismatch' : 'corrupt');
      errors.push({ code, key, message: (e as Error).message });
      if (kind === 'edit') edits.set(editId, null);
    }
  }

  // 2. Header and fingerprint.
  if (!header) errors.push({ code: 'no-header', key: KEYS.header, message: 'store header missing or unreadable' });
  else if (store.fingerprint && header.fingerprint !== store.fingerprint) {
    errors.push({ code: 'fingerprint', key: KEYS.header, message: `header fingerprint ${header.fingerprint} ≠ open fingerprint ${store.fingerprint}` });
  }

  // 3. Edit log: ids exactly 0..n-1.
  const ids = [...edits.keys()].sort((a, b) => a - b);
  ids.forEach((id, i) => {
    if (id !== i && (i === 0 || ids[i - 1] !== id - 1)) {
      errors.push({ code: 'edit-gap', key: KEYS.edit(id), message: `edit ids not contiguous: ${i === 0 ? 'log starts' : `after ${ids[i - 1]} comes`} ${id}` });
    }
  });

  // 4. Shards ↔ edits, memories → shards.
  for (const [id, s] of shards) {
    const missing = s.editIds.filter((e) => !edits.has(e));
    if (missing.length) errors.push({ code: 'shard-missing-edit', key: KEYS.shard(id), message: `shard ${id} names missing edits ${missing.join(', ')}` });
    for (const e of s.editIds) {
      const rec = edits.get(e);
      if (rec && rec.shardId !== id) warnings.push({ code: 'shard-edit-mismatch', key: KEYS.edit(e), message: `shard ${id} lists edit ${e}, whose shardId is ${rec.shardId}` });
    }
  }
  for (const e of edits.values()) {
    if (e?.shardId != null && !shards.has(e.shardId)) {
      warnings.push({ code: 'pending-shard', key: KEYS.edit(e.id), message: `edit ${e.id} belongs to shard ${e.shardId}, not stored yet` });
    }
  }
  for (const [id, m] of memories) {
    const missing = m.shardIds.filter((s) => !shards.has(s));
    if (missing.length) errors.push({ code: 'memory-missing-shard', key: KEYS.memory(id), message: `memory ${id} names missing shards ${missing.join(', ')}` });
  }

  // 5. Every referenced blob present and intact; unreferenced ones are warnings.
  const referenced = new Map<string, { ref: BlobRef; by: string }>();
  for (const [id, s] of shards) for (const ref of blobRefsOf('shard', s)) referenced.set(refKey(ref), { ref, by: KEYS.shard(id) });
  for (const [id, m] of memories) for (const ref of blobRefsOf('memory', m)) referenced.set(refKey(ref), { ref, by: KEYS.memory(id) });
  for (const [key, rec] of metas) for (const ref of blobRefsOf('meta', rec)) referenced.set(refKey(ref), { ref, by: key });
  for (const { ref, by } of referenced.values()) {
    const issue = await checkBlob(store, ref, inline, opts.verifyBlobs ?? true);
    if (issue) errors.push({ code: issue[0], key: by, message: `${by}: ${issue[1]}` });
  }
  for (const h of inline.keys()) if (!referenced.has(refKey({ inline: true, hash: h }))) warnings.push({ code: 'orphan-blob', key: KEYS.blob(h), message: `inline blob ${h} is not referenced (wise db gc removes it)` });
  const files = await store.listBlobFiles();
  for (const h of files) if (!referenced.has(refKey({ inline: false, hash: h }))) warnings.push({ code: 'orphan-blob', message: `blob file ${h} is not referenced (wise db gc removes it)` });

  // 6. Every memory rebuildable (the editor replays the log; structural checks above come first).
  if (opts.rebuild) {
    for (const m of memories.values()) {
      try {
        if (!(await opts.rebuild(m, store))) errors.push({ code: 'not-rebuildable', key: KEYS.memory(m.id), message: `memory ${m.id} cannot be rebuilt from the edit log` });
      } catch (e) {
        errors.push({ code: 'not-rebuildable', key: KEYS.memory(m.id), message: `memory ${m.id}: rebuild failed: ${(e as Error).message}` });
      }
    }
  }

  return {
    ok: errors.length === 0,
    errors,
    warnings,
    stats: { edits: edits.size, shards: shards.size, memories: memories.size, blobs: inline.size + files.length, records },
  };
}

async function checkBlob(store: ShardStore, ref: BlobRef, inline: Map<string, Uint8Array>, verify: boolean): Promise<[string, string] | undefined> {
  if (ref.inline) {
    const b = inline.get(ref.hash);
    if (!b) return ['blob-missing', `inline blob ${ref.hash} is missing`];
    if (b.byteLength !== ref.size || (verify && sha256Hex(b) !== ref.hash)) return ['blob-corrupt', `inline blob ${ref.hash} does not match its hash/size`];
    return undefined;
  }
  try {
    await store.getBlob(ref, { verify });
    return undefined;
  } catch (e) {
    if (isWiseError(e, 'WISE_NOT_FOUND')) return ['blob-missing', `blob file ${ref.hash} is missing`];
    if (isWiseError(e, 'WISE_STORE_CORRUPT')) return ['blob-corrupt', (e as Error).message];
    throw e;
  }
}
