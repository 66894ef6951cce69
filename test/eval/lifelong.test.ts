/**
 * The lifelong protocol with FakeEditMethod (a deterministic test double, see fakes.ts): chunking,
 * reset between chunks, pre before edits before post, edit-all-then-evaluate, irrelevant pairing,
 * caching and resume, progress/ETA.
 */
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChunkCache } from '../../src/eval/cache.js';
import { chunkCount, runLifelong, runMethods, type Progress } from '../../src/eval/lifelong.js';
import { loadDataset, loadTrainSplit } from '../../src/eval/datasets.js';
import { describeShared, sharedPath } from '../helpers/shared.js';
import { FakeEditMethod, WordTokenizer, fakeRecords } from './fakes.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'wise-eval-ll-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const base = { model: 'fake-model', dataset: 'fake-zsre' };

describe('chunk counts', () => {
  it('default caps 50/10/2/1 for T = 1/10/100/1000, bounded by floor(N/T)', () => {
    expect([1, 10, 100, 1000].map((T) => chunkCount(T, 1037))).toEqual([50, 10, 2, 1]);
    expect(chunkCount(100, 150)).toBe(1);
    expect(chunkCount(7, 100)).toBe(1);
    expect(chunkCount(10, 25, 5)).toBe(2);
    expect(chunkCount(10, 1000, { 10: 3 })).toBe(3);
    expect(() => chunkCount(1000, 999)).toThrow(expect.objectContaining({ code: 'WISE_USAGE' }));
    expect(() => chunkCount(0, 10)).toThrow(expect.objectContaining({ code: 'WISE_USAGE' }));
  });
});

describe('protocol', () => {
  it('per chunk: reset, pre on the unedited model, T edits in order, post on the final model', async () => {
    const tok = new WordTokenizer(1);
    const m = new FakeEditMethod('perfect', tok);
    const recs = fakeRecords(12);
    const run = await runLifelong(m, { ...base, records: recs, ts: [4], chunks: 3 });
    const expected = [0, 1, 2].flatMap((c) => [
      'reset',
      'score:12@0', // pre: 4 records × (rewrite, rephrase, locality) rows, no edit active
      ...[0, 1, 2, 3].map((i) => `edit:zsre:${c * 4 + i}|`),
      'score:12@4', // post: exactly this chunk's 4 edits (restored between chunks, nothing accumulates)
    ]);
    expect(m.log).toEqual(expected);
    const cell = run.cells[0]!;
    expect(cell).toMatchObject({ T: 4, chunks: 3, chunksCached: 0, chunksAvailable: 3, n: 12 });
    expect(cell.results.map((r) => r.id)).toEqual(recs.map((r) => r.id));
    expect(cell.summary.pre.mean).toMatchObject({ rewrite_acc: 0, rephrase_acc: 0 });
    expect(cell.summary.post.mean).toMatchObject({ rewrite_acc: 1, rephrase_acc: 0, locality: 1 });
  });

  it('evaluates after all T edits: a forgetful editor (keeps 2) scores 2/T, a leaky one loses locality only above its limit', async () => {
    const tok = new WordTokenizer(1);
    const recs = fakeRecords(8);
    const forgetful = new FakeEditMethod('forgetful', tok, { capacity: 2, generalize: true });
    const leaky = new FakeEditMethod('leaky', tok, { leakAbove: 2 });
    const [f, l] = await runMethods([forgetful, leaky], { ...base, records: recs, ts: [1, 2, 4, 8] });
    expect(f!.cells.map((c) => c.summary.post.mean.rewrite_acc)).toEqual([1, 1, 0.5, 0.25]);
    expect(f!.cells.map((c) => c.summary.post.mean.rephrase_acc)).toEqual([1, 1, 0.5, 0.25]);
    expect(l!.cells.map((c) => c.summary.post.mean.locality)).toEqual([1, 1, 0, 0]);
    // chunks used: T=1 → min(50, 8) = 8; T=2 → 1 (no default cap); T=4 → 1; T=8 → 1
    expect(f!.cells.map((c) => [c.T, c.chunks, c.n])).toEqual([
      [1, 8, 8],
      [2, 1, 2],
      [4, 1, 4],
      [8, 1, 8],
    ]);
  });

  it('calls a batch method\'s finishEdits after the chunk\'s edits, before the post evaluation', async () => {
    const m = new FakeEditMethod('batch', new WordTokenizer());
    Object.assign(m, { finishEdits: async () => void m.log.push('finish') });
    await runLifelong(m, { ...base, records: fakeRecords(4), ts: [2], chunks: 2 });
    expect(m.log.filter((e) => !e.startsWith('edit:'))).toEqual(['reset', 'score:6@0', 'finish', 'score:6@2', 'reset', 'score:6@0', 'finish', 'score:6@2']);
  });

  it('pairs record at position g with irrelevant[g % length]', async () => {
    const m = new FakeEditMethod('m', new WordTokenizer());
    await runLifelong(m, { ...base, records: fakeRecords(6), irrelevant: ['i0', 'i1', 'i2', 'i3'], ts: [3], chunks: 2 });
    expect(m.log.filter((e) => e.startsWith('edit:'))).toEqual(['edit:zsre:0|i0', 'edit:zsre:1|i1', 'edit:zsre:2|i2', 'edit:zsre:3|i3', 'edit:zsre:4|i0', 'edit:zsre:5|i1']);
  });
});

