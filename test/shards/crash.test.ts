/**
 * Crash safety of the store alone (ecosystem-notes §3 recipe): a forked child commits
 * edit+shard+counter batches and acks each; the parent SIGKILLs it at a seeded random point,
 * reopens, and checks that checkStore passes, that no acknowledged edit is lost, that the
 * counter equals the log length and never goes back, and that every shard's blob is the
 * one its edit recorded. Covers process crashes, not power loss.
 * Reproduce a run with WISE_CRASH_SEED=<seed printed below>.
 */
import { fork } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { LevelShardStore, checkStore, type EditRecord } from '../../src/shards/index.js';

const ROUNDS = 10;
const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the child until `killAfterMs` past its 'ready', SIGKILLs it; returns the last ack. */
function crashRound(killAfterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let last = -1;
    const cp = fork(child, [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    cp.on('message', (m: { ready?: number; acked?: number }) => {
      if (m.ready !== undefined) setTimeout(() => cp.kill('SIGKILL'), killAfterMs);
      if (m.acked !== undefined) last = m.acked;
    });
    cp.once('error', reject);
    cp.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`child exited early: ${code}`))));
  });
}

it(`survives ${ROUNDS} SIGKILLs without losing acknowledged edits`, async () => {
  const seed = Number(process.env.WISE_CRASH_SEED ?? Date.now() % 1e9);
  console.log(`crash test seed: ${seed} (rerun with WISE_CRASH_SEED=${seed})`);
  const rng = new Rng(seed);
  dir = await mkdtemp(join(tmpdir(), 'wise-crash-'));
  let prevCount = 0;
  let failed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const lastAcked = await crashRound(50 + rng.int(450));
    const s = await LevelShardStore.open(dir, { fingerprint: null }, { blobThreshold: 0 });
    try {
      const rep = await checkStore(s);
      expect(rep.errors, `round ${round}`).toEqual([]);
      expect(rep.warnings.every((w) => w.code === 'orphan-blob'), JSON.stringify(rep.warnings)).toBe(true);
      const count = (await s.getMeta('count')) ?? 0;
      expect(count).toBe(s.nextEditId); // counter and log moved together
      expect(count as number).toBeGreaterThan(lastAcked); // every acked edit is present
      expect(count as number).toBeGreaterThanOrEqual(prevCount); // never goes back
      const edits: EditRecord[] = await s.listEdits();
      for (const e of edits) {
        const shard = await s.getShard(`s${e.id}`);
        expect(shard?.delta?.blob.hash).toBe((e.request as { sha: string }).sha);
      }
      prevCount = count as number;
      await s.gc(); // orphan blobs / temp files of the killed write
      expect((await readdir(join(dir, 'blobs'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    } catch (e) {
      failed++;
      throw e;
    } finally {
      await s.close();
    }
    console.log(`round ${round}: acked ≤ ${lastAcked}, store has ${prevCount} edits`);
  }
  console.log(`${ROUNDS - failed} passed, ${failed} failed`);
  expect(prevCount).toBeGreaterThan(ROUNDS); // the child really made progress
}, 60_000);
