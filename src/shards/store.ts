/**
 * ShardStore: the persistence interface of wise-edit, and the record types it stores.
 *
 * The edit log (EditRecord, ids contiguous from 0) is the source of truth; shards, merged
 * memories and counters are derived and can be rebuilt by replaying it. Everything that
 * changes together is written through one `Tx` → `commit()`, i.e. one atomic batch.
 * Large tensors live in content-addressed blobs (`putBlob` → BlobRef) written durably
 * *before* the batch that references them.
 *
 * This module knows records (ShardRecord, MemoryRecord), not SideMemory: the memory layer
 * converts. Two implementations pass the same conformance suite (test/shards/suite.ts):
 * LevelShardStore (level-store.ts) and MemoryShardStore (memory-store.ts).
 */

/** Any JSON-serialisable value (checked at commit: no undefined, NaN, functions, cycles). */
export type JsonValue = unknown;

/** A content-addressed byte blob. Inline blobs live in the DB, others in `<dir>/blobs/<hash>`. */
export interface BlobRef {
  hash: string; // sha256 hex of the bytes
  size: number; // byte length
  inline: boolean;
}

export type TensorDType = 'float32' | 'float16' | 'int32' | 'uint8';
export const DTYPE_BYTES: Record<TensorDType, number> = { float32: 4, float16: 2, int32: 4, uint8: 1 };

/** A tensor stored as a blob; `blob.size` must equal prod(shape) × bytes(dtype). */
export interface TensorRef {
  blob: BlobRef;
  dtype: TensorDType;
  shape: number[];
}

export type EditStatus = 'active' | 'reverted';

/** One applied edit request: the unit of the log. */
export interface EditRecord {
  id: number; // contiguous 0..n-1, assigned in commit order
  request: JsonValue; // the edit request exactly as accepted (EditRequest JSON)
  seed: number; // u32 RNG seed used while training this edit (templates, sampling)
  irrelevantSampleIds: string[]; // ids of the irrelevant (locality) samples x_i it trained with
  status: EditStatus;
  shardId: string | null; // shard whose delta holds this edit (null: not in a shard yet)
  createdAt: string; // ISO time, informational only (never used for ordering)
  meta?: JsonValue; // editor extras: final loss, activation score, …
}

/** Fields a caller supplies to `appendEdit`; the store assigns `id` (and defaults). */
export type NewEdit = Omit<EditRecord, 'id' | 'status' | 'createdAt'> & {
  status?: EditStatus;
  createdAt?: string;
};

/** One shard: a side-memory copy trained on a block of edits under its own mask. */
export interface ShardRecord {
  id: string;
  editIds: number[]; // ascending; every id must exist in the log
  maskSeed: number; // u32 seed of the Bernoulli(density) gradient mask
  density: number; // mask ratio ρ, in (0, 1]
  delta: TensorRef | null; // W_shard − W (null while not materialised: rebuild by replay)
  minScore: number | null; // min activation score over its edits (feeds ε)
  meta?: JsonValue;
}

/** A merged memory: shards combined by a merge method, with its routing threshold ε. */
export interface MemoryRecord {
  id: string;
  shardIds: string[]; // every id must exist as a shard
  method: string; // merge method name (merge/registry)
  params: JsonValue; // merge parameters (densities, weights, …)
  weights: TensorRef | null; // merged weights blob (null while not materialised)
  threshold: number; // ε used by the router
  meta?: JsonValue;
}

/** Stored once at creation; binds the store to one base model. */
export interface HeaderRecord {
  format: number;
  fingerprint: string;
  createdAt: string;
}

/** Who holds the store open (written beside the DB, readable while it is locked). */
export interface OwnerInfo {
  pid: number;
  command: string; // e.g. "wise serve on port 8080"
  since: string;
}

export interface OpenOptions {
  /** Expected base-model fingerprint; `null` accepts whatever the store holds (check/backup tools). */
  fingerprint: string | null;
  /** Create the store when absent (default true; requires a fingerprint). */
  create?: boolean;
  /** Describes the opener for the owner record, e.g. "wise serve on port 8080". */
  owner?: string;
}

export interface StoreOptions {
  /** Blobs of at least this many bytes go to files (default 1 MiB); 0 puts all blobs in files. */
  blobThreshold?: number;
  /** fsync each commit (default true: an edit costs seconds, a sync ~4 ms). */
  sync?: boolean;
  /** Test hook: called with the encoded batch just before it is written; a throw aborts it. */
  beforeWrite?: (ops: RawOp[]) => void;
}

