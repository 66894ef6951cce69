/**
 * Replays routing rules on stored side memories (README "Routing at T = 1000"): trains N
 * sequential bundled edits once (config/wise-base.yaml + overrides), keeps every memory's Δ, then
 * scores every memory on every query token by token and evaluates routing statistics and ε
 * rules without retraining.
 *
 *   npx tsx scripts/route-replay.ts N DIR ['{"training overrides"}']   # trains into DIR unless DIR/meta.json exists
 *
 * Queries per edit i: its prompt + target (rel), its prompt alone (for ε), its rephrase + target
 * (gen), its locality fact (loc); plus the last 500 train-split texts: the first 250 set the
 * pool floor, the other 250 measure how often a rule fires on held-out text.
 * Estimates (no forward per rule): a query routed to its own memory scores that memory's forced
 * accuracy, one routed elsewhere or to main scores the unedited model's accuracy (measured: a
 * misrouted edit prompt answers like the unedited model, 0.20 vs 0.19 at 300 edits); locality is
 * reported as the fraction of locality prompts that reach the original layer, a lower bound
 * (a prompt routed to a memory often keeps its answer).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CausalLM, type Variant } from '../src/model/causal-lm.js';
import { WiseEditor } from '../src/edits/editor.js';
import { memoryViews } from '../src/edits/state.js';
import { MemoryShardStore } from '../src/shards/index.js';
import { readConfigFile, resolveConfig } from '../src/config/load.js';
import { loadTrainSplit } from '../src/eval/datasets.js';
import { packageRoot } from '../src/config/paths.js';
import { SideMemory } from '../src/memory/side-memory.js';
import { Graph, ops } from '../src/graph/index.js';
import { tensorData } from '../src/graph/types.js';
import { tokenNorms } from '../src/router/score.js';
import { routerVariant } from '../src/router/router.js';
import { stackDeltas, stackDims } from '../src/router/stack.js';
import { normalizeTarget } from '../src/memory/rows.js';
import { argmax } from '../src/model/sampling.js';

interface Z { src: string; alt: string; rephrase: string; loc: string; loc_ans: string }
const root = packageRoot();
const N = Number(process.argv[2] ?? 100);
const dir = process.argv[3] ?? `.wise-tmp/route-replay-${N}`;
const overrides = JSON.parse(process.argv[4] ?? '{}') as Record<string, unknown>;
const bench = (JSON.parse(readFileSync(path.join(root, 'datasets', 'bundled-zsre.json'), 'utf8')) as Z[]).slice(0, N);
const train = loadTrainSplit(path.join(root, 'datasets', 'bundled-train.json'));
const lm = await CausalLM.load(path.join(root, 'models', 'wise-base'));
const layout = lm.spec.layer.mlp.down.layout;

// ---- 1. memories (trained once, then read back) -------------------------------------------------
interface Meta { shape: number[]; layer: number; own: number[] }
if (!existsSync(path.join(dir, 'meta.json'))) {
  const cfg = resolveConfig({ base: [readConfigFile(path.join(root, 'config', 'wise-base.yaml'))], env: {}, flags: { wise: overrides } }).wise;
  const ed = await WiseEditor.open({ lm, store: new MemoryShardStore(), config: cfg, pool: train });
  for (const [i, r] of bench.entries()) {
    await ed.applyEdit({ prompt: r.src, target: r.alt });
    if ((i + 1) % 50 === 0) console.error(`trained ${i + 1}/${N}`);
  }
  const views = memoryViews(ed.state, ed.memory.base);
  if (views.some((v) => v.editIds.length !== 1)) throw new Error('route-replay expects one edit per memory (save_freq 1, no merges)');
  mkdirSync(dir, { recursive: true });
  const all = new Float32Array(views.length * ed.memory.size);
  views.forEach((v, k) => all.set(v.delta, k * ed.memory.size));
  writeFileSync(path.join(dir, 'deltas.bin'), all);
  const own: number[] = [];
  views.forEach((v, k) => (own[v.editIds[0]!] = k));
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ shape: ed.memory.shape, layer: ed.layer, own } satisfies Meta));
  await ed.close();
}
const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
const buf = readFileSync(path.join(dir, 'deltas.bin'));
const deltas = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const size = meta.shape[0]! * meta.shape[1]!;
const M = deltas.length / size;
const delta = (k: number): Float32Array => deltas.subarray(k * size, (k + 1) * size);

// ---- 2. token scores of every memory on every query ----------------------------------------------
type Kind = 'rel' | 'relp' | 'gen' | 'loc' | 'pool';
interface Query { kind: Kind; i: number; prompt: string; target: string; T: number; anorm: number[]; norms: Float32Array /* (T, M) */ }
const queries: Query[] = [];
const add = (kind: Kind, i: number, prompt: string, target: string): void => void queries.push({ kind, i, prompt, target, T: 0, anorm: [], norms: new Float32Array(0) });
bench.forEach((r, i) => {
  add('rel', i, r.src, r.alt);
  add('relp', i, r.src, '');
  add('gen', i, r.rephrase, r.alt);
  add('loc', i, r.loc, r.loc_ans);
});
train.slice(-500).forEach((t, i) => add('pool', i, t, ''));
const sm = new SideMemory(lm, { layer: meta.layer, margin: { alpha: 0, beta: 0, gamma: 0 }, hparams: { lr: 0, nIter: 0, normConstraint: 0, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 } });
const [ff, d] = stackDims(meta.shape, layout);
const G = 128;
const g = new Graph({ floatType: 'float32', name: 'route-replay' });
g.output('n', tokenNorms(ops.reshape(ops.matmul(g.input('a', 'float32', ['P', 'T', ff]), g.input('s', 'float32', [ff, G * d])), ['P', 'T', G, d])));
const stacks: Float32Array[] = [];
for (let m0 = 0; m0 < M; m0 += G) stacks.push(stackDeltas(Array.from({ length: Math.min(G, M - m0) }, (_, j) => delta(m0 + j)), G, meta.shape, layout, false));
const acts: { data: Float32Array; T: number }[] = [];
for (const q of queries) {
  const a = await sm.promptActivation(q.prompt, q.target === '' ? null : q.target);
  q.T = a.T;
  for (let t = 0; t < a.T; t++) {
    let s = 0;
    for (let j = 0; j < ff; j++) s += a.data[t * ff + j]! ** 2;
    q.anorm.push(Math.sqrt(s));
  }
  q.norms = new Float32Array(a.T * M);
  acts.push(a);
}
for (let p0 = 0; p0 < queries.length; p0 += 16) {
  const idx = Array.from({ length: Math.min(16, queries.length - p0) }, (_, j) => p0 + j);
  const T = Math.max(...idx.map((i) => queries[i]!.T));
  const x = new Float32Array(idx.length * T * ff);
  idx.forEach((i, p) => x.set(acts[i]!.data, p * T * ff));
  for (const [si, s] of stacks.entries()) {
    const n = (await lm.engine.run(g, { a: tensorData('float32', [idx.length, T, ff], x), s: tensorData('float32', [ff, G * d], s) }, ['n'])).n!.data as Float32Array;
    idx.forEach((i, p) => {
      const q = queries[i]!;
      for (let t = 0; t < q.T; t++) for (let k = 0; k < G && si * G + k < M; k++) q.norms[t * M + si * G + k] = n[(p * T + t) * G + k]!;
    });
  }
}

