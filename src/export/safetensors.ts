/**
 * `wise export --format safetensors`: a merged checkpoint where the edited layer's down
 * projection is W′ = W + Δ of ONE memory. Any transformers-compatible runtime loads it as a
 * plain model.
 *
 * What is lost: the routing. Every input now goes through W′, so the locality WISE gets from
 * sending unrelated inputs to the main memory W is gone (unrelated prompts may change), and
 * only the chosen memory's edits are in the weights. When the router has one memory (e.g.
 * WISE-Merge after `wise merge`) it is the default; with several (WISE-Retrieve, or pending
 * shards beside the merged memory) the caller must name one (`--memory ID`).
 *
 * Tensors are written in float32 under their canonical names (as loadCheckpoint reads them),
 * in one model.safetensors, or HF-style shards above SHARD_BYTES.
 */
import * as path from 'node:path';
import { WiseError } from '../util/errors.js';
import type { TensorToWrite } from '../model/safetensors.js';
import { writeSafetensors } from '../model/safetensors.js';
import { writeShardedSafetensors } from '../model/weights.js';
import { copyModelFiles, editedWeight, prepareOutDir, writeFileAtomic, type ExportMemory, type ExportSource } from './source.js';

/** Above this many bytes the checkpoint is written as shards of this size. */
export const SHARD_BYTES = 5e9;

export interface SafetensorsExportOptions {
  /** the memory merged into the weights; required when the router has several */
  memory?: string;
  overwrite?: boolean;
  /** shard size override (tests) */
  shardBytes?: number;
}

export interface SafetensorsExportResult {
  dir: string;
  files: string[];
  memory: string;
  weight: string;
  edits: number[];
}

/** The memory to merge: the named one, or the only one. */
export function chooseMemory(src: ExportSource, id?: string): ExportMemory {
  const list = src.memories.map((m) => `${m.id} (edits ${m.editIds.join(', ') || 'none'})`).join('; ');
  if (src.memories.length === 0) throw new WiseError('WISE_BAD_REQUEST', 'the store has no memory with edits to merge; apply edits first', { memories: [] });
  if (id !== undefined) {
    const m = src.memories.find((x) => x.id === id);
    if (!m) throw new WiseError('WISE_NOT_FOUND', `no memory '${id}'; the router's memories are: ${list}`, { memory: id, memories: src.memories.map((x) => x.id) });
    return m;
  }
  if (src.memories.length > 1) {
    throw new WiseError(
      'WISE_USAGE',
      `the router holds ${src.memories.length} memories and a merged checkpoint takes one: pass --memory ID (${list})` +
        (src.mode === 'merge' ? ', or run `wise merge` first to fold them into one' : ''),
      { memories: src.memories.map((x) => x.id) },
    );
  }
  return src.memories[0]!;
}

/** The checkpoint's tensors with W′ = W + Δ in place of the edited weight (no copy of the others). */
export function mergedTensors(src: ExportSource, mem: ExportMemory): Map<string, TensorToWrite> {
  const name = editedWeight(src);
  const out = new Map<string, TensorToWrite>();
  for (const [n, w] of src.lm.ckpt.weights) {
    if (n !== name) {
      out.set(n, { shape: w.shape, data: w.data });
      continue;
    }
    if (mem.delta.length !== w.data.length) {
      throw new WiseError('WISE_SHAPE_MISMATCH', `memory ${mem.id}: ${mem.delta.length} values for ${n} [${w.shape.join(', ')}]`, { memory: mem.id, tensor: n });
    }
    const merged = new Float32Array(w.data.length);
    for (let i = 0; i < merged.length; i++) merged[i] = (w.data[i] as number) + (mem.delta[i] as number);
    out.set(n, { shape: w.shape, data: merged });
  }
  return out;
}

export async function exportSafetensors(src: ExportSource, dir: string, opts: SafetensorsExportOptions = {}): Promise<SafetensorsExportResult> {
  const mem = chooseMemory(src, opts.memory);
  const tensors = mergedTensors(src, mem);
  const weight = editedWeight(src);
  await prepareOutDir(dir, opts.overwrite);
  const metadata = { format: 'pt', wise_memory: mem.id, wise_layer: String(src.layer), wise_weight: weight };
  let bytes = 0;
  for (const t of tensors.values()) bytes += t.shape.reduce((a, b) => a * b, 1) * 4;
  const shardBytes = opts.shardBytes ?? SHARD_BYTES;
  const weightFiles = bytes > shardBytes
    ? [...(await writeShardedSafetensors(dir, tensors, shardBytes, metadata)), 'model.safetensors.index.json']
    : (await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, metadata), ['model.safetensors']);
  const info = {
    format: 'wise-merged-safetensors',
    version: 1,
    memory: mem.id,
    edits: mem.editIds,
    layer: src.layer,
    weight,
    merged: `${weight} = W + Δ(${mem.id})`,
    other_memories: src.memories.filter((m) => m !== mem).map((m) => ({ id: m.id, edits: m.editIds })),
    lost: 'the routing: every input goes through the edited weight, so unrelated inputs are no longer sent to the original weights (no locality guarantee), and the edits of other memories are not included',
  };
  await writeFileAtomic(path.join(dir, 'wise_export.json'), JSON.stringify(info, null, 2) + '\n');
  const copied = await copyModelFiles(src, dir);
  return { dir, files: [...weightFiles, 'wise_export.json', ...copied], memory: mem.id, weight, edits: mem.editIds };
}
