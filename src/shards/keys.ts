/**
 * Keys of the store, shared by both backends (the layout is documented at the top of
 * level-store.ts). Keys are ASCII, so UTF-8 byte order (LevelDB) equals JS string order.
 */
import type { RecordKind } from './codec.js';

export const KEYS = {
  header: 'header',
  edit: (id: number): string => `edit!${String(id).padStart(10, '0')}`,
  shard: (id: string): string => `shard!${id}`,
  memory: (id: string): string => `mem!${id}`,
  meta: (name: string): string => `meta!${name}`,
  blob: (hash: string): string => `blob!${hash}`,
} as const;
export const PREFIX = { edit: 'edit!', shard: 'shard!', memory: 'mem!', meta: 'meta!', blob: 'blob!' } as const;
/** Kind of the record stored under a key, from its prefix. */
export function kindOfKey(key: string): RecordKind | undefined {
  if (key === KEYS.header) return 'header';
  const p = key.slice(0, key.indexOf('!') + 1);
  return ({ 'edit!': 'edit', 'shard!': 'shard', 'mem!': 'memory', 'meta!': 'meta', 'blob!': 'blob' } as const)[p];
}

export interface KvRange {
  gte: string;
  lt: string;
  reverse?: boolean;
  limit?: number;
}
/** Keys sharing `prefix` ('!' + 1 = '"', so this bounds exactly the prefix). */
export function prefixRange(prefix: string): KvRange {
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) };
}