// ---- 3. accuracies: unedited, and each edit's own memory forced ----------------------------------
async function accuracy(pairs: { prompt: string; target: string }[], memOf: ((i: number) => number) | null): Promise<number[]> {
  const V = lm.config.vocabSize;
  const out: number[] = [];
  for (let s = 0; s < pairs.length; s += 8) {
    const chunk = pairs.slice(s, s + 8);
    const toks = chunk.map((p) => ({ prompt: lm.tokenizer.encode(p.prompt), target: lm.tokenizer.encode(normalizeTarget(p.target)) }));
    let variant: Variant | undefined;
    if (memOf) {
      const v = routerVariant(chunk.map((_, j) => ({ id: `m${j}`, delta: delta(memOf(s + j)), eps: 0 })), { layer: meta.layer, maxMeanTokens: 100, layout }, meta.shape);
      const route = BigInt64Array.from(chunk.map((_, j) => BigInt(j + 1))); // sequence j forced to memory j
      variant = { ...v, feeds: (b, T, m) => ({ ...v.feeds(b, T, m), route_in: { dtype: 'int64', dims: [b], data: route } }) };
    }
    const r = await lm.forward(toks.map((t) => [...t.prompt, ...t.target]), variant ? { variant } : {});
    toks.forEach((t, i) => {
      const off = r.batch.offsets[i]!;
      let hits = 0;
      t.target.forEach((id, j) => (hits += argmax(r.logits, (i * r.batch.seq + off + t.prompt.length - 1 + j) * V, V) === id ? 1 : 0));
      out.push(hits / t.target.length);
    });
  }
  return out;
}
const relPairs = bench.map((r) => ({ prompt: r.src, target: r.alt }));
const genPairs = bench.map((r) => ({ prompt: r.rephrase, target: r.alt }));
const acc = {
  rel: { pre: await accuracy(relPairs, null), own: await accuracy(relPairs, (i) => meta.own[i]!) },
  gen: { pre: await accuracy(genPairs, null), own: await accuracy(genPairs, (i) => meta.own[i]!) },
};

