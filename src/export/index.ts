/** Public surface of src/export: ONNX (router inside) and merged safetensors exports of an edited model. */
export { exportSourceOf, type ExportSource, type ExportMemory, COPIED_FILES } from './source.js';
export { exportOnnx, exportOnnxBytes, buildExportGraph, inlineBytes, ONNX_INLINE_LIMIT, type OnnxExportOptions, type OnnxExportResult, type ExportContract } from './onnx.js';
export { exportSafetensors, chooseMemory, mergedTensors, SHARD_BYTES, type SafetensorsExportOptions, type SafetensorsExportResult } from './safetensors.js';
export type { IoEntry } from './onnx-docs.js';
