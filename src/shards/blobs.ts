/**
 * Content-addressed blob files: `<dir>/<sha256>`, written atomically (temp file in the same
 * directory, fsync, rename, fsync the directory) so a reader never sees a partial blob and a
 * crash leaves at most a `.tmp-*` file that gc removes. Blobs are immutable: writing an
 * existing hash is a no-op. LevelDB copes badly with multi-MB values (ecosystem-notes §3:
 * WAL + compaction rewrite them), hence files.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Where the non-inline blobs of a store live. The memory store supplies a Map-backed one. */
export interface BlobDir {
  has(hash: string): Promise<boolean>;
  read(hash: string): Promise<Uint8Array | undefined>;
  /** Durable once it resolves. */
  write(hash: string, bytes: Uint8Array): Promise<void>;
  list(): Promise<string[]>;
  remove(hash: string): Promise<void>;
  /** Removes leftovers of interrupted writes; returns how many. */
  removeTemps(): Promise<number>;
}

const HASH_RE = /^[0-9a-f]{64}$/;

export class FsBlobDir implements BlobDir {
  private seq = 0;
  private readonly inFlight = new Set<string>();
  constructor(readonly dir: string) {}

  path(hash: string): string {
    return join(this.dir, hash);
  }

  async has(hash: string): Promise<boolean> {
    try {
      return (await stat(this.path(hash))).isFile();
    } catch {
      return false;
    }
  }

  async read(hash: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.path(hash));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async write(hash: string, bytes: Uint8Array): Promise<void> {
    if (await this.has(hash)) return; // content-addressed: same name, same bytes
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${hash}-${process.pid}-${this.seq++}`);
    this.inFlight.add(tmp);
    try {
      const fh = await open(tmp, 'wx');
      try {
        let off = 0;
        while (off < bytes.byteLength) {
          const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
          off += bytesWritten;
        }
        await fh.sync(); // data on disk before the name points at it
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path(hash));
      await fsyncDir(this.dir); // make the rename itself durable
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    } finally {
      this.inFlight.delete(tmp);
    }
  }

  async list(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => HASH_RE.test(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async remove(hash: string): Promise<void> {
    await rm(this.path(hash), { force: true });
  }

  async removeTemps(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    const stale = names.filter((n) => n.startsWith('.tmp-') && !this.inFlight.has(join(this.dir, n)));
    await Promise.all(stale.map((n) => rm(join(this.dir, n), { force: true })));
    return stale.length;
  }
}

/** fsync a directory so that a rename inside it survives a machine crash (no-op where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot open/fsync directories; the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

/** Views bytes as Float32Array (little-endian hosts), copying only when misaligned. */
export function toFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  return new Float32Array(bytes.slice().buffer, 0, bytes.byteLength >>> 2);
}

/** The bytes behind a typed array, without copying. */
export function bytesOf(data: Float32Array | Uint8Array): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
