/**
 * `npm run bench:engine [-- --quick] [-- --rounds N] [-- --threads N] [-- --only gpt2|llama]`
 *
 * Engine throughput on random weights, rated against the machine's MatMul peak measured in
 * the same run (square float32 MatMuls 1024 and 2048 on the same Engine and thread count).
 * For two shapes (GPT-2 small, 124M; a llama of ~3.9M) at a stated batch × length:
 *   - full forward (the serving graph: symbolic B, T, frozen weights as initializers);
 *   - forward+backward for one down-projection weight (the WISE edit step): only the
 *     layers from the edited layer's MLP up, LM head on the K target rows only;
 *   - forward+backward for all weights (training: every weight a graph input);
 *   - a KV-cache decode step at context 128, beside a one-token full pass and beside
 *     recomputing the 128-token context (last-position logits, and all logits as
 *     CausalLM.generate({ useCache: false }) does).
 * Every case reports the median ms of `rounds` interleaved samples after a discarded
 * warm-up, and MatMul FLOPs only (src/graph matmulFlops) / time / peak.
 * Sessions run with allow_spinning=0 (the box is shared; spinning workers make contention
 * worse). `--quick` runs tiny shapes in seconds (smoke test of the script, no targets).
 */
import { Engine, type Feeds } from '../src/engine/index.js';
import { grad, matmulFlops, type Graph, type TensorData } from '../src/graph/index.js';
import { tensorData } from '../src/graph/types.js';
import { buildTransformer } from '../src/model/transformer.js';
import { transformerFeeds } from '../src/model/feeds.js';
import { editWeightName } from '../src/model/arch.js';
import { Rng } from '../src/util/rng.js';
import { measureInterleaved, fmtMs, fmtDuration, table, spread, now, type BenchCase, type CaseTiming } from './lib/timing.js';
import { describeMachine, loadAvg, maxRssMiB, rssMiB } from './lib/machine.js';
import { peakCases } from './lib/peak.js';
import { GPT2_SMALL, LLAMA_4M, randomModel, uniformFill } from './lib/weights.js';
import { flag, opt } from './lib/args.js';
import { verdicts } from './lib/verdicts.js';

// ---------------------------------------------------------------- options
const QUICK = flag('quick');
const ROUNDS = Number(opt('rounds') ?? (QUICK ? 3 : 7));
const THREADS = Number(opt('threads') ?? 2);
const ONLY = opt('only');
const PEAK_SIZES = QUICK ? [256, 512] : [1024, 2048];
const DECODE_CTX = QUICK ? 32 : 128;

interface Shape {
  key: 'gpt2' | 'llama';
  label: string;
  hf: Record<string, unknown>;
  batch: number;
  seq: number;
  /** target rows per sequence for the one-weight step (K = batch × this) */
  targetsPerSeq: number;
  /** whether the throughput targets apply to this shape */
  rated: boolean;
}

const SHAPES: Shape[] = QUICK
  ? [
      { key: 'gpt2', label: 'gpt2 tiny', hf: { ...GPT2_SMALL, n_layer: 2, n_embd: 64, n_head: 4, vocab_size: 500, n_positions: 64, bos_token_id: 499, eos_token_id: 499 }, batch: 2, seq: 16, targetsPerSeq: 2, rated: false },
      { key: 'llama', label: 'llama tiny', hf: { ...LLAMA_4M, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, vocab_size: 500 }, batch: 2, seq: 16, targetsPerSeq: 2, rated: false },
    ]
  : [
      { key: 'gpt2', label: 'GPT-2 small', hf: { ...GPT2_SMALL }, batch: 4, seq: 32, targetsPerSeq: 4, rated: true },
      { key: 'llama', label: 'llama ~4M', hf: { ...LLAMA_4M }, batch: 8, seq: 64, targetsPerSeq: 4, rated: false },
    ];

const TARGET = { oneWeight: 0.5, allWeights: 0.35, decodeVsOneToken: 1.5, recomputeVsDecode: 3 } as const;

