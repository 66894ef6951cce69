/**
 * One WISE configuration on the bundled model, as the README's "What was tried" table reports it:
 * N sequential edits from datasets/bundled-zsre.json (prompt src, target alt), then reliability,
 * generalization (rephrase), locality (loc/loc_ans agreement with the pre-edit argmax), the
 * oracle reliability (each edit's own memory forced) and which edits the router sent elsewhere.
 *
 *   npx tsx scripts/wise-sweep.ts [N=50] ['{"act_ratio":0.9}']   # JSON overrides of config/wise-base.yaml's wise section
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CausalLM } from '../src/model/causal-lm.js';
import { WiseEditor } from '../src/edits/editor.js';
import { agreement, probe } from '../src/edits/probe.js';
import { MemoryShardStore } from '../src/shards/index.js';
import { readConfigFile, resolveConfig } from '../src/config/load.js';
import { loadTrainSplit } from '../src/eval/datasets.js';
import { routerVariant } from '../src/router/router.js';
import { packageRoot } from '../src/config/paths.js';

interface Z { src: string; alt: string; rephrase: string; loc: string; loc_ans: string }
const root = packageRoot();
const bench = JSON.parse(readFileSync(path.join(root, 'datasets', 'bundled-zsre.json'), 'utf8')) as Z[];
const pool = loadTrainSplit(path.join(root, 'datasets', 'bundled-train.json'));
const N = Number(process.argv[2] ?? 50);
const overrides = JSON.parse(process.argv[3] ?? '{}') as Record<string, unknown>;
const cfg = resolveConfig({ base: [readConfigFile(path.join(root, 'config', 'wise-base.yaml'))], env: {}, flags: { wise: overrides } }).wise;
const lm = await CausalLM.load(path.join(root, 'models', 'wise-base'));
const ed = await WiseEditor.open({ lm, store: new MemoryShardStore(), config: cfg, pool });
const recs = bench.slice(0, N);
const loc = recs.map((r) => ({ prompt: r.loc, target: r.loc_ans }));
const pre = await probe(lm, loc);
const t0 = performance.now();
for (const r of recs) await ed.applyEdit({ prompt: r.src, target: r.alt });
const perEdit = (performance.now() - t0) / 1000 / N;
const routing = ed.variant();
const rel = await probe(lm, recs.map((r) => ({ prompt: r.src, target: r.alt })), routing);
const gen = await probe(lm, recs.map((r) => ({ prompt: r.rephrase, target: r.alt })), routing);
const post = await probe(lm, loc, routing);
const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3);
const ag = agreement(pre, post);
let oracle = 0;
const wrong: string[] = [];
for (const [i, r] of recs.entries()) {
  const own = routing.memories.find((m) => ed.state.shards.get(m.id)?.editIds.includes(i) || (m.id === 'active' && ed.state.active.editIds.includes(i)));
  if (!own) continue;
  const v = routerVariant([{ ...own, eps: 0 }], { layer: ed.layer, maxMeanTokens: cfg.max_mean_tokens, layout: lm.spec.layer.mlp.down.layout }, ed.memory.shape);
  oracle += (await probe(lm, [{ prompt: r.src, target: r.alt }], { variant: v, memories: [own] }))[0]!.accuracy;
  if (rel[i]!.memory !== own.id) wrong.push(`${i}->${rel[i]!.memory}`);
}
console.log(JSON.stringify(overrides));
console.log(`edits ${N}: ${perEdit.toFixed(2)} s per edit`);
console.log(`reliability ${mean(rel.map((p) => p.accuracy))} (oracle ${(oracle / N).toFixed(3)}), generalization ${mean(gen.map((p) => p.accuracy))}, locality ${mean(ag)}`);
console.log(`misrouted: ${wrong.join(' ') || 'none'}`);
console.log(`locality probes changed: ${post.map((p, i) => (ag[i]! < 1 ? `${i}:${p.memory}` : '')).filter(Boolean).join(' ') || 'none'}; sent to a memory: ${post.filter((p) => p.memory !== 'main').length}`);
await ed.close();
