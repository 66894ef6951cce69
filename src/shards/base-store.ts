/**
 * BaseStore: all ShardStore semantics (validation, id contiguity, atomic commit, blobs,
 * fingerprint check) written once over a tiny ordered-KV contract that each backend
 * implements (`_get`, `_batch`, `_iterate`, open/close). Same template-method split as
 * abstract-level: public methods validate, then call the backend's `_x`. Key layout: see
 * level-store.ts (the layout is shared by both backends).
 */
import { WiseError, check } from '../util/errors.js';
import { decodeFrame, decodeJson, encodeFrame, encodeJson, FORMAT_VERSION, sha256Hex, type RecordKind } from './codec.js';
import { bytesOf, toFloat32, type BlobDir } from './blobs.js';
import {
  Tx,
  type BlobRef, type EditRecord, type HeaderRecord, type JsonValue, type MemoryRecord, type NewEdit,
  type OpenOptions, type RawEntry, type RawOp, type ShardRecord, type ShardStore, type StoreOptions, type TensorRef,
} from './store.js';
import { blobRefsOf, checkId, checkJson, refKey, validateEdit, validateMemory, validateShard } from './validate.js';
import { KEYS, PREFIX, kindOfKey, prefixRange, type KvRange } from './keys.js';

export { KEYS, PREFIX, kindOfKey, prefixRange, type KvRange } from './keys.js';

export abstract class BaseStore implements ShardStore {
  readonly blobThreshold: number;
  protected readonly sync: boolean;
  private readonly beforeWrite: StoreOptions['beforeWrite'];
  private header: HeaderRecord | undefined;
  private nextId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  protected isOpen = false;

  constructor(readonly location: string, opts: StoreOptions, protected readonly blobs: BlobDir) {
    this.blobThreshold = opts.blobThreshold ?? 1 << 20;
    check(Number.isInteger(this.blobThreshold) && this.blobThreshold >= 0, 'WISE_BAD_CONFIG', 'blobThreshold must be a non-negative integer', { blobThreshold: this.blobThreshold });
    this.sync = opts.sync ?? true;
    this.beforeWrite = opts.beforeWrite;
  }

  // ---- backend contract ------------------------------------------------------------
  protected abstract _open(opts: OpenOptions): Promise<void>; // acquire the lock; WISE_STORE_LOCKED
  protected abstract _close(): Promise<void>;
  protected abstract _get(key: string): Promise<Uint8Array | undefined>;
  protected abstract _batch(ops: RawOp[], sync: boolean): Promise<void>; // all or nothing
  protected abstract _iterate(range: KvRange): AsyncIterable<RawEntry>; // one snapshot

  get fingerprint(): string {
    return this.header?.fingerprint ?? '';
  }
  get nextEditId(): number {
    return this.nextId;
  }

  async open(opts: OpenOptions): Promise<void> {
    check(!this.isOpen, 'WISE_USAGE', `store ${this.location} is already open`);
    await this._open(opts);
    try {
      const raw = await this._get(KEYS.header);
      if (raw === undefined) {
        for await (const _ of this._iterate({ gte: '', lt: '\uffff', limit: 1 })) {
          throw new WiseError('WISE_STORE_CORRUPT', `store ${this.location} has records but no header`, { key: KEYS.header });
        }
        if (opts.fingerprint === null || opts.create === false) {
          throw new WiseError('WISE_NOT_FOUND', `no wise store at ${this.location}${opts.fingerprint === null ? ' (a fingerprint is needed to create one)' : ''}`, { location: this.location });
        }
        const h: HeaderRecord = { format: FORMAT_VERSION, fingerprint: opts.fingerprint, createdAt: new Date().toISOString() };
        await this._batch([{ type: 'put', key: KEYS.header, value: encodeJson(KEYS.header, 'header', h) }], true);
        this.header = h;
      } else {
        const h = decodeJson<HeaderRecord>(KEYS.header, raw, 'header');
        if (opts.fingerprint !== null && opts.fingerprint !== h.fingerprint) {
          throw new WiseError(
            'WISE_STORE_FINGERPRINT',
            `store ${this.location} was built for base model ${h.fingerprint}, but the loaded model is ${opts.fingerprint}. ` +
              'Open the store with the model it was built for, or start a new store for this model.',
            { location: this.location, stored: h.fingerprint, given: opts.fingerprint },
          );
        }
        this.header = h;
      }
      // Next id from the last edit key (not a counter that could drift from the log).
      this.nextId = 0;
      for await (const { key } of this._iterate({ ...prefixRange(PREFIX.edit), reverse: true, limit: 1 })) {
        this.nextId = Number(key.slice(PREFIX.edit.length)) + 1;
      }
      this.isOpen = true;
    } catch (e) {
      await this._close();
      throw e;
    }
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    await this.queue.catch(() => undefined);
    this.isOpen = false;
    await this._close();
  }

