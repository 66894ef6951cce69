/**
 * Conformance suite on LevelDB with blobThreshold 0 (every blob goes through the file path),
 * plus what only a real directory has: a lock held by another process, and the owner file.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Level } from 'level';
import { LevelShardStore, readOwner } from '../../src/shards/index.js';
import { FP_A, newEdit, shardStoreSuite } from './suite.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wise-shards-'));
  dirs.push(d);
  return d;
}
async function withRaw<T>(dir: string, fn: (db: Level<string, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<string, Uint8Array>(join(dir, 'db'), { valueEncoding: 'view' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

shardStoreSuite<string>('level (blobThreshold 0)', {
  blobThreshold: 0,
  location: tempDir,
  make: (dir, opts) => new LevelShardStore(dir, opts),
  rawGet: (dir, key) => withRaw(dir, (db) => db.get(key)),
  rawPut: (dir, key, value) => withRaw(dir, (db) => db.put(key, value)),
  setBlobFile: async (dir, hash, bytes) => {
    const p = join(dir, 'blobs', hash);
    if (bytes) await writeFile(p, bytes);
    else await rm(p);
  },
});

describe('LevelShardStore across processes', () => {
  const child = fileURLToPath(new URL('./fixtures/hold-store.ts', import.meta.url));
  function tryOpenInChild(dir: string): Promise<{ opened?: boolean; code?: string; message?: string }> {
    return new Promise((resolve, reject) => {
      const cp = fork(child, [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      cp.once('message', (m) => resolve(m as { code?: string }));
      cp.once('error', reject);
      cp.once('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
    });
  }

  it('a second process gets WISE_STORE_LOCKED naming the holder; after close it can open', async () => {
    const dir = await tempDir();
    const s = await LevelShardStore.open(dir, { fingerprint: FP_A, owner: 'wise serve on port 8080' }, { blobThreshold: 0 });
    await s.appendEdit(newEdit(0));
    expect(await readOwner(dir)).toMatchObject({ pid: process.pid, command: 'wise serve on port 8080' });
    const r = await tryOpenInChild(dir);
    expect(r.code).toBe('WISE_STORE_LOCKED');
    expect(r.message).toContain('in use');
    expect(r.message).toContain(`pid ${process.pid} (wise serve on port 8080)`);
    await s.close();
    expect(existsSync(join(dir, 'owner.json'))).toBe(false);
    expect(await tryOpenInChild(dir)).toEqual({ opened: true });
  });
});
