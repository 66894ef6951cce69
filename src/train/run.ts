/**
 * A whole training run: seeded init, epochs of packed batches, AdamW with warmup + cosine,
 * clipping, a loss log, periodic evaluation and resumable checkpoints (weights and AdamW
 * moments in one safetensors file plus a small JSON state). Used by `npm run train:base`
 * and, with a miniature configuration, by the tests.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../util/rng.js';
import type { Engine } from '../engine/index.js';
import type { ArchSpec } from '../model/arch.js';
import type { ModelConfig } from '../model/config.js';
import type { Weight } from '../model/weights.js';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../model/safetensors.js';
import { initWeights } from './init.js';
import { Trainer } from './trainer.js';
import { epochBatches, type PackedRow } from './pack.js';
import type { Recipe } from './recipe.js';

export interface TrainRunOptions extends Omit<Recipe, 'config'> {
  spec: ArchSpec;
  cfg: ModelConfig;
  engine: Engine;
  /** tokenized corpus lines */
  lines: number[][];
  eos: number;
  pad: number;
  /** folder for resumable checkpoints; null = none */
  checkpointDir: string | null;
  checkpointEvery: number;
  onStep?: (step: number, loss: number, lr: number, tokensPerSec: number) => void;
  /** called every evalEvery steps (and at the end) with the live weights */
  evalEvery?: number;
  onEval?: (step: number, weights: Map<string, Weight>) => Promise<void>;
}

export interface TrainRunResult {
  weights: Map<string, Weight>;
  losses: { step: number; loss: number; lr: number }[];
  seconds: number;
  tokens: number;
  resumedFrom: number;
}

const STATE = 'state.json';
const CKPT = 'checkpoint.safetensors';

export async function trainRun(o: TrainRunOptions): Promise<TrainRunResult> {
  const weights = initWeights(o.spec, o.cfg, o.seed);
  const trainer = new Trainer(o.spec, o.cfg, weights, o.engine, o.batch, o.seq,
    { peak: o.peakLr, warmup: o.warmup, total: o.steps, minRatio: o.minLrRatio }, o.adamw, o.clip);
  let losses: TrainRunResult['losses'] = [];
  let start = 0;
  if (o.checkpointDir) {
    const resumed = await loadCheckpointState(o.checkpointDir, trainer);
    if (resumed) {
      start = resumed.step;
      losses = resumed.losses;
    }
  }
  // Epoch e's batch order depends only on (seed, e): resuming at any step replays the same data.
  let epoch = -1;
  let batches: PackedRow[][] = [];
  let epochStart = 0;
  const batchAt = (step: number): PackedRow[] => {
    while (step >= epochStart + batches.length || epoch < 0) {
      if (epoch >= 0) epochStart += batches.length;
      epoch++;
      batches = epochBatches(o.lines, o.batch, o.seq, o.eos, o.pad, new Rng(`${o.seed}:epoch:${epoch}`));
      if (batches.length === 0) throw new Error('training data smaller than one batch');
    }
    return batches[step - epochStart] as PackedRow[];
  };
  const t0 = performance.now();
  let tokens = 0;
  for (let step = start; step < o.steps; step++) {
    const batch = batchAt(step);
    const ts = performance.now();
    const r = await trainer.step(batch);
    const n = batch.reduce((a, row) => a + row.labels.filter((l) => l !== -100).length, 0);
    tokens += n;
    losses.push({ step, loss: r.loss, lr: r.lr });
    o.onStep?.(step, r.loss, r.lr, (o.batch * o.seq) / ((performance.now() - ts) / 1000));
    const done = step + 1;
    if (o.checkpointDir && (done % o.checkpointEvery === 0 || done === o.steps)) await saveCheckpointState(o.checkpointDir, trainer, done, losses);
    if (o.onEval && o.evalEvery && done % o.evalEvery === 0 && done !== o.steps) await o.onEval(done, weights);
  }
  if (o.onEval) await o.onEval(o.steps, weights);
  return { weights, losses, seconds: (performance.now() - t0) / 1000, tokens, resumedFrom: start };
}

async function saveCheckpointState(dir: string, tr: Trainer, step: number, losses: TrainRunResult['losses']): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, w] of tr.weights) {
    tensors.set(`w/${name}`, { shape: w.shape, data: w.data });
    tensors.set(`m/${name}`, { shape: w.shape, data: tr.opt.m.get(name)! });
    tensors.set(`v/${name}`, { shape: w.shape, data: tr.opt.v.get(name)! });
  }
  await writeSafetensors(path.join(dir, CKPT), tensors, { step: String(step) });
  const tmp = path.join(dir, STATE + '.tmp');
  await fsp.writeFile(tmp, JSON.stringify({ step, optStep: tr.opt.step, losses }));
  await fsp.rename(tmp, path.join(dir, STATE));
}

async function loadCheckpointState(dir: string, tr: Trainer): Promise<{ step: number; losses: TrainRunResult['losses'] } | null> {
  let state: { step: number; optStep: number; losses: TrainRunResult['losses'] };
  try {
    state = JSON.parse(await fsp.readFile(path.join(dir, STATE), 'utf8'));
  } catch {
    return null;
  }
  const saved = await readSafetensors(path.join(dir, CKPT));
  if (saved.metadata?.step !== String(state.step)) return null; // state and tensors from different saves
  for (const [name, w] of tr.weights) {
    w.data.set(saved.tensors.get(`w/${name}`)!.data);
    tr.opt.m.get(name)!.set(saved.tensors.get(`m/${name}`)!.data);
    tr.opt.v.get(name)!.set(saved.tensors.get(`v/${name}`)!.data);
  }
  tr.opt.step = state.optStep;
  return { step: state.step, losses: state.losses };
}
