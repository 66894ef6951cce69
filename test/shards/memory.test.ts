/** Conformance suite on the in-memory store (inline blobs below 64 bytes, to cover both paths). */
import { MemoryBacking, MemoryShardStore } from '../../src/shards/index.js';
import { shardStoreSuite } from './suite.js';

let n = 0;
shardStoreSuite<MemoryBacking>('memory (blobThreshold 64)', {
  blobThreshold: 64,
  location: async () => new MemoryBacking(`m${n++}`),
  make: (b, opts) => new MemoryShardStore(b, opts),
  rawGet: async (b, key) => b.kv.get(key),
  rawPut: async (b, key, value) => void b.kv.set(key, value),
  setBlobFile: async (b, hash, bytes) => void (bytes ? b.files.set(hash, bytes) : b.files.delete(hash)),
});

shardStoreSuite<MemoryBacking>('memory (blobThreshold 0)', {
  blobThreshold: 0,
  location: async () => new MemoryBacking(`z${n++}`),
  make: (b, opts) => new MemoryShardStore(b, opts),
  rawGet: async (b, key) => b.kv.get(key),
  rawPut: async (b, key, value) => void b.kv.set(key, value),
  setBlobFile: async (b, hash, bytes) => void (bytes ? b.files.set(hash, bytes) : b.files.delete(hash)),
});
