/** Public surface of src/shards: the store interface, both backends, check, backup, fingerprint. */
export * from './store.js';
export { LevelShardStore, readOwner } from './level-store.js';
export { MemoryShardStore, MemoryBacking } from './memory-store.js';
export { checkStore, type CheckIssue, type CheckReport, type CheckOptions } from './check.js';
export { backupStore, type BackupResult } from './backup.js';
export { fingerprintModel, canonicalJson, type FingerprintInput } from './fingerprint.js';
export { FORMAT_VERSION } from './codec.js';
export { toFloat32 } from './blobs.js';
