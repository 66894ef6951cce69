/**
 * The EditMethod adapters (src/eval/methods, src/baselines) under the lifelong protocol, against the
 * tiny-llama fixture (a random model: these check the plumbing and EasyEdit's fields, not quality):
 * WISE on a fresh in-memory store per chunk (templates generated once), the i-th train sample as
 * the irrelevant row, and locality exactly 1 on locality prompts that route to the main memory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { REPO_ROOT, describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { DEFAULTS, type WiseConfig } from '../../src/config/schema.js';
import { MemoryShardStore } from '../../src/shards/index.js';
import { runLifelong, runMethods } from '../../src/eval/lifelong.js';
import type { EvalRecord } from '../../src/eval/datasets.js';
import { createMethod, METHOD_NAMES, WiseMethod } from '../../src/eval/methods/index.js';
import { promptTargetRow } from '../../src/eval/scorer.js';

const RECORDS: EvalRecord[] = [
  { id: 'toy:0', kind: 'zsre', prompt: 'The capital of France is', target: 'Rome', rephrase: 'France has its capital in', locality: { prompt: 'Water is wet and', answer: 'cold' } },
  { id: 'toy:1', kind: 'zsre', prompt: 'The best fruit is', target: 'apple', rephrase: 'My favourite fruit is', locality: { prompt: 'Two plus two is', answer: 'four' } },
  { id: 'toy:2', kind: 'zsre', prompt: 'My dog is', target: 'big', rephrase: 'The dog I own is', locality: { prompt: 'Cats like to eat', answer: 'fish' } },
  { id: 'toy:3', kind: 'zsre', prompt: 'The color of grass is', target: 'red', rephrase: 'Grass has the color', locality: { prompt: 'The sun rises in the', answer: 'east' } },
];
const TRAIN = ['The sky is blue', 'Snow is white', 'Fire is hot', 'Ice is cold'];
const CFG: WiseConfig = { ...DEFAULTS.wise, layer: 1, n_iter: 10, context_templates: 2 };
const POST_FIELDS = ['rewrite_acc', 'rewrite_acc_all', 'rephrase_acc', 'rephrase_acc_all', 'locality'];

describeShared('EditMethod adapters on tiny-llama', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
  });
  const ctx = () => ({ lm, config: CFG, pool: TRAIN, newStore: () => new MemoryShardStore(), grace: { nIter: 10 }, ft: { lr: 5e-3 } });

  it('WISE and FT-M under runLifelong (T=2, 1 chunk): EasyEdit fields; WISE locality is 1 where the locality prompt routes to main', async () => {
    const wise = createMethod('wise', ctx()).method as WiseMethod;
    const ftm = createMethod('ft-m', ctx()).method;
    const opts = { model: 'tiny-llama', dataset: 'toy', records: RECORDS, irrelevant: TRAIN, ts: [2], chunks: 1 };
    const [w, f] = await runMethods([wise, ftm], opts);
    for (const run of [w!, f!]) {
      const cell = run.cells[0]!;
      expect(cell).toMatchObject({ T: 2, chunks: 1, n: 2 });
      expect(cell.results.map((r) => r.id)).toEqual(['toy:0', 'toy:1']);
      for (const r of cell.results) {
        for (const k of POST_FIELDS) expect(r.post[k as keyof typeof r.post], `${run.method} ${r.id} ${k}`).toEqual(expect.any(Number));
        expect(Object.keys(r.pre).sort()).toEqual(['rephrase_acc', 'rephrase_acc_all', 'rewrite_acc', 'rewrite_acc_all']);
      }
      expect(cell.summary.post.count.locality).toBe(2);
    }
    // WISE: the irrelevant row of edit i is train[i] verbatim (EasyEdit's pairing)
    const ed = wise.editor!;
    expect((await ed.store.getEdit(0))!.meta).toMatchObject({ irrelevant: [TRAIN[0]] });
    expect((await ed.store.getEdit(1))!.meta).toMatchObject({ irrelevant: [TRAIN[1]] });
    // Route of each locality row (teacher-forced: loc prompt + " " + answer) under the final state
    const scorer = wise.scorer();
    const rows = RECORDS.slice(0, 2).map((r) => promptTargetRow(scorer, r.locality!.prompt, r.locality!.answer));
    const fwd = await lm.forward(rows.map((r) => [...r.promptIds, ...r.targetIds]), { variant: ed.variant().variant });
    const routes = Array.from(fwd.extra.route!.data as BigInt64Array, Number);
    const loc = w!.cells[0]!.results.map((r) => r.post.locality);
    routes.forEach((route, i) => {
      if (route === 0) expect(loc[i], `record ${i} routes to main`).toBe(1);
    });
    console.log(`WISE on tiny-llama: locality routes ${JSON.stringify(routes)} (0 = main), locality ${JSON.stringify(loc)}, post ${JSON.stringify(w!.cells[0]!.summary.post.mean)}`);
    console.log(`FT-M on tiny-llama: post ${JSON.stringify(f!.cells[0]!.summary.post.mean)}`);
    await wise.close();
  });

  it('WISE generates the context templates once and reuses them for every later store', async () => {
    const wise = createMethod('wise-retrieve', ctx()).method as WiseMethod;
    expect(wise.name).toBe('wise-retrieve');
    const spy = vi.spyOn(lm, 'generate');
    await wise.reset();
    const calls = spy.mock.calls.length;
    expect(calls).toBeGreaterThan(0);
    const templates = wise.templates;
    await wise.reset();
    await wise.reset();
    expect(spy.mock.calls.length).toBe(calls);
    expect(wise.editor!.templates).toEqual(templates);
    expect(wise.editor!.state.applied).toBe(0);
    spy.mockRestore();
    await wise.close();
  });

  it('every method runs a chunk; pre-edit outputs are the plain model for all of them', async () => {
    const runs = [];
    for (const name of METHOD_NAMES) {
      const m = createMethod(name, ctx()).method;
      runs.push(await runLifelong(m, { model: 'tiny-llama', dataset: 'toy', records: RECORDS.slice(2), irrelevant: TRAIN, ts: [2] }));
      if (m instanceof WiseMethod) await m.close();
    }
    const pre = runs.map((r) => r.cells[0]!.summary.pre.mean);
    for (const p of pre) expect(p).toEqual(pre[0]);
    for (const r of runs) expect(r.cells[0]!.summary.post.count.locality).toBe(2);
    console.log(runs.map((r) => `${r.method}: ${JSON.stringify(r.cells[0]!.summary.post.mean)}`).join('\n'));
  });

  it('rejects an unknown method name', () => {
    expect(() => createMethod('mend', ctx())).toThrow(expect.objectContaining({ code: 'WISE_USAGE' }));
  });

  it('wise eval (CLI): writes results.json + report.html; a rerun comes entirely from the cache', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wise-eval-cli-'));
    tmpDirs.push(dir);
    const zsre = RECORDS.map((r) => ({ subject: 'x', src: r.prompt, pred: 'y', rephrase: r.rephrase, alt: r.target, answers: ['y'], loc: `nq question: ${r.locality!.prompt}`, loc_ans: r.locality!.answer, cond: '' }));
    writeFileSync(path.join(dir, 'edit.json'), JSON.stringify(zsre));
    writeFileSync(path.join(dir, 'train.json'), JSON.stringify(zsre.map((z, i) => ({ ...z, loc: `nq question: ${TRAIN[i]}` }))));
    const args = ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), '--model', hfFixtureDir('tiny-llama'), 'eval', '--dataset', path.join(dir, 'edit.json'),
      '--train', path.join(dir, 'train.json'), '--method', 'ft-m,grace', '--edits', '1,2', '--ft-steps', '3', '--grace-iter', '3', '--out', path.join(dir, 'out'), '--json'];
    const run = () => spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, WISE_ENGINE__THREADS: '1' } });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as { results: string; report: string; methods: { method: string; cells: { T: number; chunks: number; chunksCached: number }[] }[] };
    expect(existsSync(out.results) && existsSync(out.report)).toBe(true);
    expect(out.methods.map((m) => [m.method, m.cells.map((c) => [c.T, c.chunks, c.chunksCached])])).toEqual([
      ['ft-m', [[1, 4, 0], [2, 1, 0]]],
      ['grace', [[1, 4, 0], [2, 1, 0]]],
    ]);
    const results = JSON.parse(readFileSync(out.results, 'utf8')) as { meta: { model: string; dataset: string; records: number } };
    expect(results.meta).toMatchObject({ model: 'tiny-llama', dataset: 'edit', records: 4 });
    const again = JSON.parse(run().stdout) as typeof out;
    expect(again.methods.flatMap((m) => m.cells.map((c) => c.chunksCached === c.chunks))).toEqual([true, true, true, true]);
  });

  it('wise eval (CLI) on KnowEdit records with --fluency: portability and locality per question type, and fluency, in the summary, results.json and the report', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wise-eval-knowedit-'));
    tmpDirs.push(dir);
    const knowedit = RECORDS.map((r, i) => ({
      subject: 'x', prompt: r.prompt, target_new: r.target, rephrase_prompt: r.rephrase,
      portability: { Reasoning: [{ prompt: `${r.rephrase} so`, ground_truth: [['yes']] }], ...(i % 2 === 0 ? { Subject_Aliasing: [{ prompt: r.rephrase, ground_truth: r.target }] } : {}) },
      locality: { Relation_Specificity: [{ prompt: r.locality!.prompt, ground_truth: r.locality!.answer }], Forgetfulness: [{ prompt: TRAIN[i], ground_truth: 'now' }] },
    }));
    writeFileSync(path.join(dir, 'edit.json'), JSON.stringify(knowedit));
    const args = ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), '--model', hfFixtureDir('tiny-llama'), 'eval', '--dataset', path.join(dir, 'edit.json'),
      '--train', path.join(dir, 'edit.json'), '--method', 'ft-m', '--edits', '2', '--chunks', '1', '--ft-steps', '2', '--fluency', '--out', path.join(dir, 'out')];
    const run = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, WISE_ENGINE__THREADS: '1' } });
    expect(run.status, run.stderr).toBe(0);
    type Side = { portability?: number; portability_keys?: Record<string, number>; locality?: number; locality_keys?: Record<string, number>; fluency?: number };
    const results = JSON.parse(readFileSync(path.join(dir, 'out', 'results.json'), 'utf8')) as { meta: { kind: string }; methods: { cells: { summary: { pre: { mean: Side }; post: { mean: Side } & Side }; requests: { pre: Side; post: Side }[] }[] }[] };
    expect(results.meta.kind).toBe('knowedit');
    const cell = results.methods[0]!.cells[0]!;
    const reqs = cell.requests.map((r) => r.post);
    expect(reqs.map((p) => Object.keys(p.portability_keys!))).toEqual([['reasoning_acc', 'Subject_Aliasing_acc'], ['reasoning_acc']]);
    for (const p of reqs) {
      const types = Object.values(p.portability_keys!);
      expect(p.portability).toBeCloseTo(types.reduce((a, b) => a + b, 0) / types.length, 12);
      expect(Object.keys(p.locality_keys!)).toEqual(['Relation_Specificity_acc', 'Forgetfulness_acc']);
    }
    // per type over the requests that have it: Subject_Aliasing only from the first of the two edited records
    const post = cell.summary.post;
    expect(post.portability_keys!.Subject_Aliasing_acc).toBe(reqs[0]!.portability_keys!.Subject_Aliasing_acc);
    expect(post.portability_keys!.reasoning_acc).toBeCloseTo((reqs[0]!.portability_keys!.reasoning_acc! + reqs[1]!.portability_keys!.reasoning_acc!) / 2, 12);
    const f3 = (x: number) => x.toFixed(3);
    expect(run.stdout).toContain(`Port. by type: reasoning_acc ${f3(post.portability_keys!.reasoning_acc!)}, Subject_Aliasing_acc ${f3(post.portability_keys!.Subject_Aliasing_acc!)}`);
    expect(run.stdout).toContain(`Loc. by type: Relation_Specificity_acc ${f3(post.locality_keys!.Relation_Specificity_acc!)}, Forgetfulness_acc ${f3(post.locality_keys!.Forgetfulness_acc!)}`);
    expect(readFileSync(path.join(dir, 'out', 'report.html'), 'utf8')).toContain('<th>Port. reasoning_acc</th><th>Port. Subject_Aliasing_acc</th><th>Loc. Relation_Specificity_acc</th><th>Loc. Forgetfulness_acc</th>');
    // --fluency: every request scored before and after (n-gram entropy of a 100-token sample), in the summary and the report
    for (const r of cell.requests) for (const side of [r.pre, r.post]) expect(side.fluency).toBeGreaterThan(0);
    expect(cell.summary.post.mean.fluency).toBeCloseTo((reqs[0]!.fluency! + reqs[1]!.fluency!) / 2, 12);
    expect(run.stdout).toContain(`Flu. ${f3(cell.summary.pre.mean.fluency!)} → ${f3(cell.summary.post.mean.fluency!)}`);
    expect(readFileSync(path.join(dir, 'out', 'report.html'), 'utf8')).toContain('<th colspan="2">Flu.</th>');
  });
});

const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
