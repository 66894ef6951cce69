/**
 * npm run train:base — trains the bundled model models/wise-base from scratch on
 * datasets/corpus.txt with the project's own engine (src/train), following BASE_RECIPE.
 * Resumable: checkpoints go to .wise-tmp/train-base/ every 100 steps; rerunning continues.
 * Writes models/wise-base/{config.json, generation_config.json, model.safetensors,
 * train-log.json}. Flags: --steps N (override), --fresh (ignore checkpoints).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../src/engine/index.js';
import { parseModelConfig } from '../src/model/config.js';
import { getArchSpec } from '../src/model/arch.js';
import { writeSafetensors, type TensorToWrite } from '../src/model/safetensors.js';
import { BpeTokenizer, bpeFromTokenizerJson } from '../src/data/bpe.js';
import { BASE_RECIPE } from '../src/train/recipe.js';
import { trainRun } from '../src/train/run.js';
import { factAccuracy, liveForwardGraph } from '../src/train/accuracy.js';
import { loadFactSample } from './lib/facts.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const OUT = path.join(ROOT, 'models', 'wise-base');
const CKPT = path.join(ROOT, '.wise-tmp', 'train-base');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const stepsArg = args.indexOf('--steps');
  const recipe = { ...BASE_RECIPE, steps: stepsArg >= 0 ? Number(args[stepsArg + 1]) : BASE_RECIPE.steps };
  if (args.includes('--fresh')) await fsp.rm(CKPT, { recursive: true, force: true });
  const tok = new BpeTokenizer(bpeFromTokenizerJson(JSON.parse(readFileSync(path.join(OUT, 'tokenizer.json'), 'utf8'))));
  const lines = readFileSync(path.join(ROOT, 'datasets', 'corpus.txt'), 'utf8').split('\n').filter((l) => l.length > 0).map((l) => tok.encode(l));
  const cfg = parseModelConfig(recipe.config);
  const spec = getArchSpec(cfg.modelType);
  const engine = new Engine({ intraOpNumThreads: 2 });
  const sample = loadFactSample(ROOT, tok, 200, 'train-sample');
  const heldOut = loadFactSample(ROOT, tok, 200, 'heldout-sample', true);
  const evalGraph = { g: undefined as ReturnType<typeof liveForwardGraph> | undefined };
  const evals: { step: number; train: number; heldOut: number }[] = [];
  const tokensPerEpoch = lines.reduce((a, l) => a + l.length + 1, 0);
  process.stderr.write(`wise-base: ${lines.length} lines, ${tokensPerEpoch} tokens per epoch; ${recipe.steps} steps of ${recipe.batch}x${recipe.seq}\n`);
  const t0 = Date.now();
  let ema = 0;
  const res = await trainRun({
    spec, cfg, engine, lines, eos: 0, pad: 1,
    batch: recipe.batch, seq: recipe.seq, steps: recipe.steps, peakLr: recipe.peakLr, warmup: recipe.warmup,
    minLrRatio: recipe.minLrRatio, adamw: recipe.adamw, clip: recipe.clip, seed: recipe.seed,
    checkpointDir: CKPT, checkpointEvery: 100, evalEvery: 500,
    onStep: (step, loss, lr, tps) => {
      ema = ema === 0 ? loss : 0.98 * ema + 0.02 * loss;
      const done = step + 1;
      const el = (Date.now() - t0) / 1000;
      const bar = '#'.repeat(Math.round((30 * done) / recipe.steps)).padEnd(30, '.');
      if (done % 10 === 0 || done === recipe.steps) {
        process.stderr.write(`\r[${bar}] ${done}/${recipe.steps} loss ${ema.toFixed(3)} lr ${lr.toExponential(2)} ${tps.toFixed(0)} tok/s ${el.toFixed(0)}s`);
      }
    },
    onEval: async (step, weights) => {
      evalGraph.g ??= liveForwardGraph(spec, cfg, weights);
      const tr = await factAccuracy(engine, evalGraph.g, spec, cfg, sample);
      const ho = await factAccuracy(engine, evalGraph.g, spec, cfg, heldOut);
      evals.push({ step, train: tr.accuracy, heldOut: ho.accuracy });
      process.stderr.write(`\n  step ${step}: train-phrasing accuracy ${tr.accuracy.toFixed(3)}, held-out ${ho.accuracy.toFixed(3)} (200-fact samples)\n`);
    },
  });
  process.stderr.write('\n');
  await fsp.mkdir(OUT, { recursive: true });
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, w] of res.weights) tensors.set(name, { shape: w.shape, data: w.data });
  await writeSafetensors(path.join(OUT, 'model.safetensors'), tensors, { format: 'pt' });
  await fsp.writeFile(path.join(OUT, 'config.json'), JSON.stringify(recipe.config, null, 2) + '\n');
  await fsp.writeFile(path.join(OUT, 'generation_config.json'), JSON.stringify({ _from_model_config: true, bos_token_id: 0, eos_token_id: 0, pad_token_id: 1, transformers_version: '5.17.0', use_cache: true }, null, 2) + '\n');
  // Loss log: every 10th step (the full per-step log stays in the checkpoint folder).
  const log = {
    recipe: { ...recipe, adamw: { ...recipe.adamw, noDecay: 'norm gains and biases' } },
    tokensPerEpoch, steps: recipe.steps, seconds: res.seconds, resumedFrom: res.resumedFrom,
    losses: res.losses.filter((l) => l.step % 10 === 0 || l.step === recipe.steps - 1),
    evals,
  };
  await fsp.writeFile(path.join(OUT, 'train-log.json'), JSON.stringify(log) + '\n');
  process.stderr.write(`done: ${res.seconds.toFixed(0)} s this run (resumed from step ${res.resumedFrom}); final evals ${JSON.stringify(evals.at(-1))}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
