/**
 * Training a causal LM from scratch with the project's own engine: one static (B, T) graph
 * with every weight as a graph input (onnxruntime-node has no training API and initializers
 * cannot be updated in place), its gradients from `grad`, and AdamW in JS on the same
 * Float32Arrays the graph reads (the weights map's arrays are fed zero-copy each step).
 */
import { grad, type Graph } from '../graph/index.js';
import { tensorData } from '../graph/types.js';
import type { Engine } from '../engine/index.js';
import { buildTransformer } from '../model/transformer.js';
import { transformerFeeds } from '../model/feeds.js';
import type { ArchSpec } from '../model/arch.js';
import type { ModelConfig } from '../model/config.js';
import type { Weight } from '../model/weights.js';
import { adamwStep, initAdamW, type AdamWOptions, type AdamWState } from './adamw.js';
import { clipGradNorm } from './clip.js';
import { lrAt, type ScheduleOptions } from './schedule.js';
import type { PackedRow } from './pack.js';

export interface TrainStepResult {
  loss: number;
  gradNorm: number;
  lr: number;
}

export class Trainer {
  readonly graph: Graph;
  readonly params: Map<string, Float32Array>;
  opt: AdamWState;

  constructor(
    readonly spec: ArchSpec,
    readonly cfg: ModelConfig,
    readonly weights: Map<string, Weight>,
    readonly engine: Engine,
    readonly B: number,
    readonly T: number,
    readonly schedule: ScheduleOptions,
    readonly adamw: AdamWOptions,
    readonly clip = 1.0,
  ) {
    const g = buildTransformer(spec, cfg, weights, { batch: B, seq: T, inputWeights: 'all', loss: 'labels', logits: 'none', name: 'train' });
    const names = [...weights.keys()];
    const wrt = names.map((n) => g.inputs.find((v) => v.name === n)!);
    const loss = g.outputs.find((o) => o.name === 'loss')!.value;
    grad(g, loss, wrt).forEach((gv, i) => g.output(`grad:${names[i]}`, gv));
    this.graph = g;
    this.params = new Map(names.map((n) => [n, weights.get(n)!.data]));
    this.opt = initAdamW(this.params);
  }

  /** One optimizer step on a batch of B packed rows. */
  async step(batch: readonly PackedRow[]): Promise<TrainStepResult> {
    const { B, T } = this;
    const ids = batch.flatMap((r) => r.ids);
    const labels = batch.flatMap((r) => r.labels);
    const mask = new Array<number>(B * T).fill(1); // packed rows: padding is only at the end and its labels are ignored
    const feeds = {
      ...transformerFeeds(this.spec, this.cfg, ids, mask, B, T),
      labels: tensorData('int64', [B, T], labels),
    };
    const out = await this.engine.run(this.graph, feeds);
    const grads = new Map<string, Float32Array>();
    for (const n of this.params.keys()) grads.set(n, out[`grad:${n}`]!.data as Float32Array);
    const gradNorm = clipGradNorm(grads, this.clip);
    const lr = lrAt(this.opt.step, this.schedule);
    adamwStep(this.params, grads, this.opt, lr, this.adamw);
    return { loss: (out.loss!.data as Float32Array)[0]!, gradNorm, lr };
  }
}