  private ensureOpen(): void {
    check(this.isOpen, 'WISE_USAGE', `store ${this.location} is not open`);
  }

  /** Serialises writers so that id assignment and referential checks see a stable state. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  commit(tx: Tx): Promise<void> {
    return this.locked(() => this.commitLocked(tx));
  }

  private async commitLocked(tx: Tx): Promise<void> {
    this.ensureOpen();
    const stage = new Map<string, { kind: RecordKind; value: unknown } | null>(); // null = delete
    const lookup = async <T>(key: string, kind: RecordKind): Promise<T | undefined> => {
      if (stage.has(key)) return (stage.get(key)?.value as T | undefined) ?? undefined;
      const raw = await this._get(key);
      return raw === undefined ? undefined : decodeJson<T>(key, raw, kind);
    };
    let next = this.nextId;
    const shards: ShardRecord[] = [];
    const memories: MemoryRecord[] = [];
    for (const op of tx.ops) {
      switch (op.op) {
        case 'edit': {
          validateEdit(op.record);
          check(op.record.id === next, 'WISE_BAD_REQUEST', `edit ids must be contiguous: expected ${next}, got ${op.record.id}`, { expected: next, got: op.record.id });
          stage.set(KEYS.edit(next++), { kind: 'edit', value: op.record });
          break;
        }
        case 'status': {
          const cur = await lookup<EditRecord>(KEYS.edit(op.id), 'edit');
          if (!cur) throw new WiseError('WISE_NOT_FOUND', `edit ${op.id} not found`, { id: op.id });
          stage.set(KEYS.edit(op.id), { kind: 'edit', value: { ...cur, status: op.status } });
          break;
        }
        case 'shard':
          validateShard(op.record);
          shards.push(op.record);
          stage.set(KEYS.shard(op.record.id), { kind: 'shard', value: op.record });
          break;
        case 'memory':
          validateMemory(op.record);
          memories.push(op.record);
          stage.set(KEYS.memory(op.record.id), { kind: 'memory', value: op.record });
          break;
        case 'delMemory':
          checkId('memory', 'id', op.id);
          if (!(await lookup(KEYS.memory(op.id), 'memory'))) throw new WiseError('WISE_NOT_FOUND', `memory ${op.id} not found`, { id: op.id });
          stage.set(KEYS.memory(op.id), null);
          break;
        case 'meta':
          checkId('meta', 'name', op.name);
          checkJson(`meta ${op.name}`, 'value', op.value);
          check(op.value !== undefined, 'WISE_BAD_REQUEST', `meta ${op.name}: value is undefined (use deleteMeta)`);
          stage.set(KEYS.meta(op.name), { kind: 'meta', value: { name: op.name, value: op.value } });
          break;
        case 'delMeta':
          checkId('meta', 'name', op.name);
          stage.set(KEYS.meta(op.name), null);
          break;
      }
    }
    // Referential integrity, against the state this batch would produce.
    for (const s of shards) {
      const missing = s.editIds.filter((e) => e >= next);
      check(missing.length === 0, 'WISE_NOT_FOUND', `shard ${s.id} references edits not in the log: ${missing.join(', ')}`, { shard: s.id, missing });
    }
    for (const m of memories) {
      for (const sid of m.shardIds) {
        if (!(await lookup(KEYS.shard(sid), 'shard'))) throw new WiseError('WISE_NOT_FOUND', `memory ${m.id} references missing shard ${sid}`, { memory: m.id, shard: sid });
      }
    }
    // Every blob a staged shard, memory or meta record points to must be stored; the blobs of the
    // records this batch overwrites or deletes are reclaimed after it when nothing else needs them.
    const staged = new Set<string>();
    const superseded = new Map<string, BlobRef>();
    for (const [key, v] of stage) {
      const kind = kindOfKey(key);
      if (kind !== 'shard' && kind !== 'memory' && kind !== 'meta') continue;
      for (const ref of v ? blobRefsOf(kind, v.value) : []) {
        if (!(await this.hasBlob(ref))) {
          throw new WiseError('WISE_NOT_FOUND', `${kind} ${key.slice(key.indexOf('!') + 1)} references blob ${ref.hash} which was not stored (call putBlob first)`, { hash: ref.hash, key });
        }
        staged.add(refKey(ref));
      }
      for (const ref of await this.storedRefs(key, kind)) superseded.set(refKey(ref), ref);
    }
    for (const k of staged) superseded.delete(k);
    const ops: RawOp[] = [];
    for (const [key, v] of stage) ops.push(v === null ? { type: 'del', key } : { type: 'put', key, value: encodeJson(key, v.kind, v.value) });
    if (ops.length === 0) return;
    this.beforeWrite?.(ops);
    // A blob file is deleted only once the batch that stops referencing it is on disk (fsync even
    // when `sync` is off), so a power loss cannot bring back a record whose blob is gone.
    await this._batch(ops, this.sync || [...superseded.values()].some((r) => !r.inline));
    this.nextId = next; // only after the batch is durable in the KV
    if (superseded.size) await this.dropUnreferenced([...superseded.values()]).catch(() => undefined); // committed: a failed delete leaves an orphan for gc
  }

  /** Blob refs of the record stored under `key` before this batch (none if absent or unreadable: gc reclaims those). */
  private async storedRefs(key: string, kind: RecordKind): Promise<BlobRef[]> {
    const raw = await this._get(key);
    if (raw === undefined) return [];
    try {
      return blobRefsOf(kind, decodeJson(key, raw, kind));
    } catch {
      return [];
    }
  }

