/**
 * Kept states (`wise eval --keep-state`, src/eval/methods/wise.ts): a chunk's edited WISE store is
 * kept on disk and reopened by a later run whose config differs only in routing settings
 * (edits/routing-keys.ts), with the same results as applying the edits again under those settings.
 * Tiny-llama fixture (a random model): this checks plumbing and equality, not quality.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT, describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { DEFAULTS, type WiseConfig } from '../../src/config/schema.js';
import { LevelShardStore, MemoryShardStore } from '../../src/shards/index.js';
import { runLifelong } from '../../src/eval/lifelong.js';
import type { EvalRecord } from '../../src/eval/datasets.js';
import { createMethod, type KeptStates, type WiseMethod } from '../../src/eval/methods/index.js';
import { routingOnlyKeys, trainingSettings } from '../../src/edits/routing-keys.js';

const RECORDS: EvalRecord[] = [
  { id: 'k:0', kind: 'zsre', prompt: 'The capital of France is', target: 'Rome', rephrase: 'France has its capital in', locality: { prompt: 'Water is wet and', answer: 'cold' } },
  { id: 'k:1', kind: 'zsre', prompt: 'The best fruit is', target: 'apple', rephrase: 'My favourite fruit is', locality: { prompt: 'Two plus two is', answer: 'four' } },
  { id: 'k:2', kind: 'zsre', prompt: 'My dog is', target: 'big', rephrase: 'The dog I own is', locality: { prompt: 'Cats like to eat', answer: 'fish' } },
];
const TRAIN = ['The sky is blue', 'Snow is white', 'Fire is hot', 'Ice is cold'];
const CFG: WiseConfig = { ...DEFAULTS.wise, layer: 1, n_iter: 8, context_templates: 2, save_freq: 1, merge_freq: 1000 };
// routing only: another act_ratio, ε above the other edits' scores and above 4 pool texts
const ROUTED: WiseConfig = { ...CFG, act_ratio: 0.5, threshold_above_edits: 0.05, threshold_pool: 4, threshold_above_pool: 1.2, route_topk: 2, route_normalize: true };

describe('routing-only settings', () => {
  it('drop the router-only keys; act_ratio and the statistic stay training keys when training reads them', () => {
    expect(trainingSettings(ROUTED)).toEqual(trainingSettings(CFG));
    expect(trainingSettings({ ...CFG, n_iter: 9 })).not.toEqual(trainingSettings(CFG));
    expect(trainingSettings({ ...CFG, threshold_on: 'prompt' })).not.toEqual(trainingSettings(CFG));
    expect(routingOnlyKeys(CFG)).toContain('act_ratio');
    const conflicts = { ...CFG, replay_conflicts: 1 };
    expect(routingOnlyKeys(conflicts)).not.toContain('act_ratio');
    expect(trainingSettings({ ...conflicts, act_ratio: 0.5 })).not.toEqual(trainingSettings(conflicts));
  });
  it("leave out mask_structure where it trains as before the key existed ('element', or ρ = 1), so older kept states still match", () => {
    const { mask_structure: _, ...before } = trainingSettings(CFG) as Record<string, unknown>;
    expect(trainingSettings(CFG)).toEqual(before);
    expect(trainingSettings({ ...CFG, mask_ratio: 1, mask_structure: 'channel' })).toEqual(trainingSettings({ ...CFG, mask_ratio: 1 }));
    expect(trainingSettings({ ...CFG, mask_structure: 'channel' })).toMatchObject({ mask_structure: 'channel' });
  });
});

describeShared('kept WISE states on tiny-llama', () => {
  let lm: CausalLM;
  const dirs: string[] = [];
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
  });
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = (p: string): string => {
    const d = mkdtempSync(path.join(tmpdir(), p));
    dirs.push(d);
    return d;
  };
  const kept = (dir: string) => (): KeptStates => ({ dir, open: (d) => new LevelShardStore(d, { blobThreshold: 0 }) });
  const run = async (config: WiseConfig, keepDir: string | null, records = RECORDS) => {
    const m = createMethod('wise-retrieve', { lm, config, pool: TRAIN, newStore: () => new MemoryShardStore(), ...(keepDir ? { keep: kept(keepDir) } : {}) }).method as WiseMethod;
    const edits = vi.spyOn(m, 'applyEdit');
    try {
      const r = await runLifelong(m, { model: 'tiny-llama', dataset: 'toy', records, irrelevant: TRAIN, ts: [records.length], chunks: 1 });
      return { cell: r.cells[0]!, edits: edits.mock.calls.length, applied: m.editor!.state.applied };
    } finally {
      await m.close();
    }
  };

  it('a routing-only change reopens the kept store instead of editing, with the results of editing again', async () => {
    const dir = tmp('wise-kept-');
    const first = await run(CFG, dir);
    expect(first.edits).toBe(3);
    expect(first.cell.perChunk[0]!.timing.editSeconds).toBeGreaterThan(0);
    const marker = JSON.parse(readFileSync(path.join(dir, 'T3-c0', 'kept.json'), 'utf8')) as { recordIds: string[]; editSeconds: number };
    expect(marker.recordIds).toEqual(['k:0', 'k:1', 'k:2']);

    const reopened = await run(ROUTED, dir);
    expect(reopened.edits).toBe(0);
    expect(reopened.applied).toBe(3);
    expect(reopened.cell.perChunk[0]!.timing.editSeconds).toBe(marker.editSeconds);
    const fresh = await run(ROUTED, null);
    expect(fresh.edits).toBe(3);
    expect(reopened.cell.results).toEqual(fresh.cell.results);
    // pre-edit outputs come from the unedited model in every run
    expect(reopened.cell.results.map((r) => r.pre)).toEqual(first.cell.results.map((r) => r.pre));
  });

  it('a state kept for other records is not reused: the chunk is edited again and kept anew', async () => {
    const dir = tmp('wise-kept-');
    await run(CFG, dir);
    const other = [RECORDS[2]!, RECORDS[1]!, RECORDS[0]!].map((r, i) => ({ ...r, id: `o:${i}` }));
    const again = await run(CFG, dir, other);
    expect(again.edits).toBe(3);
    const marker = JSON.parse(readFileSync(path.join(dir, 'T3-c0', 'kept.json'), 'utf8')) as { recordIds: string[] };
    expect(marker.recordIds).toEqual(['o:0', 'o:1', 'o:2']);
  });

  it('a state without its marker (an interrupted chunk) is emptied and edited again', async () => {
    const dir = tmp('wise-kept-');
    await run(CFG, dir);
    rmSync(path.join(dir, 'T3-c0', 'kept.json'));
    const again = await run(CFG, dir);
    expect(again.edits).toBe(3);
    expect(again.applied).toBe(3);
  });

  it('wise eval --keep-state (CLI): a rerun with another act_ratio restores the edits; another n_iter edits again', () => {
    const dir = tmp('wise-kept-cli-');
    const zsre = RECORDS.map((r) => ({ subject: 'x', src: r.prompt, pred: 'y', rephrase: r.rephrase, alt: r.target, answers: ['y'], loc: `nq question: ${r.locality!.prompt}`, loc_ans: r.locality!.answer, cond: '' }));
    writeFileSync(path.join(dir, 'edit.json'), JSON.stringify(zsre));
    writeFileSync(path.join(dir, 'train.json'), JSON.stringify(zsre));
    const out = path.join(dir, 'out');
    const cli = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), '--model', hfFixtureDir('tiny-llama'), 'eval', '--dataset', path.join(dir, 'edit.json'),
        '--train', path.join(dir, 'train.json'), '--method', 'wise-retrieve', '--edits', '3', '--keep-state', '--out', out, '--json'],
        { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, WISE_ENGINE__THREADS: '1', WISE_WISE__N_ITER: '4', WISE_WISE__CONTEXT_TEMPLATES: '2', WISE_WISE__LAYER: '1', ...env } });
      expect(r.status, r.stderr).toBe(0);
      const entries = readdirSync(path.join(out, 'cache')).map((f) => JSON.parse(readFileSync(path.join(out, 'cache', f), 'utf8')) as { fingerprint: string; restored?: boolean });
      expect(entries).toHaveLength(1);
      return { restored: entries[0]!.restored === true, states: readdirSync(path.join(out, 'states')).sort() };
    };
    const a = cli({});
    expect(a.restored).toBe(false);
    expect(a.states).toHaveLength(1);
    expect(existsSync(path.join(out, 'states', a.states[0]!, 'T3-c0', 'kept.json'))).toBe(true);
    const b = cli({ WISE_WISE__ACT_RATIO: '0.5' });
    expect(b).toEqual({ restored: true, states: a.states });
    const c = cli({ WISE_WISE__N_ITER: '5' });
    expect(c.restored).toBe(false);
    expect(c.states).toHaveLength(2);
  });
});
