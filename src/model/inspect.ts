/**
 * What wise-edit makes of a checkpoint folder, without reading its weights: the config as parsed (RoPE scaling,
 * sliding window, …), every needed tensor found with its expected shape (safetensors headers only), the
 * tokenizer's sequence prefix, chat template and stop ids. `wise model` prints it; a folder that would not load
 * fails here with the same error, in about a second, however large the model.
 */
import { getArchSpec } from './arch.js';
import { stopIdsOf, type ModelConfig } from './config.js';
import { numel, type SafetensorsDType } from './safetensors.js';
import { loadTokenizer } from './tokenizer.js';
import { loadGenerationEos, loadModelConfig, matchTensors, TensorSource } from './weights.js';

export interface CheckpointInfo {
  dir: string;
  config: ModelConfig;
  /** parameters of the tensors the model uses (a tied head counted once) */
  params: number;
  /** their stored dtypes, e.g. ['BF16'] */
  dtypes: SafetensorsDType[];
  /** bytes the weights take in memory once widened to float32 (4 per parameter) */
  float32Bytes: number;
  files: string[];
  /** tensors in the files the model does not use */
  unused: string[];
  tokenizer: {
    vocabSize: number;
    /** special tokens a text prompt starts with (BOS for Llama) */
    prefixIds: number[];
    chatTemplate: boolean;
    /** generation stops on these (config.json, generation_config.json, the tokenizer's eos) */
    stopIds: number[];
  };
}

export async function inspectCheckpoint(dir: string): Promise<CheckpointInfo> {
  const config = await loadModelConfig(dir);
  const spec = getArchSpec(config.modelType);
  const source = await TensorSource.open(dir);
  let params = 0;
  const dtypes = new Set<SafetensorsDType>();
  let files: string[];
  let unused: string[];
  try {
    const stored = matchTensors(dir, config, spec, source);
    for (const found of stored.values()) {
      const info = source.info(found);
      params += numel(info.shape);
      dtypes.add(info.dtype);
    }
    const used = new Set(stored.values());
    files = source.fileNames();
    unused = source.names().filter((n) => !used.has(n));
  } finally {
    await source.close();
  }
  const [tok, generationEos] = await Promise.all([loadTokenizer(dir), loadGenerationEos(dir, config.vocabSize)]);
  const stopIds = stopIdsOf(config.eosTokenIds, generationEos, tok.eosId);
  return {
    dir,
    config,
    params,
    dtypes: [...dtypes].sort(),
    float32Bytes: params * 4,
    files,
    unused,
    tokenizer: { vocabSize: tok.vocabSize, prefixIds: [...tok.prefixIds], chatTemplate: tok.chatTemplate !== null, stopIds },
  };
}