  /** refKey of every blob a shard, memory or meta record references now. */
  private async liveRefs(): Promise<Set<string>> {
    const live = new Set<string>();
    for (const [prefix, kind] of [[PREFIX.shard, 'shard'], [PREFIX.memory, 'memory'], [PREFIX.meta, 'meta']] as const) {
      for await (const e of this._iterate(prefixRange(prefix))) for (const r of blobRefsOf(kind, decodeJson(e.key, e.value, kind))) live.add(refKey(r));
    }
    return live;
  }

  /** Deletes those of `refs` that no record references (a content-addressed blob may be shared). Returns their hashes. */
  private async dropUnreferenced(refs: readonly BlobRef[]): Promise<string[]> {
    const live = await this.liveRefs();
    const dead = refs.filter((r) => !live.has(refKey(r)));
    const inline = dead.filter((r) => r.inline).map((r): RawOp => ({ type: 'del', key: KEYS.blob(r.hash) }));
    if (inline.length) await this._batch(inline, this.sync);
    for (const r of dead) if (!r.inline) await this.blobs.remove(r.hash);
    return dead.map((r) => r.hash);
  }

  appendEdit(edit: NewEdit, build?: (tx: Tx, id: number) => void): Promise<EditRecord> {
    return this.locked(async () => {
      this.ensureOpen();
      const rec: EditRecord = { ...edit, id: this.nextId, status: edit.status ?? 'active', createdAt: edit.createdAt ?? new Date().toISOString() };
      const tx = new Tx().appendEdit(rec);
      build?.(tx, rec.id);
      await this.commitLocked(tx);
      return rec;
    });
  }

  // ---- typed reads and single-op writes ------------------------------------------------
  private async read<T>(key: string, kind: RecordKind): Promise<T | undefined> {
    this.ensureOpen();
    const raw = await this._get(key);
    return raw === undefined ? undefined : decodeJson<T>(key, raw, kind);
  }
  private async list<T>(prefix: string, kind: RecordKind, range: Partial<KvRange> = {}): Promise<T[]> {
    this.ensureOpen();
    const out: T[] = [];
    for await (const e of this._iterate({ ...prefixRange(prefix), ...range })) out.push(decodeJson<T>(e.key, e.value, kind));
    return out;
  }