// ---------------------------------------------------------------- cases
interface Row {
  model: string;
  name: string;
  shape: string;
  flops: number;
  createMs: number;
  nodes: number;
  caseName: string;
}

const engine = new Engine({ intraOpNumThreads: THREADS, allowSpinning: false, cacheBudgetBytes: 64 * 2 ** 30 });
const rows: Row[] = [];
const cases: BenchCase[] = [];

const f32 = (dims: number[], rng: Rng, std = 1): TensorData<'float32'> =>
  tensorData('float32', dims, uniformFill(new Float32Array(dims.reduce((p, d) => p * d, 1)), std, rng));
const i64 = (vals: number[]): TensorData<'int64'> => tensorData('int64', [vals.length], vals);
const ids = (n: number, vocab: number, rng: Rng): number[] => Array.from({ length: n }, () => rng.int(vocab));

async function addCase(label: string, name: string, shape: string, g: Graph, feeds: Feeds, sizes: Record<string, number>): Promise<void> {
  const t0 = now();
  await engine.session(g);
  const createMs = now() - t0;
  const caseName = `${label} / ${name}`;
  rows.push({ model: label, name, shape, flops: matmulFlops(g, sizes), createMs, nodes: g.nodes.length, caseName });
  cases.push({ name: caseName, run: () => engine.run(g, feeds) });
}

