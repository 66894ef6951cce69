import { readFileSync } from 'node:fs';
import { CausalLM } from './src/model/causal-lm.js';
import { WiseEditor } from './src/edits/editor.js';
import { agreement, probe } from './src/edits/probe.js';
import { MemoryShardStore } from './src/shards/index.js';
import { DEFAULTS } from './src/config/schema.js';
import { loadTrainSplit } from './src/eval/datasets.js';
const bench = JSON.parse(readFileSync('datasets/bundled-zsre.json', 'utf8'));
const pool = loadTrainSplit('datasets/bundled-train.json');
const lm = await CausalLM.load(process.argv[2] ?? '/tmp/wb-partial');
const N = Number(process.argv[3] ?? 10);
const cfg = { ...DEFAULTS.wise, layer: 4, ...JSON.parse(process.argv[4] ?? '{}') };
const ed = await WiseEditor.open({ lm, store: new MemoryShardStore(), config: cfg, pool });

const recs = bench.slice(0, N);
const loc = recs.map((r: any) => ({ prompt: r.loc, target: r.loc_ans }));
const pre = await probe(lm, loc);
const preRel = await probe(lm, recs.map((r: any) => ({ prompt: r.src, target: r.pred })));
console.log('pre: knows true fact', preRel.filter(p=>p.allCorrect).length, '/', N);
const t0 = performance.now();
for (const r of recs) { const x = await ed.applyEdit({ prompt: r.src, target: r.alt }); if (r === recs[0] || r === recs[recs.length-1]) console.log('edit', x.record.id, 'steps', x.steps, 'score', x.score.toFixed(1), 'loss', x.loss.toFixed(3)); }
console.log('s/edit', ((performance.now()-t0)/1000/N).toFixed(2));
const routing = ed.variant();

const rel = await probe(lm, recs.map((r: any) => ({ prompt: r.src, target: r.alt })), routing);
const gen = await probe(lm, recs.map((r: any) => ({ prompt: r.rephrase, target: r.alt })), routing);
const post = await probe(lm, loc, routing);
const m = (xs: number[]) => (xs.reduce((a,b)=>a+b,0)/xs.length).toFixed(3);
console.log('rel', m(rel.map(p=>p.accuracy)), 'gen', m(gen.map(p=>p.accuracy)), 'loc', m(agreement(pre, post)), 'loc routed main', post.filter(p=>p.memory==='main').length, 'gen routed side', gen.filter(p=>p.memory!=='main').length);
const { routerVariant } = await import('./src/router/router.js');
let oracle = 0; const wrong: string[] = [];
for (const [i, r] of recs.entries()) {
  const mem = routing.memories.find(m => m.id === `shard-${i}`) ?? routing.memories[0]!;
  const v = routerVariant([{ ...mem, eps: 0 }], { layer: cfg.layer, maxMeanTokens: 100 }, ed.memory.shape);
  const [p] = await probe(lm, [{ prompt: r.src, target: r.alt }], { variant: v, memories: [mem] });
  oracle += p!.accuracy;
  if (rel[i]!.memory !== mem.id) wrong.push(`${i}->${rel[i]!.memory}`);
}
console.log('oracle rel', (oracle / recs.length).toFixed(3), 'misrouted', wrong.join(' '));
