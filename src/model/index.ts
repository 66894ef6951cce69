/** Public API of src/model: checkpoint I/O, configs, architecture specs, tokenizer. */
export {
  ARCH_REGISTRY,
  SUPPORTED_MODEL_TYPES,
  getArchSpec,
  layerName,
  editWeightName,
  headWeightName,
  hasBias,
  linearShape,
  expectedShapes,
} from './arch.js';
export type { ArchSpec, AttentionSpec, BiasRule, ConfigDefaults, ConfigKeys, LinearLayout, LinearSpec, MlpKind, MlpSpec, NormKind, NormSpec, PositionKind } from './arch.js';
export { parseModelConfig, SUPPORTED_ROPE_TYPES } from './config.js';
export type { Activation, ModelConfig } from './config.js';
export {
  DTYPE_BYTES,
  FLOAT_DTYPES,
  MAX_HEADER_BYTES,
  SafetensorsFile,
  numel,
  parseHeader,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
} from './safetensors.js';
export type { F32Tensor, ParsedHeader, SafetensorsDType, TensorInfo, TensorToWrite, WritableFloatDType } from './safetensors.js';
export { f16BitsToF32, f32ToF16Bits, bf16BitsToF32, f32ToBf16Bits } from './halfprec.js';
export { SINGLE_FILE, INDEX_FILE, TensorSource, loadCheckpoint, loadModelConfig, parseShardIndex, writeShardedSafetensors, readJsonFile, requireFiles, fileExists } from './weights.js';
export type { Checkpoint, Weight } from './weights.js';
export { Tokenizer, loadTokenizer, checkIds, TOKENIZER_FILES } from './tokenizer.js';
export type { ChatMessage, DecodeOptions } from './tokenizer.js';
