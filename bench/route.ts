/**
 * `npm run bench:route [-- --rounds N] [-- --mems 1,8,64,256] [-- --quick]`
 *
 * The cost of routing over many memories on the bundled model (models/wise-base, 6.45M
 * parameters, edited layer 3, down projection 688 → 256), where the routing scores dominate
 * the forward at lifelong scale: a store of T = 1000 one-edit shards routes over 1024
 * (bucketed) memories, each scored with a down-projection-sized MatMul per token.
 * Cases, interleaved in one run on the same 16 × 16 random tokens: the plain forward (M = 0)
 * and the routed forward over M random memories (every ε 0: all pass, the top-1 answers) with
 * float32 scores (the default) and with int8 scores (wise.route_score_dtype int8,
 * src/router/quant.ts). Printed per M, on the ratio of minima (docs/bench-edit.md, "Estimators"):
 * routed/plain, the routing cost (routed − plain) and int8's routing cost against float32's.
 * No targets: a measurement for README "Performance".
 */
import * as path from 'node:path';
import { CausalLM } from '../src/model/causal-lm.js';
import { routerVariant, type RoutedMemory, type ScoreDtype } from '../src/router/router.js';
import { packageRoot } from '../src/config/paths.js';
import { Rng } from '../src/util/rng.js';
import { measureInterleaved, fmtMs, table, type BenchCase } from './lib/timing.js';
import { describeMachine, loadAvg, maxRssMiB } from './lib/machine.js';
import { uniformFill } from './lib/weights.js';
import { flag, opt } from './lib/args.js';

const QUICK = flag('quick');
const ROUNDS = Number(opt('rounds') ?? (QUICK ? 3 : 15));
const MEMS = (opt('mems') ?? (QUICK ? '1,8' : '1,8,64,256')).split(',').map(Number);
const LAYER = 3;
const B = 16, T = 16;
const DTYPES: readonly ScoreDtype[] = ['float32', 'int8'];

async function main(): Promise<void> {
  console.log(`bench:route ${QUICK ? '(quick) ' : ''}— ${new Date().toISOString()}`);
  console.log(`machine: ${describeMachine()}; load (1/5/15 min) ${loadAvg()}`);
  const lm = await CausalLM.load(path.join(packageRoot(), 'models', 'wise-base'));
  const cfg = lm.config;
  const layout = lm.spec.layer.mlp.down.layout;
  const shape = layout === 'out_in' ? [cfg.hiddenSize, cfg.intermediateSize] : [cfg.intermediateSize, cfg.hiddenSize];
  const rng = new Rng(11);
  const seqs = Array.from({ length: B }, () => Array.from({ length: T }, () => 2 + rng.int(cfg.vocabSize - 2)));
  const memories: RoutedMemory[] = Array.from({ length: Math.max(...MEMS) }, (_, k) => ({
    id: `m${k}`,
    delta: uniformFill(new Float32Array(shape[0]! * shape[1]!), 1e-3, rng),
    eps: 0,
  }));
  const cases: BenchCase[] = [];
  const plain = routerVariant([], { layer: LAYER, maxMeanTokens: 100, layout }, shape);
  await lm.forward(seqs, { variant: plain });
  cases.push({ name: 'plain', run: () => lm.forward(seqs, { variant: plain }) });
  const routes = new Map<string, string>();
  for (const M of MEMS) {
    for (const dt of DTYPES) {
      const v = routerVariant(memories.slice(0, M), { layer: LAYER, maxMeanTokens: 100, layout, scoreDtype: dt }, shape);
      const r = await lm.forward(seqs, { variant: v }); // builds the graph, creates the session
      routes.set(`${M} ${dt}`, Array.from(r.extra.route!.data as BigInt64Array).join(','));
      cases.push({ name: `M=${M} ${dt}`, run: () => lm.forward(seqs, { variant: v }) });
    }
  }
  console.log(`model: ${(cfg.hiddenSize)} hidden, ${cfg.intermediateSize} intermediate, ${cfg.numLayers} layers; routed at layer ${LAYER}; ${B}×${T} tokens; memories: random deltas (uniform, std 1e-3), ε 0`);
  const t = await measureInterleaved(cases, { rounds: ROUNDS, onRound: (r) => process.stderr.write(`  round ${r}/${ROUNDS}\r`) });
  const p = t.get('plain')!.min;
  const rows: string[][] = [['plain', '0', '–', fmtMs(p), '1.000', '–', '–', '–']];
  for (const M of MEMS) {
    const f = t.get(`M=${M} float32`)!.min, q = t.get(`M=${M} int8`)!.min;
    const same = routes.get(`${M} float32`) === routes.get(`${M} int8`);
    rows.push(['float32', String(M), '', fmtMs(f), (f / p).toFixed(3), fmtMs(f - p), '', '']);
    rows.push(['int8', String(M), same ? 'same' : 'differ', fmtMs(q), (q / p).toFixed(3), fmtMs(q - p), ((q - p) / (f - p)).toFixed(2), (f / q).toFixed(2)]);
  }
  console.log(`\nRouted forward on the bundled model, ${ROUNDS} interleaved rounds, minima (ms):`);
  console.log(table(['scores', 'M', 'routes vs float32', 'min ms', 'routed/plain', 'routing ms', 'int8/float32 routing', 'speed-up'], rows));
  console.log(`\nload after (1/5/15 min): ${loadAvg()}; peak RSS ${maxRssMiB().toFixed(0)} MiB`);
  await lm.engine.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
