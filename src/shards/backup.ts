/**
 * backupStore: a consistent copy of an open store into `destDir`, for `wise db backup DIR`.
 * LevelDB has no checkpoint API and its directory must not be copied while open (compaction
 * renames files under you), so we iterate one snapshot (`store.entries()`) into a fresh
 * LevelDB, then copy every file blob the snapshot references (blobs are immutable and
 * content-addressed, so copying them after the snapshot is still consistent — as long as
 * neither `gc` nor a commit that replaces a blob's last reference, such as the next edit's
 * active memory, deletes it meanwhile: the copy then fails with WISE_NOT_FOUND, never silently).
 * The result opens as a LevelShardStore.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WiseError } from '../util/errors.js';
import { decodeJson, type RecordKind } from './codec.js';
import { kindOfKey } from './keys.js';
import { FsBlobDir } from './blobs.js';
import { writeRawLevel } from './level-store.js';
import type { BlobRef, RawEntry, ShardStore } from './store.js';
import { blobRefsOf } from './validate.js';

export interface BackupResult {
  records: number;
  blobs: number;
  blobBytes: number;
  /** Keys copied as-is but unreadable (corrupt): their blobs, if any, could not be found. */
  unreadable: string[];
}

export async function backupStore(store: ShardStore, destDir: string): Promise<BackupResult> {
  if (existsSync(join(destDir, 'db'))) {
    throw new WiseError('WISE_USAGE', `backup target ${destDir} already holds a store; choose an empty directory`, { destDir });
  }
  const refs = new Map<string, BlobRef>();
  const unreadable: string[] = [];
  async function* tap(): AsyncIterable<RawEntry> {
    for await (const e of store.entries()) {
      const kind = kindOfKey(e.key);
      if (kind === 'shard' || kind === 'memory' || kind === 'meta') { // meta: the active memory's W′
        try {
          for (const r of blobRefsOf(kind, decodeJson(e.key, e.value, kind as RecordKind))) if (!r.inline) refs.set(r.hash, r);
        } catch {
          unreadable.push(e.key); // still copied byte for byte: a backup must not hide damage
        }
      }
      yield e;
    }
  }
  const records = await writeRawLevel(destDir, tap());
  const dest = new FsBlobDir(join(destDir, 'blobs'));
  let blobBytes = 0;
  for (const ref of refs.values()) {
    const bytes = await store.getBlob(ref, { verify: true }); // never propagate a corrupt blob silently
    await dest.write(ref.hash, bytes);
    blobBytes += bytes.byteLength;
  }
  return { records, blobs: refs.size, blobBytes, unreadable };
}
