/**
 * Crash safety of the editor (process crashes, not power loss): a forked child applies 30
 * edits under a schedule that saves shards and merges within them, acknowledging each edit
 * only after its commit. The parent kills it with SIGKILL at a seeded random point (a number of
 * acknowledged edits plus a delay into the next), 10 rounds;
 * after each, the store must check clean and hold every acknowledged edit. Finally the run is
 * completed and its memories must equal those of an uninterrupted run, bit for bit.
 */
import { expect, it } from 'vitest';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { Rng } from '../../src/util/rng.js';
import { LevelShardStore, checkStore } from '../../src/shards/index.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-child.ts');
const MODEL = hfFixtureDir('tiny-llama');

interface Run {
  child: ChildProcess;
  acked: number;
  ready: Promise<void>;
  done: Promise<string | null>;
  /** resolves once this run has acknowledged `n` edits (or has exited) */
  acks(n: number): Promise<void>;
}

function start(dir: string): Run {
  const child = fork(CHILD, [dir, MODEL], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let count = 0;
  let exited = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) if (exited || count >= w.n) w.resolve();
    else waiters.push(w);
  };
  const run: Run = {
    child, acked: -1, ready: Promise.resolve(), done: Promise.resolve(null),
    acks: (n) => new Promise<void>((resolve) => {
      waiters.push({ n, resolve });
      wake();
    }),
  };
  let onReady!: () => void;
  run.ready = new Promise((r) => (onReady = r));
  run.done = new Promise((resolve) => {
    child.on('message', (m: { ready?: number; acked?: number; done?: boolean; digest?: string }) => {
      if (m.ready !== undefined) onReady();
      if (m.acked !== undefined) {
        run.acked = m.acked;
        count++;
        wake();
      }
      if (m.done) resolve(m.digest ?? null);
    });
    child.on('exit', () => {
      exited = true;
      wake();
      onReady();
      resolve(null);
    });
  });
  return run;
}

describeShared('editor crash safety', () => {
  it('survives 10 SIGKILLs at seeded random points; no acknowledged edit lost; same final memory', async () => {
    const seed = Number(process.env.WISE_CRASH_SEED ?? 20261126);
    console.log(`crash test seed ${seed} (rerun with WISE_CRASH_SEED=${seed})`);
    const rng = new Rng(seed);
    const ref = mkdtempSync(path.join(tmpdir(), 'wise-crash-ref-'));
    const dir = mkdtempSync(path.join(tmpdir(), 'wise-crash-'));
    try {
      const straight = await start(ref).done;
      expect(straight).toMatch(/^[0-9a-f]{64}$/);
      let maxAcked = -1;
      const progress: number[] = [];
      for (let round = 0; round < 10; round++) {
        const run = start(dir);
        await run.ready;
        // A seeded point measured in the child's own progress (0-2 more acknowledged edits, then
        // 0-15 ms into the next one: an edit here takes 10-30 ms), so the kills spread over the
        // run however loaded the machine is.
        await run.acks(rng.int(3));
        await new Promise((r) => setTimeout(r, rng.int(15)));
        run.child.kill('SIGKILL');
        await run.done;
        maxAcked = Math.max(maxAcked, run.acked);
        const store = new LevelShardStore(dir, { blobThreshold: 0 });
        await store.open({ fingerprint: null });
        const report = await checkStore(store);
        expect(report.errors, `round ${round}`).toEqual([]);
        expect(store.nextEditId, `round ${round}: acknowledged edits lost`).toBeGreaterThanOrEqual(maxAcked + 1);
        progress.push(store.nextEditId);
        await store.close();
      }
      console.log(`edits in the store after each kill: ${progress.join(', ')}`);
      // the kills must land inside the run, not all before or after it
      expect(progress.at(-1)).toBeLessThan(30);
      expect(new Set(progress).size).toBeGreaterThan(3);
      const resumed = await start(dir).done;
      expect(resumed).toBe(straight);
    } finally {
      rmSync(ref, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
}, ['fixtures/hf/tiny-llama']);