describe('cache and resume', () => {
  it('caches each chunk; a second run does no work; a missing chunk is recomputed alone; a new fingerprint recomputes all', async () => {
    const dir = path.join(tmp, 'cache1');
    const tok = new WordTokenizer(1);
    const recs = fakeRecords(10);
    const opts = { ...base, records: recs, ts: [1, 5], chunks: { 1: 4, 5: 2 }, cacheDir: dir, fingerprint: 'cfg-a' };

    const m1 = new FakeEditMethod('m', tok, { capacity: 3 });
    const first = await runLifelong(m1, opts);
    expect(m1.counts.edit).toBe(4 + 10);
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(6);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const m2 = new FakeEditMethod('m', tok, { capacity: 3 });
    const events: Progress[] = [];
    const second = await runLifelong(m2, { ...opts, onProgress: (p) => events.push(p) });
    expect(m2.counts).toEqual({ reset: 0, edit: 0, score: 0 });
    expect(second.cells.map((c) => c.chunksCached)).toEqual([4, 2]);
    expect(second.cells.map((c) => c.summary)).toEqual(first.cells.map((c) => c.summary));
    expect(second.cells.map((c) => c.results)).toEqual(first.cells.map((c) => c.results));
    expect(events.every((e) => e.phase === 'cached' && e.editsTotal === 0)).toBe(true);

    const cache = new ChunkCache(dir);
    unlinkSync(cache.file({ ...base, method: 'm', T: 5, chunk: 1 }));
    const m3 = new FakeEditMethod('m', tok, { capacity: 3 });
    const third = await runLifelong(m3, opts);
    expect(m3.counts.edit).toBe(5);
    expect(m3.log.filter((e) => e.startsWith('edit:'))[0]).toBe('edit:zsre:5|');
    expect(third.cells[1]!.chunksCached).toBe(1);
    expect(third.cells.map((c) => c.summary)).toEqual(first.cells.map((c) => c.summary));

    const m4 = new FakeEditMethod('m', tok, { capacity: 3 });
    await runLifelong(m4, { ...opts, fingerprint: 'cfg-b' });
    expect(m4.counts.edit).toBe(14);
  });

  it('keys by method and ignores corrupt or mismatched entries', async () => {
    const dir = path.join(tmp, 'cache2');
    const tok = new WordTokenizer(1);
    const recs = fakeRecords(4);
    await runLifelong(new FakeEditMethod('a', tok), { ...base, records: recs, ts: [2], cacheDir: dir });
    const b = new FakeEditMethod('b', tok);
    await runLifelong(b, { ...base, records: recs, ts: [2], cacheDir: dir });
    expect(b.counts.edit).toBe(2); // method 'a' entries are not method 'b' results
    const a2 = new FakeEditMethod('a', tok);
    await runLifelong(a2, { ...base, records: [...recs].reverse(), ts: [2], cacheDir: dir });
    expect(a2.counts.edit).toBe(2); // other record ids in the chunk → recomputed
  });
});

describe('progress', () => {
  it('reports phases in order with an ETA from the time per edit', async () => {
    let t = 0;
    const events: Progress[] = [];
    const m = new FakeEditMethod('m', new WordTokenizer());
    await runLifelong(m, { ...base, records: fakeRecords(4), ts: [2], chunks: 2, now: () => (t += 1000), onProgress: (p) => events.push(p) });
    // the fake clock moves 1 s per reading, so the first edit of each chunk lands ≥ 5 s after the
    // chunk began and the second within 5 s of that: one throttled 'edit' line per chunk
    expect(events.map((e) => `${e.chunk}:${e.phase}`)).toEqual(['0:pre', '0:edit', '0:edit', '0:post', '0:chunk-done', '1:pre', '1:edit', '1:edit', '1:post', '1:chunk-done']);
    expect(events[0]!.etaMs).toBeUndefined();
    expect(events[2]).toMatchObject({ phase: 'edit', editsDone: 1 });
    const mid = events[4]!;
    expect(mid).toMatchObject({ editsDone: 2, editsTotal: 4 });
    expect(mid.etaMs).toBeCloseTo(mid.elapsedMs, 6); // half done → as long again
    expect(events.at(-1)).toMatchObject({ editsDone: 4, etaMs: 0 });
  });
});

describeShared(
  'protocol on real ZsRE records (fake editor)',
  () => {
    it('T=1 and T=10 over 30 records with train-split irrelevant samples; portability scored', async () => {
      const records = loadDataset(sharedPath('data/zsre/zsre_mend_eval_portability_gpt4.json'), { limit: 30 }).records;
      const irrelevant = loadTrainSplit(sharedPath('data/zsre/zsre_mend_train-1k.json'));
      const m = new FakeEditMethod('fake', new WordTokenizer(1), { generalize: true });
      const run = await runLifelong(m, { ...base, records, irrelevant, ts: [1, 10] });
      expect(run.cells.map((c) => [c.T, c.chunks, c.chunksAvailable, c.n])).toEqual([
        [1, 30, 30, 30],
        [10, 3, 3, 30],
      ]);
      expect(m.log).toContain(`edit:zsre:0|${irrelevant[0]}`);
      for (const c of run.cells) {
        expect(c.summary.post.mean).toMatchObject({ rewrite_acc: 1, rephrase_acc: 1, locality: 1 });
        expect(c.summary.post.count.portability).toBe(30);
      }
    });
  },
  ['data/zsre/zsre_mend_eval_portability_gpt4.json', 'data/zsre/zsre_mend_train-1k.json'],
);
