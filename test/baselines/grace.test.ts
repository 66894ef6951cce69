/**
 * GRACE (src/baselines/codebook.ts, grace.ts): the codebook's add / split / expand rules on hand-made
 * keys, and the adapter on the tiny-llama fixture: an edited prompt's target becomes the greedy
 * output (GRACE memorizes by replacing the module output, so this holds even on a random model), a
 * far-away prompt hits no entry and keeps its logits bit for bit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { labelKey, nearestKey, updateCodebook, type CodebookEntry, type CodebookOptions } from '../../src/baselines/codebook.js';
import { GraceMethod, packCodebook } from '../../src/baselines/grace.js';
import { promptTargetRow } from '../../src/eval/scorer.js';

const v = (...xs: number[]): Float32Array => Float32Array.from(xs);
const OPTS: CodebookOptions = { initEps: 1, expand: 'coverage' };
let made = 0;
const value = (): Float32Array => v(++made);

describe('GRACE codebook rules (pure)', () => {
  it('adds the first key with ε_init, and a key farther than ε_init + ε_nearest', () => {
    const book: CodebookEntry[] = [];
    expect(updateCodebook(book, v(0, 0), 1, 0, OPTS, value)).toMatchObject({ action: 'add', index: 0, nearest: -1 });
    expect(book[0]).toMatchObject({ eps: 1, label: 1, editId: 0 });
    // d = 2.5 > 1 + 1 → new entry, radii untouched
    expect(updateCodebook(book, v(2.5, 0), 1, 1, OPTS, value)).toMatchObject({ action: 'add', index: 1, nearest: 0, distance: 2.5 });
    expect(book.map((e) => e.eps)).toEqual([1, 1]);
  });

  it('a conflicting label within reach splits the radii: nearest ← d/2 − 1e-5, new ← d/2', () => {
    const book: CodebookEntry[] = [];
    updateCodebook(book, v(0, 0), 1, 0, OPTS, value);
    const u = updateCodebook(book, v(0, 1.5), 2, 1, OPTS, value); // d = 1.5 ≤ 1 + 1, labels differ
    expect(u).toMatchObject({ action: 'split', index: 1, nearest: 0, distance: 1.5 });
    expect(book[0]!.eps).toBeCloseTo(0.75 - 1e-5, 12);
    expect(book[1]).toMatchObject({ eps: 0.75, label: 2, editId: 1 });
    expect(Array.from(book[1]!.key)).toEqual([0, 1.5]);
  });

  it('the same label just outside the radius expands it (coverage), or moves the key halfway (moving_average)', () => {
    const cov: CodebookEntry[] = [];
    updateCodebook(cov, v(0, 0), 1, 0, OPTS, value);
    const u = updateCodebook(cov, v(1.2, 0), 1, 1, OPTS, value);
    expect(u).toMatchObject({ action: 'expand', index: 0, distance: expect.closeTo(1.2, 6) });
    expect(cov).toHaveLength(1);
    expect(cov[0]!.eps).toBeCloseTo(1.2, 6);
    expect(Array.from(cov[0]!.key)).toEqual([0, 0]);

    const mov: CodebookEntry[] = [];
    updateCodebook(mov, v(0, 0), 1, 0, { ...OPTS, expand: 'moving_average' }, value);
    updateCodebook(mov, v(1.2, 0), 1, 1, { ...OPTS, expand: 'moving_average' }, value);
    expect(Array.from(mov[0]!.key)).toEqual([expect.closeTo(0.6, 6), 0]);
    expect(mov[0]!.eps).toBeCloseTo(1.2, 6);
  });

  it('a same-label query inside the radius changes nothing and trains the covering entry', () => {
    const book: CodebookEntry[] = [];
    updateCodebook(book, v(0, 0), 1, 0, OPTS, value);
    const before = made;
    expect(updateCodebook(book, v(0.5, 0), 1, 1, OPTS, value)).toMatchObject({ action: 'covered', index: 0 });
    expect(made).toBe(before); // no value initialised
    expect(book).toHaveLength(1);
    expect(book[0]!.eps).toBe(1);
  });

  it('nearestKey takes the first of equal distances; labelKey is the mean of the label row with the prompt at −100', () => {
    const book: CodebookEntry[] = [];
    updateCodebook(book, v(1, 0), 1, 0, OPTS, value);
    updateCodebook(book, v(-1, 0), 1, 1, OPTS, value); // d = 2 ≤ 2, same label, d > ε → expand entry 0
    expect(book).toHaveLength(1);
    book.push({ key: v(-1, 0), value: v(0), eps: 1, label: 3, editId: 9 });
    expect(nearestKey(book, v(0, 0))).toEqual({ index: 0, distance: 1 });
    expect(labelKey(2, [10, 20])).toBe((-200 + 30) / 4);
    const p = packCodebook(book, 2, 1);
    expect(Array.from(p.eps2)).toEqual([4, 1]);
    expect(Array.from(p.keys)).toEqual([1, 0, -1, 0]);
  });
});

describeShared('GRACE adapter on tiny-llama', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
  });
  const PROMPT = 'The best fruit is';
  const TARGET = 'the';
  const FAR = 'Water is wet and';

  it('an edited prompt generates its target; a far prompt misses the codebook and keeps its logits exactly', async () => {
    const grace = new GraceMethod(lm, { layer: 1, nIter: 20 });
    const ids = lm.tokenizer.encode(PROMPT);
    const tgt = promptTargetRow({ encode: (t) => lm.tokenizer.encode(t) }, PROMPT, TARGET).targetIds;
    const pre = await lm.generate(ids, { maxTokens: tgt.length, stopIds: [] });
    expect(pre.ids).not.toEqual(tgt);
    expect(grace.variant()).toBeUndefined(); // empty codebook: the plain model

    const u = await grace.edit(PROMPT, TARGET);
    expect(u.action).toBe('add');
    expect(u.losses.at(-1)!).toBeLessThan(u.losses[0]!);
    const post = await lm.generate(ids, { maxTokens: tgt.length, stopIds: [], variant: grace.variant() });
    expect(post.ids).toEqual(tgt);
    expect(Array.from(post.prefill.grace_hit!.data as Float32Array)).toEqual([1]);

    const far = lm.tokenizer.encode(FAR);
    const plain = await lm.forward([far]);
    const routed = await lm.forward([far], { variant: grace.variant() });
    expect(Array.from(routed.extra.grace_hit!.data as Float32Array)).toEqual([0]);
    expect(Math.sqrt((routed.extra.grace_dist2!.data as Float32Array)[0]!)).toBeGreaterThan(grace.opts.initEps);
    expect(routed.logits).toEqual(plain.logits);
  });

  it('the teacher-forced scorer keys each row on its last prompt token: edited row hits, the other row is the plain model', async () => {
    const grace = new GraceMethod(lm, { layer: 1, nIter: 20 });
    await grace.edit(PROMPT, TARGET);
    const s = grace.scorer();
    const rows = [promptTargetRow(s, FAR, 'blue'), promptTargetRow(s, PROMPT, TARGET)];
    const [farOut, editOut] = await s.argmaxAndLogprobs(rows);
    expect(editOut!.argmax).toEqual(rows[1]!.targetIds);
    await grace.reset();
    expect(grace.book).toEqual([]);
    const [farPlain] = await grace.scorer().argmaxAndLogprobs([rows[0]!]);
    expect(farOut!.argmax).toEqual(farPlain!.argmax);
    farOut!.targetLogprobs.forEach((lp, j) => expect(lp).toBeCloseTo(farPlain!.targetLogprobs[j]!, 4));
  });

  it('a conflicting edit inside a large ε_init splits the entry: each prompt then hits its own half', async () => {
    const grace = new GraceMethod(lm, { layer: 1, nIter: 2, initEps: 1000 });
    await grace.edit(PROMPT, TARGET);
    const u = await grace.edit('The best fruit was', 'of');
    expect(u).toMatchObject({ action: 'split', index: 1, nearest: 0 });
    expect(grace.book.map((e) => e.eps)).toEqual([expect.closeTo(u.distance / 2 - 1e-5, 3), expect.closeTo(u.distance / 2, 3)]);
    const seqs = [lm.tokenizer.encode(PROMPT), lm.tokenizer.encode('The best fruit was')];
    const r = await lm.forward(seqs, { variant: grace.variant() });
    expect(Array.from(r.extra.grace_hit!.data as Float32Array)).toEqual([1, 1]);
    const d2 = Array.from(r.extra.grace_dist2!.data as Float32Array);
    d2.forEach((x) => expect(Math.abs(x)).toBeLessThan(1e-2)); // each query is its own key (float32 error only)
  });
});