async function setupShape(s: Shape): Promise<void> {
  const t0 = now();
  const m = randomModel(s.hf, { seed: 7 });
  const { spec, cfg, weights } = m;
  const rng = new Rng(11);
  const { batch: B, seq: T } = s;
  const N = B * T;
  const mask1 = (n: number): number[] => new Array<number>(n).fill(1);
  console.log(`# ${s.label}: ${(m.params / 1e6).toFixed(1)}M params, ${cfg.numLayers} layers, d=${cfg.hiddenSize}, ff=${cfg.intermediateSize}, heads ${cfg.numHeads}/${cfg.numKvHeads}, vocab ${cfg.vocabSize} (random weights in ${fmtDuration(now() - t0)})`);

  // Full forward: the serving graph (symbolic B, T; all logits), as CausalLM builds it.
  const full = buildTransformer(spec, cfg, weights, { batch: 'B', seq: 'T', logits: 'all', name: 'forward' });
  const tok = ids(N, cfg.vocabSize, rng);
  await addCase(s.label, 'forward', `${B}x${T}`, full, transformerFeeds(spec, cfg, tok, mask1(N), B, T), { B, T });

  // One down-projection weight: from the edited layer's MLP input up, LM head on K target rows.
  const L = Math.floor((2 * cfg.numLayers) / 3);
  const wName = editWeightName(spec, L);
  const K = B * s.targetsPerSeq;
  const one = buildTransformer(spec, cfg, weights, {
    batch: B, seq: T, rowCount: K, fromLayer: L, fromMlp: true, inputWeights: new Set([wName]), loss: 'rows', logits: 'none', name: 'edit-step',
  });
  const w = one.inputs.find((v) => v.name === wName)!;
  const [dw] = grad(one, one.outputs.find((o) => o.name === 'loss')!.value, [w]);
  one.output('grad_w', dw!);
  const rowIdx: number[] = [];
  for (let b = 0; b < B; b++) for (let j = 0; j < s.targetsPerSeq; j++) rowIdx.push(b * T + T - s.targetsPerSeq - 1 + j);
  const oneFeeds: Record<string, TensorData> = {
    ...transformerFeeds(spec, cfg, [], mask1(N), B, T),
    hidden_in: f32([B, T, cfg.hiddenSize], rng),
    rows: i64(rowIdx),
    row_targets: i64(ids(K, cfg.vocabSize, rng)),
    row_weights: tensorData('float32', [K], new Array<number>(K).fill(1 / K)),
  };
  delete oneFeeds.position_ids; // learned positions are added below the edited layer
  await addCase(s.label, `fwd+bwd one weight (layer ${L} down, layers ${L}-${cfg.numLayers - 1}, K=${K})`, `${B}x${T}`, one, oneFeeds, {});

  // All weights: training, every weight a graph input (initializers cannot be updated in place).
  const all = buildTransformer(spec, cfg, weights, { batch: B, seq: T, inputWeights: 'all', loss: 'labels', logits: 'none', name: 'train-step' });
  const wInputs = all.inputs.filter((v) => weights.has(v.name));
  grad(all, all.outputs.find((o) => o.name === 'loss')!.value, wInputs).forEach((d, i) => all.output(`grad:${wInputs[i]!.name}`, d));
  const labels = tensorData('int64', [B, T], ids(N, cfg.vocabSize, rng));
  await addCase(s.label, `fwd+bwd all ${wInputs.length} weights`, `${B}x${T}`, all, { ...transformerFeeds(spec, cfg, tok, mask1(N), B, T), labels }, {});

  // Decoding at context C: one cached step (P = C−1), a one-token full pass, recomputing C tokens.
  const C = DECODE_CTX;
  const dec = buildTransformer(spec, cfg, weights, { batch: 'B', seq: 'T', cache: true, logits: 'last', name: 'decode' });
  const past = (P: number): Record<string, TensorData> => {
    const out: Record<string, TensorData> = {};
    for (let i = 0; i < cfg.numLayers; i++) {
      out[`past_key_${i}`] = f32([1, cfg.numKvHeads, P, cfg.headDim], rng);
      out[`past_value_${i}`] = f32([1, cfg.numKvHeads, P, cfg.headDim], rng);
    }
    return out;
  };
  const ctx = ids(C, cfg.vocabSize, rng);
  await addCase(s.label, `decode step, KV cache (ctx ${C})`, `1x1+${C - 1}`, dec,
    { ...transformerFeeds(spec, cfg, ctx.slice(-1), mask1(C), 1, 1, C - 1), ...past(C - 1) }, { B: 1, T: 1, P: C - 1, 'P+T': C });
  await addCase(s.label, 'one-token full pass', '1x1', full, transformerFeeds(spec, cfg, ctx.slice(0, 1), mask1(1), 1, 1), { B: 1, T: 1 });
  await addCase(s.label, `recompute ctx ${C}, last logits (prefill)`, `1x${C}`, dec,
    { ...transformerFeeds(spec, cfg, ctx, mask1(C), 1, C, 0), ...past(0) }, { B: 1, T: C, P: 0, 'P+T': C });
  await addCase(s.label, `recompute ctx ${C}, all logits (no-cache path)`, `1x${C}`, full, transformerFeeds(spec, cfg, ctx, mask1(C), 1, C), { B: 1, T: C });
  console.log(`  graphs built, sessions created: ${fmtDuration(now() - t0)} total, RSS ${rssMiB().toFixed(0)} MiB`);
}

