/**
 * ShardStore conformance suite (abstract-level style): every backend runs these tests
 * through a small harness that supplies fresh locations and raw (backdoor) access used to
 * forge corruption. level.test.ts and memory.test.ts each call `shardStoreSuite`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isWiseError, type ErrorCode } from '../../src/util/errors.js';
import { encodeJson } from '../../src/shards/codec.js';
import { KEYS } from '../../src/shards/keys.js';
import {
  LevelShardStore, Tx, backupStore, checkStore,
  type NewEdit, type ShardRecord, type ShardStore, type StoreOptions, type TensorRef,
} from '../../src/shards/index.js';

export interface Harness<L> {
  /** A fresh, empty location (temp dir / new backing). */
  location(): Promise<L>;
  make(loc: L, opts?: StoreOptions): ShardStore;
  /** Backdoor KV access while no store holds `loc`. */
  rawGet(loc: L, key: string): Promise<Uint8Array | undefined>;
  rawPut(loc: L, key: string, value: Uint8Array): Promise<void>;
  /** Replaces (or with null deletes) the stored bytes of a non-inline blob. */
  setBlobFile(loc: L, hash: string, bytes: Uint8Array | null): Promise<void>;
  /** Threshold the suite uses by default (0 for level: every blob is a file). */
  blobThreshold: number;
}

export const FP_A = 'a'.repeat(64);
export const FP_B = 'b'.repeat(64);

export async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (!isWiseError(e, code)) throw new Error(`expected ${code}, got ${(e as { code?: string }).code}: ${(e as Error).message}`);
    return e;
  }
  throw new Error(`expected ${code}, but it resolved`);
}

export function newEdit(n: number, extra: Partial<NewEdit> = {}): NewEdit {
  return { request: { prompt: `p${n}`, target_new: `t${n}` }, seed: n, irrelevantSampleIds: [`loc-${n}`], shardId: null, ...extra };
}

export function shardOf(id: string, editIds: number[], delta: TensorRef | null): ShardRecord {
  return { id, editIds, maskSeed: 42, density: 0.2, delta, minScore: 21.5 };
}