  getEdit(id: number): Promise<EditRecord | undefined> {
    return Number.isInteger(id) && id >= 0 ? this.read(KEYS.edit(id), 'edit') : Promise.resolve(undefined);
  }
  listEdits(range: { from?: number; limit?: number } = {}): Promise<EditRecord[]> {
    return this.list(PREFIX.edit, 'edit', { gte: KEYS.edit(range.from ?? 0), ...(range.limit !== undefined ? { limit: range.limit } : {}) });
  }
  async markReverted(id: number): Promise<EditRecord> {
    await this.commit(new Tx().markReverted(id));
    return (await this.getEdit(id)) as EditRecord;
  }
  putShard(record: ShardRecord): Promise<void> {
    return this.commit(new Tx().putShard(record));
  }
  getShard(id: string): Promise<ShardRecord | undefined> {
    checkId('shard', 'id', id);
    return this.read(KEYS.shard(id), 'shard');
  }
  listShards(): Promise<ShardRecord[]> {
    return this.list(PREFIX.shard, 'shard');
  }
  putMemory(record: MemoryRecord): Promise<void> {
    return this.commit(new Tx().putMemory(record));
  }
  getMemory(id: string): Promise<MemoryRecord | undefined> {
    checkId('memory', 'id', id);
    return this.read(KEYS.memory(id), 'memory');
  }
  listMemories(): Promise<MemoryRecord[]> {
    return this.list(PREFIX.memory, 'memory');
  }
  deleteMemory(id: string): Promise<void> {
    return this.commit(new Tx().deleteMemory(id));
  }
  async getMeta(name: string): Promise<JsonValue | undefined> {
    checkId('meta', 'name', name);
    return (await this.read<{ value: JsonValue }>(KEYS.meta(name), 'meta'))?.value;
  }
  putMeta(name: string, value: JsonValue): Promise<void> {
    return this.commit(new Tx().putMeta(name, value));
  }

  // ---- blobs ---------------------------------------------------------------------
  async putBlob(data: Float32Array | Uint8Array): Promise<BlobRef> {
    this.ensureOpen();
    const bytes = bytesOf(data);
    const ref: BlobRef = { hash: sha256Hex(bytes), size: bytes.byteLength, inline: bytes.byteLength < this.blobThreshold };
    if (ref.inline) {
      const key = KEYS.blob(ref.hash);
      if ((await this._get(key)) === undefined) await this._batch([{ type: 'put', key, value: encodeFrame(key, 'blob', bytes, true) }], this.sync);
    } else {
      await this.blobs.write(ref.hash, bytes);
    }
    return ref;
  }

  async getBlob(ref: BlobRef, opts: { verify?: boolean } = {}): Promise<Uint8Array> {
    this.ensureOpen();
    const where = ref.inline ? `record ${KEYS.blob(ref.hash)}` : `file blobs/${ref.hash}`;
    let bytes: Uint8Array | undefined;
    if (ref.inline) {
      const raw = await this._get(KEYS.blob(ref.hash));
      bytes = raw === undefined ? undefined : decodeFrame(KEYS.blob(ref.hash), raw).payload; // frame checksum verifies it
    } else {
      bytes = await this.blobs.read(ref.hash);
    }
    if (bytes === undefined) throw new WiseError('WISE_NOT_FOUND', `blob ${ref.hash} is missing (${where})`, { hash: ref.hash, inline: ref.inline });
    const corrupt = bytes.byteLength !== ref.size ? `size ${bytes.byteLength} ≠ ${ref.size}` : (opts.verify ?? true) && !ref.inline && sha256Hex(bytes) !== ref.hash ? 'sha256 mismatch' : '';
    if (corrupt) throw new WiseError('WISE_STORE_CORRUPT', `blob ${ref.hash} is corrupt (${where}): ${corrupt}`, { hash: ref.hash, reason: corrupt });
    return bytes;
  }

  async hasBlob(ref: BlobRef): Promise<boolean> {
    return ref.inline ? (await this._get(KEYS.blob(ref.hash))) !== undefined : this.blobs.has(ref.hash);
  }

  async getTensor(ref: TensorRef): Promise<Float32Array> {
    check(ref.dtype === 'float32', 'WISE_DTYPE_MISMATCH', `getTensor reads float32, the blob holds ${ref.dtype}`, { dtype: ref.dtype });
    return toFloat32(await this.getBlob(ref.blob));
  }

  listBlobFiles(): Promise<string[]> {
    return this.blobs.list();
  }

  gc(): Promise<string[]> {
    return this.locked(async () => {
      this.ensureOpen();
      const live = await this.liveRefs();
      const removed: string[] = [];
      const dead: RawOp[] = [];
      for await (const { key } of this._iterate(prefixRange(PREFIX.blob))) {
        const h = key.slice(PREFIX.blob.length);
        if (!live.has(refKey({ inline: true, hash: h }))) (dead.push({ type: 'del', key }), removed.push(h));
      }
      if (dead.length) await this._batch(dead, this.sync);
      for (const h of await this.blobs.list()) if (!live.has(refKey({ inline: false, hash: h }))) (await this.blobs.remove(h), removed.push(h));
      await this.blobs.removeTemps();
      return removed;
    });
  }

  async *entries(): AsyncIterable<RawEntry> {
    this.ensureOpen();
    yield* this._iterate({ gte: '', lt: '\uffff' });
  }
}
