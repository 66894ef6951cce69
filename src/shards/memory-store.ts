/**
 * MemoryShardStore: the ShardStore held in process memory, for tests and dry runs. It keeps
 * the LevelDB store's semantics, including the blob threshold (blobs at or above it go to a
 * Map standing in for `<dir>/blobs`) and exclusive opening: the data lives in a
 * `MemoryBacking`, which plays the role of the directory. A store reopened on the same
 * backing sees the committed data; a second opener while one holds it gets WISE_STORE_LOCKED.
 */
import { WiseError } from '../util/errors.js';
import { BaseStore, type KvRange } from './base-store.js';
import type { BlobDir } from './blobs.js';
import type { OpenOptions, OwnerInfo, RawEntry, RawOp, StoreOptions } from './store.js';

/** The "disk" of a memory store: KV entries, blob files and the current owner. */
export class MemoryBacking {
  readonly kv = new Map<string, Uint8Array>();
  readonly files = new Map<string, Uint8Array>();
  owner: OwnerInfo | null = null;
  constructor(readonly name = 'memory') {}
}

class MapBlobDir implements BlobDir {
  constructor(private readonly files: Map<string, Uint8Array>) {}
  async has(hash: string): Promise<boolean> {
    return this.files.has(hash);
  }
  async read(hash: string): Promise<Uint8Array | undefined> {
    return this.files.get(hash);
  }
  async write(hash: string, bytes: Uint8Array): Promise<void> {
    if (!this.files.has(hash)) this.files.set(hash, bytes.slice()); // copy: caller may reuse its buffer
  }
  async list(): Promise<string[]> {
    return [...this.files.keys()].sort();
  }
  async remove(hash: string): Promise<void> {
    this.files.delete(hash);
  }
  async removeTemps(): Promise<number> {
    return 0; // writes are atomic in memory: there are no temp files
  }
}

export class MemoryShardStore extends BaseStore {
  private held = false;

  constructor(readonly backing: MemoryBacking = new MemoryBacking(), opts: StoreOptions = {}) {
    super(`memory:${backing.name}`, opts, new MapBlobDir(backing.files));
  }

  static async open(open: OpenOptions, opts: StoreOptions = {}, backing = new MemoryBacking()): Promise<MemoryShardStore> {
    const s = new MemoryShardStore(backing, opts);
    await s.open(open);
    return s;
  }

  protected async _open(opts: OpenOptions): Promise<void> {
    const o = this.backing.owner;
    if (o) {
      throw new WiseError('WISE_STORE_LOCKED', `store ${this.location} is in use by pid ${o.pid} (${o.command}) since ${o.since}`, {
        location: this.location,
        owner: o,
      });
    }
    if ((opts.create === false || opts.fingerprint === null) && this.backing.kv.size === 0) {
      throw new WiseError('WISE_NOT_FOUND', `no wise store at ${this.location}`, { location: this.location });
    }
    this.backing.owner = { pid: process.pid, command: opts.owner ?? 'in-memory store', since: new Date().toISOString() };
    this.held = true;
  }

  protected async _close(): Promise<void> {
    if (this.held) this.backing.owner = null;
    this.held = false;
  }

  protected async _get(key: string): Promise<Uint8Array | undefined> {
    return this.backing.kv.get(key);
  }

  protected async _batch(ops: RawOp[], _sync: boolean): Promise<void> {
    // Synchronous loop after all values are encoded: nothing can interleave, so all-or-nothing.
    for (const op of ops) {
      if (op.type === 'put') this.backing.kv.set(op.key, op.value.slice());
      else this.backing.kv.delete(op.key);
    }
  }

  protected async *_iterate(range: KvRange): AsyncIterable<RawEntry> {
    // Snapshot: the matching entries are copied before the first yield, as LevelDB iterators do.
    let keys = [...this.backing.kv.keys()].filter((k) => k >= range.gte && k < range.lt).sort(byteOrder);
    if (range.reverse) keys.reverse();
    if (range.limit !== undefined && range.limit >= 0) keys = keys.slice(0, range.limit);
    const snap = keys.map((key) => ({ key, value: this.backing.kv.get(key) as Uint8Array }));
    yield* snap;
  }
}

/** LevelDB orders keys by their UTF-8 bytes; JS `<` compares UTF-16 units. Same for ASCII keys. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