// ---------------------------------------------------------------- main
async function main(): Promise<void> {
  const loadBefore = loadAvg();
  const started = new Date();
  console.log(`bench:engine ${QUICK ? '(quick) ' : ''}— ${started.toISOString()}`);
  console.log(`machine: ${describeMachine()}`);
  console.log(`engine: intraOpNumThreads=${THREADS}, allow_spinning=0, graphOptimizationLevel=all, float32; ${ROUNDS} interleaved rounds after a warm-up, medians`);
  console.log(`load average before (1/5/15 min): ${loadBefore}\n`);

  const peak = peakCases(engine, PEAK_SIZES);
  cases.push(...peak.cases);
  for (const s of SHAPES) if (!ONLY || ONLY === s.key) await setupShape(s);

  const t0 = now();
  const timings = await measureInterleaved(cases, {
    rounds: ROUNDS,
    minSampleMs: 50,
    onRound: (r) => process.stdout.write(`  round ${r}/${ROUNDS} (${fmtDuration(now() - t0)}, load ${loadAvg()})\n`),
  });
  const loadAfter = loadAvg();
  const { gflops: peakG, size: peakN, bySize } = peak.best(timings);

  console.log(`\nPeak MatMul (float32, ${THREADS} threads): ` + bySize.map((p) => `${p.size}: ${fmtMs(p.ms)} ms = ${p.gflops.toFixed(1)} GFLOP/s`).join('; ') + ` → peak ${peakG.toFixed(1)} GFLOP/s (n=${peakN})\n`);

  const t = (name: string): CaseTiming => timings.get(name)!;
  const header = ['model / case', 'B x T', 'MatMul GFLOP', 'ms (median)', 'min-max', 'GFLOP/s', 'of peak', 'nodes', 'session ms'];
  const body = rows.map((r) => {
    const x = t(r.caseName);
    const g = r.flops / x.median / 1e6;
    return [`${r.model} / ${r.name}`, r.shape, (r.flops / 1e9).toFixed(3), fmtMs(x.median), `${fmtMs(x.min)}-${fmtMs(x.max)}`, g.toFixed(1), (g / peakG).toFixed(2), String(r.nodes), fmtMs(r.createMs)];
  });
  console.log(table(header, body));

  // ---------------------------------------------------------------- targets
  const find = (model: string, prefix: string): { row: Row; ms: number; frac: number } => {
    const row = rows.find((r) => r.model === model && r.name.startsWith(prefix))!;
    const ms = t(row.caseName).median;
    return { row, ms, frac: row.flops / ms / 1e6 / peakG };
  };
  const targets = verdicts();
  const check = targets.check;
  for (const s of SHAPES) {
    if (ONLY && ONLY !== s.key) continue;
    const one = find(s.label, 'fwd+bwd one');
    const allw = find(s.label, 'fwd+bwd all');
    const fwd = find(s.label, 'forward');
    const dec = find(s.label, 'decode step');
    const tok1 = find(s.label, 'one-token');
    const rec = find(s.label, `recompute ctx ${DECODE_CTX}, last`);
    const recAll = find(s.label, `recompute ctx ${DECODE_CTX}, all`);
    check(one.frac >= TARGET.oneWeight, `${s.label}: one-weight backward ${one.frac.toFixed(2)} of peak (target ≥ ${TARGET.oneWeight})`, s.rated);
    check(allw.frac >= TARGET.allWeights, `${s.label}: all-weights backward ${allw.frac.toFixed(2)} of peak (target ≥ ${TARGET.allWeights}); ${(allw.ms / fwd.ms).toFixed(1)}× the forward`, s.rated);
    check(dec.ms <= TARGET.decodeVsOneToken * tok1.ms, `${s.label}: decode step ${fmtMs(dec.ms)} ms = ${(dec.ms / tok1.ms).toFixed(2)}× a one-token pass (${fmtMs(tok1.ms)} ms; target ≤ ${TARGET.decodeVsOneToken}×)`, !QUICK);
    check(rec.ms >= TARGET.recomputeVsDecode * dec.ms, `${s.label}: decode step ${(rec.ms / dec.ms).toFixed(1)}× faster than recomputing ${DECODE_CTX} tokens (${fmtMs(rec.ms)} ms; ${(recAll.ms / dec.ms).toFixed(1)}× vs the all-logits no-cache path; target ≥ ${TARGET.recomputeVsDecode}×)`, !QUICK);
  }
  console.log(`\nTargets (${QUICK ? 'quick run: not rated' : 'fractions rated at GPT-2 size; decode ratios at both'}):`);
  console.log(targets.lines.map((l) => '  ' + l).join('\n'));

  const noisy = [...timings.values()].filter((x) => spread(x) > 0.3).map((x) => x.name);
  console.log(`\nload average after (1/5/15 min): ${loadAfter} (before: ${loadBefore}); peak RSS ${maxRssMiB().toFixed(0)} MiB; measuring took ${fmtDuration(now() - t0)}`);
  if (noisy.length) console.log(`noisy (min-max spread > 30% of median; other load on the machine?): ${noisy.join('; ')}`);
  await engine.dispose();
  if (targets.misses) console.log(`${targets.misses} target(s) missed`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
