/**
 * Fact accuracy of a model under teacher forcing: a fact counts as known when every token of
 * its object is the top-1 prediction after the prompt (and the preceding object tokens).
 * Runs a forward graph whose weights are graph inputs, so it can follow a model in training.
 */
import type { Graph } from '../graph/index.js';
import type { Engine } from '../engine/index.js';
import { buildTransformer } from '../model/transformer.js';
import { padBatch, transformerFeeds } from '../model/feeds.js';
import type { ArchSpec } from '../model/arch.js';
import type { ModelConfig } from '../model/config.js';
import type { Weight } from '../model/weights.js';
import { argmax } from '../model/sampling.js';

export interface FactItem {
  prompt: number[];
  object: number[];
}

/** A forward graph (symbolic B, T) reading every weight as an input. */
export function liveForwardGraph(spec: ArchSpec, cfg: ModelConfig, weights: Map<string, Weight>): Graph {
  return buildTransformer(spec, cfg, weights, { batch: 'B', seq: 'T', inputWeights: 'all', logits: 'all', name: 'live-forward' });
}

/** Per item: all object tokens top-1. Right-padded batches of `batchSize`. */
export async function factAccuracy(
  engine: Engine,
  graph: Graph,
  spec: ArchSpec,
  cfg: ModelConfig,
  items: readonly FactItem[],
  batchSize = 64,
  pad = 0,
): Promise<{ accuracy: number; correct: boolean[] }> {
  const V = cfg.vocabSize;
  const correct: boolean[] = [];
  for (let s = 0; s < items.length; s += batchSize) {
    const chunk = items.slice(s, s + batchSize);
    const b = padBatch(chunk.map((it) => [...it.prompt, ...it.object]), 'right', pad);
    const out = await engine.run(graph, transformerFeeds(spec, cfg, b.ids, b.mask, b.batch, b.seq), ['logits']);
    const logits = out.logits!.data as Float32Array;
    chunk.forEach((it, r) => {
      let ok = true;
      for (let j = 0; j < it.object.length && ok; j++) {
        const pos = it.prompt.length - 1 + j;
        ok = argmax(logits, (r * b.seq + pos) * V, V) === it.object[j];
      }
      correct.push(ok);
    });
  }
  return { accuracy: correct.filter(Boolean).length / Math.max(1, correct.length), correct };
}
