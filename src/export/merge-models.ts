/**
 * `wise merge-models RECIPE --out DIR`: checkpoints merged tensor by tensor as a mergekit YAML recipe asks
 * (src/merge/recipe.ts for the plan, the registry for the math), written as a Hugging Face folder: the merged
 * tensors (model.safetensors, or shards above SHARD_BYTES) in the recipe's dtype, config.json and
 * generation_config.json from the base (linear: the first model), the tokenizer files from `tokenizer_source`,
 * and the recipe itself as mergekit_config.yml (mergekit's name for it).
 *
 * Every tensor of the base (linear: of the first model) is merged, 1-D ones included, as mergekit merges them;
 * each must be in every model with the same shape (WISE_MISSING_WEIGHT / WISE_SHAPE_MISMATCH name the tensor and
 * the folder). Tensors are read one at a time from each checkpoint (lazily, safetensors headers first), so the
 * memory is the output plus one tensor per model.
 */
import * as path from 'node:path';
import { stringify } from 'yaml';
import { WiseError } from '../util/errors.js';
import { mergeRegistry } from '../merge/index.js';
import { mergePlan, tensorT, type MergePlan } from '../merge/recipe.js';
import { numel, writeSafetensors, type TensorToWrite } from '../model/safetensors.js';
import { loadModelConfig, TensorSource, writeShardedSafetensors } from '../model/weights.js';
import { copyCheckpointFiles, COPIED_FILES, prepareOutDir, writeFileAtomic } from './source.js';
import { SHARD_BYTES } from './safetensors.js';

export interface MergeModelsResult {
  dir: string;
  plan: MergePlan;
  tensors: number;
  files: string[];
}

/** Merges the checkpoints of a parsed recipe into `out` (new or empty unless `overwrite`). */
export async function mergeModels(recipe: unknown, out: string, opts: { overwrite?: boolean; shardBytes?: number } = {}): Promise<MergeModelsResult> {
  const plan = mergePlan(recipe);
  const sources: TensorSource[] = [];
  try {
    const base = plan.base === null ? null : await TensorSource.open(plan.base);
    if (base) sources.push(base);
    const models: TensorSource[] = [];
    for (const m of plan.models) {
      const s = await TensorSource.open(m.dir);
      sources.push(s);
      models.push(s);
    }
    const reference = base ?? models[0]!;
    const names = reference.names().sort();
    // each tensor's params and weights at its t (its layer's place; recipe.ts tensorT), checked before anything is written
    const layers = (await loadModelConfig(plan.configFrom)).numLayers;
    if (plan.layerRange && plan.layerRange[1] !== layers) {
      throw new WiseError('WISE_BAD_CONFIG', `merge recipe: slices[0].sources[0].layer_range: [${plan.layerRange.join(', ')}] is not every layer of ${plan.configFrom} ([0, ${layers}]); layer stacking is not supported`, { field: 'slices[0].sources[0].layer_range' });
    }
    const per = new Map(names.map((name) => [name, plan.at(name, tensorT(name, layers))]));
    // every model holds every tensor with the reference's shape: checked on the headers before anything is read
    for (const name of names) {
      const shape = reference.info(name).shape;
      for (const s of models) {
        if (!s.has(name)) throw new WiseError('WISE_MISSING_WEIGHT', `${s.dir}: no tensor '${name}' (it is in ${reference.dir})`, { tensor: name, dir: s.dir });
        const got = s.info(name).shape;
        if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
          throw new WiseError('WISE_SHAPE_MISMATCH', `${s.dir}: tensor '${name}' has shape [${got.join(', ')}], ${reference.dir} has [${shape.join(', ')}]`, { tensor: name, dir: s.dir, expected: shape, got });
        }
      }
    }
    await prepareOutDir(out, opts.overwrite);
    const merged = new Map<string, TensorToWrite>();
    for (const name of names) {
      const { params, weights } = per.get(name)!;
      const shape = [...reference.info(name).shape];
      const baseData = base ? (await base.readFloat32(name)).data : new Float32Array(numel(shape));
      const deltas = [];
      for (const s of models) {
        const w = (await s.readFloat32(name)).data;
        deltas.push({ data: Float32Array.from(w, (x, i) => x - baseData[i]!), shape });
      }
      const delta = mergeRegistry.merge(plan.registry, { data: baseData, shape }, deltas, weights, params);
      for (let i = 0; i < delta.length; i++) delta[i] = baseData[i]! + delta[i]!;
      merged.set(name, { data: delta, shape, dtype: plan.dtype });
    }
    const bytes = [...merged.values()].reduce((a, t) => a + numel(t.shape) * (plan.dtype === 'F32' ? 4 : 2), 0);
    const limit = opts.shardBytes ?? SHARD_BYTES;
    const metadata = { format: 'pt', merged_by: 'wise-edit merge-models', merge_method: plan.method };
    const files = bytes > limit ? await writeShardedSafetensors(out, merged, limit, metadata) : [await writeSingle(out, merged, metadata)];
    const [configFiles, tokenizerFiles] = [COPIED_FILES.filter((f) => f.endsWith('config.json') && f !== 'tokenizer_config.json'), COPIED_FILES.filter((f) => !(f.endsWith('config.json') && f !== 'tokenizer_config.json'))];
    files.push(...(await copyCheckpointFiles(plan.configFrom, out, configFiles)), ...(await copyCheckpointFiles(plan.tokenizerFrom, out, tokenizerFiles)));
    await writeFileAtomic(path.join(out, 'mergekit_config.yml'), stringify(recipe));
    files.push('mergekit_config.yml');
    return { dir: out, plan, tensors: merged.size, files };
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}

async function writeSingle(out: string, tensors: Map<string, TensorToWrite>, metadata: Record<string, string>): Promise<string> {
  await writeSafetensors(path.join(out, 'model.safetensors'), tensors, metadata);
  return 'model.safetensors';
}