// ---- 4. rules ------------------------------------------------------------------------------------
type Stat = { name: string; topk: number; normalize: boolean };
const seqScore = (q: Query, k: number, st: Stat): number => {
  const v: number[] = [];
  for (let t = 0; t < q.T; t++) v.push(q.norms[t * M + k]! / (st.normalize ? q.anorm[t]! : 1));
  if (st.topk === 0) return v.reduce((a, b) => a + b, 0) / v.length;
  v.sort((a, b) => b - a);
  const top = v.slice(0, st.topk);
  return top.reduce((a, b) => a + b, 0) / top.length;
};
const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length);
const by = (kind: Kind): Query[] => queries.filter((q) => q.kind === kind);
console.log(`${N} edits, ${M} memories; replayed on ${dir}`);
console.log('statistic | act_ratio | edits margin | pool factor | rel | gen | loc prompts to main | held-out pool fired | edit prompts to another memory | rephrases below own ε | most loc prompts taken by one memory');
for (const st of [{ name: 'mean', topk: 0, normalize: false }, { name: 'top-3 / ‖A‖', topk: 3, normalize: true }] as Stat[]) {
  const S = Object.fromEntries((['rel', 'relp', 'gen', 'loc', 'pool'] as Kind[]).map((kind) => [kind, by(kind).map((q) => Array.from({ length: M }, (_, k) => seqScore(q, k, st)))])) as Record<Kind, number[][]>;
  const owner = (k: number): number => meta.own.indexOf(k);
  const ownLow = Array.from({ length: M }, (_, k) => Math.min(S.rel[owner(k)]![k]!, S.relp[owner(k)]![k]!));
  const worst = Array.from({ length: M }, (_, k) => Math.max(0, ...S.rel.flatMap((s, j) => (meta.own[j] === k ? [] : [s[k]!, S.relp[j]![k]!]))));
  const poolHigh = Array.from({ length: M }, (_, k) => Math.max(0, ...S.pool.slice(0, 250).map((s) => s[k]!)));
  for (const [r, m, c] of [[0.8, 0.05, 0], [0.9, 0.05, 0], [0.8, 0.05, 1], [0.9, 0.05, 1]] as const) {
    const eps = ownLow.map((o, k) => Math.max(r * o, Math.min(0.999 * o, (1 + m) * worst[k]!), c * poolHigh[k]!));
    const route = (s: number[]): number => {
      let best = -1, key = -Infinity;
      s.forEach((x, k) => { if (x >= eps[k]! && x / eps[k]! > key) { key = x / eps[k]!; best = k; } });
      return best;
    };
    const score = (kind: 'rel' | 'gen'): number => mean(S[kind].map((s, i) => (route(s) === meta.own[i] ? acc[kind].own[i]! : acc[kind].pre[i]!)));
    const toMain = mean(S.loc.map((s) => (route(s) < 0 ? 1 : 0)));
    const fired = mean(S.pool.slice(250).map((s) => (route(s) >= 0 ? 1 : 0)));
    const elsewhere = S.rel.filter((s, i) => route(s) >= 0 && route(s) !== meta.own[i]).length;
    const below = S.gen.filter((s, i) => s[meta.own[i]!]! < eps[meta.own[i]!]!).length;
    const taken = new Map<number, number>();
    for (const s of S.loc) if (route(s) >= 0) taken.set(route(s), (taken.get(route(s)) ?? 0) + 1);
    const hub = Math.max(0, ...taken.values());
    console.log(`${st.name} | ${r} | ${m} | ${c || 'off'} | ${score('rel').toFixed(3)} | ${score('gen').toFixed(3)} | ${toMain.toFixed(3)} | ${fired.toFixed(3)} | ${elsewhere} | ${below} | ${hub}`);
  }
}
