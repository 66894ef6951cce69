/**
 * LevelShardStore: the ShardStore on LevelDB (`level` → classic-level), the only file in
 * shards/ that imports `level`.
 *
 * Directory layout
 *   <dir>/db/           LevelDB (string keys, values are codec frames: magic+version+sha256)
 *   <dir>/blobs/<sha>   blobs of ≥ blobThreshold bytes (temp + fsync + rename)
 *   <dir>/owner.json    {pid, command, since} of the opener; outside LevelDB so that a second
 *                       process, which cannot open the locked DB, can still say who holds it
 *
 * Key layout (shared by MemoryShardStore; keys sort bytewise, '!' separates the prefix)
 *   header                 HeaderRecord {format, fingerprint, createdAt}; written once
 *   edit!<id, 10 digits>   EditRecord: the log, ids contiguous from 0 (zero-padded so that
 *                          key order = id order and the last key gives the next id)
 *   shard!<shardId>        ShardRecord (mask seed, density, delta TensorRef, edit ids)
 *   mem!<memoryId>         MemoryRecord (shard ids, merge method + params, weights, ε)
 *   meta!<name>            {name, value}: counters and settings (merge_cnt, act_ratio, …)
 *   blob!<sha256>          inline blob bytes (raw frame) for blobs under the threshold
 *
 * Every multi-key change is one `db.batch` (atomic in LevelDB); blob files are durable
 * before the batch that references them, so a crash leaves at most an orphan blob.
 * Locking: LevelDB allows one opener; a second gets LEVEL_DATABASE_NOT_OPEN with cause
 * LEVEL_LOCKED, mapped here to WISE_STORE_LOCKED naming the owner (ecosystem-notes §3).
 */
import { existsSync } from 'node:fs';
import { mkdir, open as openFile, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { WiseError } from '../util/errors.js';
import { BaseStore, type KvRange } from './base-store.js';
import { FsBlobDir } from './blobs.js';
import type { OpenOptions, OwnerInfo, RawEntry, RawOp, StoreOptions } from './store.js';

type Db = Level<string, Uint8Array>;

export class LevelShardStore extends BaseStore {
  private db: Db | undefined;
  private owner: OwnerInfo | undefined;

  constructor(readonly dir: string, opts: StoreOptions = {}) {
    super(dir, opts, new FsBlobDir(join(dir, 'blobs')));
  }

  /** Opens (creating if allowed) the store at `dir`; convenience for `new` + `open`. */
  static async open(dir: string, open: OpenOptions, opts: StoreOptions = {}): Promise<LevelShardStore> {
    const s = new LevelShardStore(dir, opts);
    await s.open(open);
    return s;
  }

  protected async _open(opts: OpenOptions): Promise<void> {
    const dbDir = join(this.dir, 'db');
    const mayCreate = opts.create !== false && opts.fingerprint !== null;
    if (!mayCreate && !existsSync(join(dbDir, 'CURRENT'))) {
      throw new WiseError('WISE_NOT_FOUND', `no wise store at ${this.dir}`, { location: this.dir });
    }
    await mkdir(this.dir, { recursive: true });
    const db: Db = new Level<string, Uint8Array>(dbDir, { valueEncoding: 'view' });
    try {
      await db.open({ createIfMissing: mayCreate });
    } catch (e) {
      throw await mapOpenError(e, this.dir);
    }
    this.db = db;
    this.owner = { pid: process.pid, command: opts.owner ?? defaultCommand(), since: new Date().toISOString() };
    await writeOwner(this.dir, this.owner);
  }

  protected async _close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    if (!db) return;
    await db.close();
    // Remove the owner file only if it is still ours (a later opener may have replaced it).
    const cur = await readOwner(this.dir);
    if (cur && this.owner && cur.pid === this.owner.pid && cur.since === this.owner.since) {
      await rm(join(this.dir, 'owner.json'), { force: true });
    }
  }

  private get level(): Db {
    if (!this.db) throw new WiseError('WISE_USAGE', `store ${this.dir} is not open`);
    return this.db;
  }

  protected async _get(key: string): Promise<Uint8Array | undefined> {
    return this.level.get(key);
  }

  protected async _batch(ops: RawOp[], sync: boolean): Promise<void> {
    await this.level.batch(ops, { sync });
  }

  protected async *_iterate(range: KvRange): AsyncIterable<RawEntry> {
    // An iterator reads from an implicit snapshot taken when it is created (LevelDB).
    const it = this.level.iterator({ gte: range.gte, lt: range.lt, reverse: range.reverse ?? false, limit: range.limit ?? -1 });
    try {
      for await (const [key, value] of it) yield { key, value };
    } finally {
      await it.close();
    }
  }
}

function defaultCommand(): string {
  return process.argv.slice(1).join(' ') || process.argv0;
}

/** The owner record of the store at `dir`, if any (undefined when absent or unreadable). */
export async function readOwner(dir: string): Promise<OwnerInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'owner.json'), 'utf8')) as OwnerInfo;
  } catch {
    return undefined;
  }
}

async function writeOwner(dir: string, owner: OwnerInfo): Promise<void> {
  const tmp = join(dir, `.owner-${process.pid}.tmp`);
  const fh = await openFile(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(owner) + '\n');
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, 'owner.json')); // atomic replace of a stale owner file
}

async function mapOpenError(e: unknown, dir: string): Promise<unknown> {
  const err = e as { code?: string; cause?: { code?: string; message?: string } };
  const cause = err.cause?.code;
  if (err.code === 'LEVEL_DATABASE_NOT_OPEN' && cause === 'LEVEL_LOCKED') {
    const o = await readOwner(dir);
    const by = o ? ` by pid ${o.pid} (${o.command}) since ${o.since}` : '';
    return new WiseError(
      'WISE_STORE_LOCKED',
      `store ${dir} is in use${by}. Stop that process, or send the request through it (e.g. to \`wise serve\`).`,
      { location: dir, owner: o ?? null, cause: err.cause?.message },
      { cause: e },
    );
  }
  if (cause === 'LEVEL_CORRUPTION') {
    return new WiseError('WISE_STORE_CORRUPT', `LevelDB at ${dir}/db is corrupt: ${err.cause?.message}`, { location: dir }, { cause: e });
  }
  return e;
}

/**
 * Writes raw entries into a fresh LevelDB at `<dir>/db` (fails if one exists), in batches
 * of about 4 MiB, the last one synced. Used by backup; the entries keep their frames.
 */
export async function writeRawLevel(dir: string, entries: AsyncIterable<RawEntry>): Promise<number> {
  await mkdir(dir, { recursive: true });
  const db: Db = new Level<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' });
  await db.open({ createIfMissing: true, errorIfExists: true });
  let n = 0;
  try {
    let ops: RawOp[] = [];
    let bytes = 0;
    for await (const { key, value } of entries) {
      ops.push({ type: 'put', key, value });
      bytes += value.byteLength;
      n++;
      if (bytes >= 4 << 20) {
        await db.batch(ops);
        ops = [];
        bytes = 0;
      }
    }
    await db.batch(ops, { sync: true });
  } finally {
    await db.close();
  }
  return n;
}