/** A raw KV operation as written by the backends. */
export type RawOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };
export interface RawEntry {
  key: string;
  value: Uint8Array;
}

export type TxOp =
  | { op: 'edit'; record: EditRecord }
  | { op: 'status'; id: number; status: EditStatus }
  | { op: 'shard'; record: ShardRecord }
  | { op: 'memory'; record: MemoryRecord }
  | { op: 'delMemory'; id: string }
  | { op: 'meta'; name: string; value: JsonValue }
  | { op: 'delMeta'; name: string };

/**
 * Transaction builder: collects operations; `store.commit(tx)` validates them all and
 * writes them as one batch, or writes nothing. Later ops on the same key win.
 */
export class Tx {
  readonly ops: TxOp[] = [];
  appendEdit(record: EditRecord): this {
    this.ops.push({ op: 'edit', record });
    return this;
  }
  markReverted(id: number): this {
    this.ops.push({ op: 'status', id, status: 'reverted' });
    return this;
  }
  putShard(record: ShardRecord): this {
    this.ops.push({ op: 'shard', record });
    return this;
  }
  putMemory(record: MemoryRecord): this {
    this.ops.push({ op: 'memory', record });
    return this;
  }
  deleteMemory(id: string): this {
    this.ops.push({ op: 'delMemory', id });
    return this;
  }
  putMeta(name: string, value: JsonValue): this {
    this.ops.push({ op: 'meta', name, value });
    return this;
  }
  deleteMeta(name: string): this {
    this.ops.push({ op: 'delMeta', name });
    return this;
  }
}

export interface ShardStore {
  /** Where the store lives (a directory, or a label for in-memory stores). */
  readonly location: string;
  /** The base-model fingerprint recorded in the store (valid once open). */
  readonly fingerprint: string;
  /** Id the next appended edit receives (= number of edits). */
  readonly nextEditId: number;
  readonly blobThreshold: number;

  open(opts: OpenOptions): Promise<void>;
  close(): Promise<void>;

  /**
   * Applies all of `tx` in one atomic batch. Blobs that the records it overwrites or deletes
   * referenced, and that no record references afterwards, are deleted after the batch (file
   * blobs only once the batch is fsynced), so replacing a tensor does not leave its old bytes.
   */
  commit(tx: Tx): Promise<void>;
  /** Appends one edit (id assigned here); `build` may add shard/memory/meta ops to the same batch. */
  appendEdit(edit: NewEdit, build?: (tx: Tx, id: number) => void): Promise<EditRecord>;

  getEdit(id: number): Promise<EditRecord | undefined>;
  listEdits(range?: { from?: number; limit?: number }): Promise<EditRecord[]>;
  markReverted(id: number): Promise<EditRecord>;
  putShard(record: ShardRecord): Promise<void>;
  getShard(id: string): Promise<ShardRecord | undefined>;
  listShards(): Promise<ShardRecord[]>;
  putMemory(record: MemoryRecord): Promise<void>;
  getMemory(id: string): Promise<MemoryRecord | undefined>;
  listMemories(): Promise<MemoryRecord[]>;
  deleteMemory(id: string): Promise<void>;
  getMeta(name: string): Promise<JsonValue | undefined>;
  putMeta(name: string, value: JsonValue): Promise<void>;

  /** Stores bytes durably; returns the reference to put in a record. */
  putBlob(data: Float32Array | Uint8Array): Promise<BlobRef>;
  /** Reads a blob; `verify` (default true) re-hashes it. Throws WISE_NOT_FOUND / WISE_STORE_CORRUPT. */
  getBlob(ref: BlobRef, opts?: { verify?: boolean }): Promise<Uint8Array>;
  hasBlob(ref: BlobRef): Promise<boolean>;
  /** Reads a float32 tensor as an aligned Float32Array. */
  getTensor(ref: TensorRef): Promise<Float32Array>;
  /** Hashes of file blobs present on disk (referenced or not). */
  listBlobFiles(): Promise<string[]>;
  /** Removes blobs no shard, memory or meta record references (and stale temp files): what a
   *  crash between putBlob and its commit left, or a failed delete. Returns removed hashes.
   *  Do not run it while an editor is between putBlob and the commit that references it. */
  gc(): Promise<string[]>;

  /** All raw entries, from one consistent snapshot, in key order (for check and backup). */
  entries(): AsyncIterable<RawEntry>;
}