export function shardStoreSuite<L>(name: string, h: Harness<L>): void {
  describe(`ShardStore conformance: ${name}`, () => {
    const open: ShardStore[] = [];
    const tmp: string[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      for (const d of tmp.splice(0)) await rm(d, { recursive: true, force: true });
    });
    async function openNew(loc?: L, opts: StoreOptions = {}, fp: string | null = FP_A): Promise<{ s: ShardStore; loc: L }> {
      const l = loc ?? (await h.location());
      const s = h.make(l, { blobThreshold: h.blobThreshold, ...opts });
      await s.open({ fingerprint: fp, owner: 'suite test' });
      open.push(s);
      return { s, loc: l };
    }
    async function closeAll(): Promise<void> {
      for (const s of open.splice(0)) await s.close();
    }
    async function tensor(s: ShardStore, n: number, seed = 1): Promise<TensorRef> {
      const a = new Float32Array(n).map((_, i) => (i * 0.5 + seed) % 7);
      return { blob: await s.putBlob(a), dtype: 'float32', shape: [n] };
    }
    /** A store with 3 edits, shard s0 (edits 0,1), memory m0 (s0), and a counter. */
    async function populated(opts: StoreOptions = {}): Promise<{ s: ShardStore; loc: L; delta: TensorRef; weights: TensorRef }> {
      const { s, loc } = await openNew(undefined, opts);
      const delta = await tensor(s, 16, 1);
      const weights = await tensor(s, 16, 2);
      await s.appendEdit(newEdit(0, { shardId: 's0' }));
      await s.appendEdit(newEdit(1, { shardId: 's0' }), (tx, id) => {
        tx.putShard(shardOf('s0', [0, id], delta)).putMeta('editing_total_cnt', id + 1);
      });
      await s.appendEdit(newEdit(2), (tx) => {
        tx.putMemory({ id: 'm0', shardIds: ['s0'], method: 'ties', params: { density: 0.53 }, weights, threshold: 17.2 });
      });
      return { s, loc, delta, weights };
    }

    it('assigns contiguous edit ids from 0 and lists them in order', async () => {
      const { s } = await openNew();
      expect(s.fingerprint).toBe(FP_A);
      for (let i = 0; i < 12; i++) expect((await s.appendEdit(newEdit(i))).id).toBe(i);
      expect(s.nextEditId).toBe(12);
      expect((await s.listEdits()).map((e) => e.id)).toEqual([...Array(12).keys()]);
      expect((await s.listEdits({ from: 9, limit: 2 })).map((e) => e.id)).toEqual([9, 10]);
      expect((await s.getEdit(3))?.request).toEqual({ prompt: 'p3', target_new: 't3' });
      expect(await s.getEdit(99)).toBeUndefined();
      await expectCode(s.commit(new Tx().appendEdit({ ...newEdit(0), id: 13, status: 'active', createdAt: 'x' })), 'WISE_BAD_REQUEST');
      // Concurrent appends are serialised: distinct, contiguous ids.
      const ids = await Promise.all([...Array(10).keys()].map(async (i) => (await s.appendEdit(newEdit(i))).id));
      expect(ids.sort((a, b) => a - b)).toEqual([...Array(10).keys()].map((i) => i + 12));
      expect((await checkStore(s)).errors).toEqual([]);
    });

    it('commits edit + shard + memory + counter in one batch, blobs readable', async () => {
      const { s, delta } = await populated();
      expect(delta.blob.inline).toBe(16 * 4 < h.blobThreshold);
      const shard = await s.getShard('s0');
      expect(shard?.editIds).toEqual([0, 1]);
      expect(await s.getMeta('editing_total_cnt')).toBe(2);
      expect((await s.getMemory('m0'))?.threshold).toBe(17.2);
      expect(Array.from(await s.getTensor(shard!.delta!))).toEqual(Array.from(new Float32Array(16).map((_, i) => (i * 0.5 + 1) % 7)));
      expect((await checkStore(s)).ok).toBe(true);
    });

    it('is atomic: a failure mid-commit leaves nothing visible', async () => {
      const { s, loc } = await populated();
      const next = s.nextEditId;
      const delta = await tensor(s, 8, 9);
      const build = (): Tx =>
        new Tx()
          .appendEdit({ ...newEdit(next), id: next, status: 'active', createdAt: 't' })
          .putShard(shardOf('s1', [next], delta))
          .putMeta('editing_total_cnt', 99)
          .deleteMemory('m0');
      const unchanged = async (st: ShardStore): Promise<void> => {
        expect(st.nextEditId).toBe(next);
        expect(await st.getEdit(next)).toBeUndefined();
        expect(await st.getShard('s1')).toBeUndefined();
        expect(await st.getMeta('editing_total_cnt')).toBe(2);
        expect(await st.getMemory('m0')).toBeDefined();
      };
      // (a) an invalid op after valid ones: validation fails before anything is written
      const bad = build().putMemory({ id: 'm1', shardIds: ['nope'], method: 'ties', params: {}, weights: null, threshold: 1 });
      await expectCode(s.commit(bad), 'WISE_NOT_FOUND');
      await unchanged(s);
      // (b) the write itself fails (fault injected as the batch is handed to the KV)
      await closeAll();
      const { s: faulty } = await openNew(loc, { beforeWrite: () => { throw new Error('injected I/O failure'); } });
      await expect(faulty.commit(build())).rejects.toThrow('injected I/O failure');
      await unchanged(faulty);
      await closeAll();
      const { s: r } = await openNew(loc);
      await unchanged(r);
      await r.commit(build()); // the same tx succeeds once the fault is gone, with the same id
      expect((await r.getEdit(next))?.id).toBe(next);
      expect(await r.getMemory('m0')).toBeUndefined();
      expect((await checkStore(r)).errors).toEqual([]);
    });

    it('rejects dangling references: shard → future edit, memory → missing shard, record → unstored blob', async () => {
      const { s } = await openNew();
      await s.appendEdit(newEdit(0));
      await expectCode(s.putShard(shardOf('s0', [0, 1], null)), 'WISE_NOT_FOUND');
      await expectCode(s.putMemory({ id: 'm', shardIds: ['zz'], method: 'ties', params: {}, weights: null, threshold: 1 }), 'WISE_NOT_FOUND');
      const ghost: TensorRef = { blob: { hash: 'c'.repeat(64), size: 4, inline: false }, dtype: 'float32', shape: [1] };
      await expectCode(s.putShard(shardOf('s0', [0], ghost)), 'WISE_NOT_FOUND');
      await expectCode(s.putShard({ ...shardOf('s0', [0], null), density: 0 }), 'WISE_BAD_REQUEST');
      await expectCode(s.putShard(shardOf('bad id/with slash', [0], null)), 'WISE_BAD_REQUEST');
      const t = await tensor(s, 4);
      await expectCode(s.putShard(shardOf('s0', [0], { ...t, shape: [5] })), 'WISE_BAD_REQUEST');
    });

    it('marks edits reverted, deletes memories, keeps meta', async () => {
      const { s } = await populated();
      expect((await s.markReverted(1)).status).toBe('reverted');
      expect((await s.getEdit(1))?.status).toBe('reverted');
      await expectCode(s.markReverted(77), 'WISE_NOT_FOUND');
      await s.deleteMemory('m0');
      expect(await s.listMemories()).toEqual([]);
      await expectCode(s.deleteMemory('m0'), 'WISE_NOT_FOUND');
      await s.commit(new Tx().putMeta('act_ratio', 0.88).deleteMeta('editing_total_cnt'));
      expect(await s.getMeta('act_ratio')).toBe(0.88);
      expect(await s.getMeta('editing_total_cnt')).toBeUndefined();
    });

    it('persists across reopen', async () => {
      const { s, loc } = await populated();
      await s.markReverted(0);
      await closeAll();
      const { s: r } = await openNew(loc);
      expect(r.nextEditId).toBe(3);
      expect((await r.getEdit(0))?.status).toBe('reverted');
      expect((await r.listShards()).map((x) => x.id)).toEqual(['s0']);
      expect((await r.appendEdit(newEdit(3))).id).toBe(3);
      expect((await checkStore(r)).ok).toBe(true);
    });

    it('refuses another base model, naming both fingerprints; null accepts the stored one', async () => {
      const { loc } = await populated();
      await closeAll();
      const err = await expectCode(openNew(loc, {}, FP_B), 'WISE_STORE_FINGERPRINT');
      expect(err.message).toContain(FP_A);
      expect(err.message).toContain(FP_B);
      const { s } = await openNew(loc, {}, null); // the failed open released the store
      expect(s.fingerprint).toBe(FP_A);
      await expectCode(openNew(undefined, {}, null), 'WISE_NOT_FOUND');
    });

    it('reports a newer format with WISE_STORE_VERSION and a hint', async () => {
      const { loc } = await populated();
      await closeAll();
      const e1 = await h.rawGet(loc, KEYS.edit(1));
      await h.rawPut(loc, KEYS.edit(1), encodeJson(KEYS.edit(1), 'edit', { id: 1 }, 2));
      const { s } = await openNew(loc);
      const err = await expectCode(s.getEdit(1), 'WISE_STORE_VERSION');
      expect(err.message).toMatch(/HINT/);
      expect((await checkStore(s)).errors.map((e) => [e.code, e.key])).toEqual([['version', KEYS.edit(1)]]);
      await closeAll();
      await h.rawPut(loc, KEYS.edit(1), e1!);
      await h.rawPut(loc, KEYS.header, encodeJson(KEYS.header, 'header', { format: 2, fingerprint: FP_A }, 2));
      await expectCode(openNew(loc), 'WISE_STORE_VERSION');
    });

    it('detects a corrupted record (checksum) and names the key', async () => {
      const { loc } = await populated();
      await closeAll();
      const key = KEYS.shard('s0');
      const v = (await h.rawGet(loc, key))!.slice();
      // Flip one bit so that the JSON stays valid ("maskSeed":42 → 43): only the checksum can tell.
      const at = Buffer.from(v).indexOf('"maskSeed":42') + '"maskSeed":4'.length;
      v[at] = v[at]! ^ 0x01;
      await h.rawPut(loc, key, v);
      const { s } = await openNew(loc);
      const err = await expectCode(s.getShard('s0'), 'WISE_STORE_CORRUPT');
      expect(err.message).toContain(key);
      const rep = await checkStore(s);
      expect(rep.ok).toBe(false);
      expect(rep.errors.some((e) => e.code === 'corrupt' && e.key === key)).toBe(true);
    });

    it('detects a corrupted and a missing blob; warns about orphans; gc removes them', async () => {
      const { s, loc, delta, weights } = await populated();
      const orphan = await tensor(s, 3, 5);
      let rep = await checkStore(s);
      expect(rep.ok).toBe(true);
      expect(rep.warnings.filter((w) => w.code === 'orphan-blob')).toHaveLength(1);
      expect(await s.gc()).toEqual([orphan.blob.hash]);
      expect(await s.hasBlob(orphan.blob)).toBe(false);
      expect((await checkStore(s)).warnings.filter((w) => w.code === 'orphan-blob')).toHaveLength(0);
      if (delta.blob.inline) return; // file-blob damage applies to non-inline blobs only
      await closeAll();
      const bytes = new Uint8Array(delta.blob.size).fill(7);
      await h.setBlobFile(loc, delta.blob.hash, bytes);
      await h.setBlobFile(loc, weights.blob.hash, null);
      const { s: r } = await openNew(loc);
      rep = await checkStore(r);
      expect(rep.errors.map((e) => [e.code, e.key]).sort()).toEqual([
        ['blob-corrupt', KEYS.shard('s0')],
        ['blob-missing', KEYS.memory('m0')],
      ]);
      await expectCode(r.getBlob(delta.blob), 'WISE_STORE_CORRUPT');
      await expectCode(r.getBlob(weights.blob), 'WISE_NOT_FOUND');
    });

    it('tracks tensors kept under meta (the active memory): checked, kept by gc, backed up', async () => {
      const { s, loc } = await populated();
      const side = await tensor(s, 16, 3);
      await s.putMeta('active', { index: 0, editIds: [2], side });
      const rep = await checkStore(s);
      expect(rep.ok).toBe(true);
      expect(rep.warnings).toEqual([]); // referenced: not an orphan
      expect(await s.gc()).toEqual([]);
      expect(await s.getTensor(side)).toEqual(await s.getTensor(side));
      const dest = await mkdtemp(join(tmpdir(), 'wise-backup-'));
      tmp.push(dest);
      expect((await backupStore(s, join(dest, 'b'))).blobs).toBe(side.blob.inline ? 0 : 3); // delta, weights, side
      const b = await LevelShardStore.open(join(dest, 'b'), { fingerprint: FP_A }, { blobThreshold: h.blobThreshold });
      try {
        expect(await b.getTensor((await b.getMeta('active') as { side: TensorRef }).side)).toEqual(await s.getTensor(side));
        expect((await checkStore(b)).errors).toEqual([]);
      } finally {
        await b.close();
      }
      const ghost: TensorRef = { blob: { hash: 'c'.repeat(64), size: 4, inline: false }, dtype: 'float32', shape: [1] };
      await expectCode(s.putMeta('other', { nested: [{ t: ghost }] }), 'WISE_NOT_FOUND');
      if (side.blob.inline) return; // file-blob damage applies to non-inline blobs only
      await closeAll();
      await h.setBlobFile(loc, side.blob.hash, null);
      const { s: r } = await openNew(loc);
      expect((await checkStore(r)).errors.map((e) => [e.code, e.key])).toEqual([['blob-missing', KEYS.meta('active')]]);
    });

    it('frees the blobs of overwritten and deleted records, but not one another record still uses', async () => {
      const { s, delta, weights } = await populated();
      const side = await tensor(s, 16, 3);
      await s.putMeta('active', { side });
      const side2 = await tensor(s, 16, 4);
      await s.putMeta('active', { side: side2 }); // the next edit's W′ replaces the last one
      expect(await s.hasBlob(side.blob)).toBe(false);
      await s.putMeta('active', { side: delta }); // the same bytes as shard s0's delta
      expect(await s.hasBlob(side2.blob)).toBe(false);
      await s.putMeta('active', { side: null });
      expect(await s.hasBlob(delta.blob)).toBe(true); // still shard s0's
      const w2 = await tensor(s, 16, 5);
      await s.putMemory({ id: 'm0', shardIds: ['s0'], method: 'ties', params: {}, weights: w2, threshold: 1 });
      expect(await s.hasBlob(weights.blob)).toBe(false);
      await s.deleteMemory('m0');
      expect(await s.hasBlob(w2.blob)).toBe(false);
      const rep = await checkStore(s);
      expect([rep.errors, rep.warnings]).toEqual([[], []]);
      expect(await s.gc()).toEqual([]);
    });

    it('stores small blobs inline when under the threshold', async () => {
      const { s, loc } = await openNew(undefined, { blobThreshold: 1024 });
      const small = await tensor(s, 8);
      const big = await tensor(s, 512);
      expect([small.blob.inline, big.blob.inline]).toEqual([true, false]);
      expect(await s.listBlobFiles()).toEqual([big.blob.hash]);
      await s.appendEdit(newEdit(0, { shardId: 's0' }), (tx, id) => tx.putShard(shardOf('s0', [id], small)));
      expect((await s.getTensor(small)).length).toBe(8);
      expect((await checkStore(s)).ok).toBe(true);
      await closeAll();
      const key = KEYS.blob(small.blob.hash);
      const v = (await h.rawGet(loc, key))!.slice();
      v[v.length - 1] = v[v.length - 1]! ^ 0xff;
      await h.rawPut(loc, key, v);
      const { s: r } = await openNew(loc, { blobThreshold: 1024 });
      const rep = await checkStore(r);
      expect(rep.errors.some((e) => e.key === key && e.code === 'corrupt')).toBe(true);
    });

    it('runs the editor rebuild callback for every memory', async () => {
      const { s } = await populated();
      const seen: string[] = [];
      const rep = await checkStore(s, { rebuild: async (m) => (seen.push(m.id), false) });
      expect(seen).toEqual(['m0']);
      expect(rep.errors.map((e) => e.code)).toEqual(['not-rebuildable']);
    });

    it('locks: a second opener gets WISE_STORE_LOCKED naming the owner', async () => {
      const { loc } = await populated();
      const err = await expectCode(openNew(loc), 'WISE_STORE_LOCKED');
      expect(err.message).toMatch(/in use/);
      expect(err.message).toContain('suite test');
      await closeAll();
      await openNew(loc); // released on close
    });

    it('backs up a consistent copy that opens as a LevelDB store', async () => {
      const { s } = await populated();
      const dest = await mkdtemp(join(tmpdir(), 'wise-backup-'));
      tmp.push(dest);
      const res = await backupStore(s, join(dest, 'b'));
      expect(res.records).toBeGreaterThan(4);
      await s.appendEdit(newEdit(3)); // after the snapshot: not in the backup
      const b = await LevelShardStore.open(join(dest, 'b'), { fingerprint: FP_A }, { blobThreshold: h.blobThreshold });
      open.push(b);
      expect(b.nextEditId).toBe(3);
      expect(await b.listEdits()).toEqual((await s.listEdits()).slice(0, 3));
      expect(await b.listShards()).toEqual(await s.listShards());
      expect(await b.listMemories()).toEqual(await s.listMemories());
      const shard = (await b.getShard('s0'))!;
      expect(await b.getTensor(shard.delta!)).toEqual(await s.getTensor(shard.delta!));
      expect((await checkStore(b)).ok).toBe(true);
      await expectCode(backupStore(s, join(dest, 'b')), 'WISE_USAGE');
    });
  });
}
