/**
 * ROME's second moment C = E[k kᵀ] of the edited down projection's input k = A(x) (EasyEdit
 * layer_stats, `mom2`), estimated on a list of texts: each batch runs the frozen layers below
 * (the `lower-<layer>` graph), keeps the real tokens' rows (N, ff), and adds their Gram matrix
 * kᵀk (ff, ff), one MatMul in onnxruntime, into a float64 sum. EasyEdit samples 100,000 Wikipedia
 * texts; wise-edit has no such corpus offline, so the caller passes one (the evaluation's train
 * split) and `ridge` keeps the estimate positive definite on the directions a small sample misses.
 */
import { Graph, ops } from '../graph/index.js';
import { tensorData } from '../graph/types.js';
import type { CausalLM } from '../model/causal-lm.js';
import { padRows } from '../model/edit-text.js';
import { WiseError } from '../util/errors.js';
import { lowerPassRows } from './step.js';

/** How ROME's and MEMIT's second moments are estimated (their options extend this). */
export interface SecondMomentOptions {
  /** at most this many texts (the evaluation's train split) */
  mom2Texts: number;
  /** C + ridge · (trace C / ff) · I */
  mom2Ridge: number;
}

export interface SecondMoment {
  /** (ff, ff) row-major: Σ k kᵀ / tokens + ridge · (trace / ff) · I */
  c: Float64Array;
  ff: number;
  /** tokens the estimate saw */
  tokens: number;
}

const gramGraphs = new Map<number, Graph>();

/** kᵀk for k (N, ff): one cached graph per width. */
function gramGraph(ff: number): Graph {
  let g = gramGraphs.get(ff);
  if (!g) {
    g = new Graph({ floatType: 'float32', name: `gram-${ff}` });
    const k = g.input('keys', 'float32', ['N', ff]);
    g.output('gram', ops.matmul(ops.transpose(k, [1, 0]), k)); // (ff, ff)
    gramGraphs.set(ff, g);
  }
  return g;
}

export async function secondMoment(lm: CausalLM, layer: number, texts: readonly string[], encode: (text: string) => number[], ridge: number, batch = 16): Promise<SecondMoment> {
  const seqs = texts.map(encode).filter((s) => s.length > 0).map((s) => s.slice(0, lm.config.maxPositionEmbeddings));
  if (seqs.length === 0) throw new WiseError('WISE_BAD_CONFIG', `second moment of layer ${layer}'s keys (ROME, MEMIT, AlphaEdit): no texts to estimate it from (the train split is empty)`, { field: 'train', layer });
  let sum: Float64Array | null = null;
  let ff = 0;
  let tokens = 0;
  for (let at = 0; at < seqs.length; at += batch) {
    const chunk = seqs.slice(at, at + batch);
    const Tb = Math.max(...chunk.map((s) => s.length));
    const { ids, mask } = padRows(chunk, Tb, lm.padId);
    const low = await lowerPassRows(lm, layer, ids, mask, chunk.length, Tb);
    ff = low.ff;
    const n = chunk.reduce((s, x) => s + x.length, 0);
    const keys = new Float32Array(n * ff);
    let row = 0;
    chunk.forEach((s, r) => {
      for (let t = 0; t < s.length; t++, row++) keys.set(low.downInput.subarray((r * Tb + t) * ff, (r * Tb + t + 1) * ff), row * ff);
    });
    const out = await lm.engine.run(gramGraph(ff), { keys: tensorData('float32', [n, ff], keys) }, ['gram']);
    const gram = out.gram!.data as Float32Array;
    sum ??= new Float64Array(ff * ff);
    for (let i = 0; i < gram.length; i++) sum[i] = (sum[i] as number) + (gram[i] as number);
    tokens += n;
  }
  const c = sum!;
  let trace = 0;
  for (let i = 0; i < c.length; i++) c[i] = (c[i] as number) / tokens;
  for (let i = 0; i < ff; i++) trace += c[i * ff + i] as number;
  for (let i = 0; i < ff; i++) c[i * ff + i] = (c[i * ff + i] as number) + (ridge * trace) / ff;
  return { c, ff, tokens };
}
