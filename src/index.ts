/**
 * wise-edit's public library API. Everything a program needs is re-exported here;
 * deep imports into src/ are not part of the API.
 *
 *   import { CausalLM, WiseEditor, LevelShardStore, configFor, irrelevantPool } from 'wise-edit';
 *   const lm = await CausalLM.load('models/wise-base');
 *   const config = configFor('models/wise-base'); // the family's config/*.yaml over DEFAULTS, as the CLI uses
 *   const editor = await WiseEditor.open({ lm, store: new LevelShardStore('/tmp/store'), config: config.wise, pool: irrelevantPool(config) });
 *   await editor.applyEdit({ prompt: 'The capital of France is', target: 'Rome' });
 *   const out = await lm.generate(lm.tokenizer.encodePrompt('The capital of France is'), { maxTokens: 5, variant: editor.variant().variant });
 */
export { WiseError, isWiseError, ERROR_CODES, type ErrorCode } from './util/errors.js';
export { Rng } from './util/rng.js';
export { createLogger, type Logger } from './util/log.js';
export { resolveConfig, validateConfig } from './config/load.js';
export { DEFAULTS, ConfigSchema, type Config, type WiseConfig } from './config/schema.js';
export { dataDir, defaultStoreDir, bundledModelDir } from './config/paths.js';
export { configFor, familyLayer } from './config/family.js';
// compute
export { Graph, ops, nn, grad, GRAD_RULES, toOnnxBytes } from './graph/index.js';
export { Engine, defaultEngine, type EngineOptions } from './engine/index.js';
// models
export { CausalLM, type Variant, type GenerateOpts, type GenerateOutput } from './model/causal-lm.js';
export { buildTransformer, type TransformerOptions } from './model/transformer.js';
export { loadCheckpoint, type Checkpoint } from './model/weights.js';
export { readSafetensors, writeSafetensors } from './model/safetensors.js';
export { loadTokenizer, type Tokenizer } from './model/tokenizer.js';
export { getArchSpec, SUPPORTED_MODEL_TYPES, type ArchSpec } from './model/arch.js';
// WISE
export { WiseEditor, type AppliedEdit, type EditorOptions } from './edits/editor.js';
export { irrelevantPool } from './eval/datasets.js';
export { validateEditRequest, parseEditsJsonl, type EditRequest } from './edits/request.js';
export { probe, agreement } from './edits/probe.js';
export { routerVariant, type RoutedMemory } from './router/router.js';
export { mergeRegistry } from './merge/index.js';
export { LevelShardStore, MemoryShardStore, checkStore, backupStore, type ShardStore } from './shards/index.js';
