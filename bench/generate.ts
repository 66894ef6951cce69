/**
 * `npm run bench:generate [-- --quick] [-- --rounds N] [-- --tokens N] [-- --threads N] [-- --only bundled|gpt2]`
 *
 * Batched decoding (CausalLM.generateMany, what `wise serve` runs for a request's prompts × n
 * choices, `serve.batch_size` rows at a time) against the same prompts decoded one after another
 * (`generate` per prompt, as `serve.batch_size: 1`), in one run, for B = 1, 4 and 8 prompts of 9–28
 * tokens, greedy, `--tokens` new tokens each (no stop ids, so every row decodes all of them).
 * Three cases: the bundled wise-base (its tokenizer, fact prompts), plain and routed (two random
 * memories at layer 3 with ε 0, so every row decodes on a side memory, as WISE-Merge's merged +
 * active), and GPT-2-small-shaped random weights (random prompt ids). Cases run interleaved in seeded random order; the speed-up is the
 * ratio of the two cases' minima (and of their medians) in the same run. Every batched run's
 * tokens are also checked against the one-at-a-time tokens (they agree up to float rounding, so a
 * mismatch is reported, not failed).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/index.js';
import { CausalLM } from '../src/model/causal-lm.js';
import type { Checkpoint } from '../src/model/weights.js';
import type { Tokenizer } from '../src/model/tokenizer.js';
import { Rng } from '../src/util/rng.js';
import { routerVariant } from '../src/router/router.js';
import type { Variant } from '../src/model/causal-lm.js';
import { measureInterleaved, fmtMs, table } from './lib/timing.js';
import { describeMachine, loadAvg } from './lib/machine.js';
import { GPT2_SMALL, randomModel, uniformFill } from './lib/weights.js';
import { flag, opt } from './lib/args.js';

const QUICK = flag('quick');
const ROUNDS = Number(opt('rounds') ?? (QUICK ? 2 : 7));
const TOKENS = Number(opt('tokens') ?? (QUICK ? 4 : 16));
const THREADS = Number(opt('threads') ?? 2);
const ONLY = opt('only');
const BATCHES = QUICK ? [1, 4] : [1, 4, 8];
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const FACTS = [
  'The capital of France is',
  'Kuala Lumpur is a city in',
  'The official currency of Ukraine is the',
  'Q: Which currency does Kyrgyzstan use? A:',
  'Geographically, Colombia belongs to',
  'The top-level domain of Uganda is',
  'In Belarus, most believers follow',
  'Q: What language is spoken in Nigeria? A: The language spoken in Nigeria is',
];

const engine = new Engine({ intraOpNumThreads: THREADS, allowSpinning: false });

async function bundled(): Promise<{ lm: CausalLM; prompts: number[][]; routed: Variant }> {
  const lm = await CausalLM.load(path.join(ROOT, 'models', 'wise-base'), engine);
  const cfg = lm.config;
  const layout = lm.spec.layer.mlp.down.layout;
  const shape = layout === 'out_in' ? [cfg.hiddenSize, cfg.intermediateSize] : [cfg.intermediateSize, cfg.hiddenSize];
  const rng = new Rng(11);
  const memories = ['merged', 'active'].map((id) => ({ id, delta: uniformFill(new Float32Array(shape[0]! * shape[1]!), 1e-3, rng), eps: 0 }));
  const routed = routerVariant(memories, { layer: 3, maxMeanTokens: 100, layout }, shape);
  return { lm, prompts: FACTS.map((f) => lm.tokenizer.encodePrompt(f)), routed };
}

function gpt2(): { lm: CausalLM; prompts: number[][]; label: string } {
  const m = randomModel(QUICK ? { ...GPT2_SMALL, n_layer: 2, n_embd: 128, n_head: 4 } : GPT2_SMALL, { seed: 7 });
  const ckpt: Checkpoint = { dir: '', config: m.cfg, spec: m.spec, weights: m.weights, unused: [], files: [], generationEosIds: [] };
  const pad = m.cfg.eosTokenIds[0] ?? 0;
  const tok = { padId: pad, eosId: pad } as unknown as Tokenizer; // generate reads padId and eosId only
  const lm = new CausalLM(ckpt, tok, engine);
  const rng = new Rng(3);
  const prompts = Array.from({ length: 8 }, (_, i) => Array.from({ length: 9 + ((i * 7) % 20) }, () => rng.int(m.cfg.vocabSize)));
  return { lm, prompts, label: `GPT-2 small shape, random weights (${(m.params / 1e6).toFixed(0)}M params)` };
}

async function benchModel(lm: CausalLM, prompts: number[][], label: string, name: string, variant?: Variant): Promise<string[][]> {
  console.log(`\n# ${label}: prompts of ${Math.min(...prompts.map((p) => p.length))}–${Math.max(...prompts.map((p) => p.length))} tokens, ${TOKENS} new tokens each`);
  const opts = { maxTokens: TOKENS, stopIds: [] as number[], ...(variant ? { variant } : {}) };
  const seq = async (ps: number[][]): Promise<number[][]> => {
    const out: number[][] = [];
    for (const p of ps) out.push((await lm.generate(p, opts)).ids);
    return out;
  };
  let side = 0; // rows of the last batched run that the router sent to a side memory
  const many = async (ps: number[][]): Promise<number[][]> => {
    const rs = await lm.generateMany(ps, ps.map(() => opts));
    side = rs.filter((r) => r.prefill.route !== undefined && (r.prefill.route.data as BigInt64Array)[0] !== 0n).length;
    return rs.map((r) => r.ids);
  };
  const rows: string[][] = [];
  for (const B of BATCHES) {
    const ps = prompts.slice(0, B);
    const want = await seq(ps);
    const got = await many(ps);
    const mismatched = got.filter((ids, i) => ids.join() !== want[i]!.join()).length;
    const t = await measureInterleaved(
      [
        { name: 'one at a time', run: () => seq(ps) },
        { name: 'batched', run: () => many(ps) },
      ],
      { rounds: ROUNDS, minSampleMs: 0, maxReps: 1, onRound: (r) => process.stderr.write(`\r  B=${B}: round ${r}/${ROUNDS}  `) },
    );
    process.stderr.write('\n');
    const a = t.get('one at a time')!, b = t.get('batched')!;
    const toks = B * TOKENS;
    rows.push([name, String(B), fmtMs(a.min), fmtMs(b.min), (toks / (a.min / 1000)).toFixed(1), (toks / (b.min / 1000)).toFixed(1), `${(a.min / b.min).toFixed(2)}×`, `${(a.median / b.median).toFixed(2)}×`, `${mismatched}/${B}`]);
    console.log(`  B=${B}: one at a time ${fmtMs(a.min)} ms (median ${fmtMs(a.median)}), batched ${fmtMs(b.min)} ms (median ${fmtMs(b.median)}); tokens differing from one at a time: ${mismatched} of ${B} prompts${variant ? `; routed to a side memory: ${side} of ${B}` : ''}`);
  }
  return rows;
}

async function main(): Promise<void> {
  console.log(`bench:generate  ${describeMachine()}  threads ${THREADS}, rounds ${ROUNDS}${QUICK ? ' (quick)' : ''}; load ${loadAvg()}`);
  const rows: string[][] = [];
  if (ONLY !== 'gpt2') {
    const m = await bundled();
    rows.push(...(await benchModel(m.lm, m.prompts, 'wise-base (bundled), plain', 'wise-base')));
    rows.push(...(await benchModel(m.lm, m.prompts, 'wise-base (bundled), routed: 2 random memories, every row to a side memory', 'wise-base routed', m.routed)));
  }
  if (ONLY !== 'bundled') {
    const m = gpt2();
    rows.push(...(await benchModel(m.lm, m.prompts, m.label, 'GPT-2 shape')));
  }
  console.log('\n' + table(['model', 'B', 'one at a time ms (min)', 'batched ms (min)', 'tok/s one at a time', 'tok/s batched', 'speed-up (min)', 'speed-up (median)', 'rows differing'], rows));
  console.log(`load after: ${loadAvg()}`);
}

await main();
