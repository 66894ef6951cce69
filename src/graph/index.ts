/**
 * wise-edit graph layer: build ONNX graphs in TypeScript, differentiate them, serialize them.
 * Pure (no I/O, no onnxruntime); src/engine runs the result.
 *
 * - `Graph` ({ floatType: 'float32' | 'float64', opset: 17 | 18 }) creates values:
 *   `input(name, dtype, shape)`, `param(name, data, shape, { asInput })`, `initializer`,
 *   `constant`, `scalar`, and marks results with `output(name, value)`.
 * - `ops.*` apply one ONNX primitive each (matmul, gemm, add/sub/mul/div with numbers,
 *   reduceSum/Mean/Max/L2, softmax, reshape, gather, scatterND, where, ...).
 * - `nn.*` are composites: linear, layerNorm, rmsNorm, geluTanh, silu, splitHeads,
 *   mergeHeads, rope, attention (GQA + causal + padding masks), crossEntropy.
 * - `grad(g, loss, wrt)` appends the backward pass (one rule per op in GRAD_RULES).
 * - `ropeTables`, `positionIdsFromMask`, `attentionMaskData` compute fed tables in TS.
 * - `toOnnxBytes(g)`, `graphHash(g)`, `matmulFlops(g)`.
 *
 * Example (one linear layer + loss, gradient w.r.t. an edited weight fed per run):
 *
 *   const g = new Graph({ floatType: 'float32' });
 *   const x = g.input('x', 'float32', [2, 8, 16]);             // [B, T, d]
 *   const w = g.input('w', 'float32', [32, 16]);               // [out, in] (HF layout)
 *   const b = g.param('b', new Float32Array(32), [32]);        // frozen, stored
 *   const tgt = g.input('targets', 'int64', [2, 8]);
 *   const logits = nn.linear(x, w, b);                         // [B, T, 32]
 *   const loss = g.output('loss', nn.crossEntropy(logits, tgt)); // ignore index -100
 *   const [dw] = grad(g, loss, [w]);
 *   g.output('dw', dw!);
 *   // engine: await run(g, { x, w, targets }) -> { loss, dw }
 *
 * Shapes: dims are numbers or symbolic strings ('B', 'T', 'past'). Symbolic dims work in
 * forward/decode graphs (elementwise ops, MatMul, softmax, reductions, concat, slices,
 * reshape when each symbol keeps its index or is the single -1); `grad`, `ops.full/zeros`
 * and `attention({ causal: true })` need static shapes (use `attention({ mask })` with
 * `attentionMaskData` for symbolic lengths). Opset 18 is the default; 17 is also written
 * correctly (Reduce* axes attribute vs input). Indices for Gather/Scatter grads must be
 * non-negative.
 */
export { Graph, Value, type GraphOptions, type Node, type Opset } from './graph.js';
export * as ops from './ops.js';
export { END, type Operand, type GemmOpts, type Reduction } from './ops.js';
export * as nn from './nn.js';
export type { AttentionOpts, WeightLayout } from './nn.js';
export { grad, unbroadcast, GRAD_RULES, type GradRule, type GradCtx } from './grad.js';
export { PRIMITIVES, type Primitive, type Attrs, type AttrValue } from './primitives.js';
export { ropeTables, ropeInvFreq, positionIdsFromMask, attentionMaskData, type RopeMode } from './rope.js';
export { ropeFrequencies, type RopeScaling, type RopeFrequencies } from './rope-scaling.js';
export { toOnnxBytes, toModelProto, ONNX_DTYPE, IR_VERSION } from './onnx.js';
export { graphHash } from './hash.js';
export { matmulFlops } from './flops.js';
export {
  tensorData,
  numel,
  isFloat,
  isStatic,
  shapeStr,
  broadcastShapes,
  dtypeBytes,
  allocTyped,
  type DType,
  type FloatType,
  type Dim,
  type Shape,
  type TensorData,
  type TypedArray,
  type TypedArrayOf,
} from './types.js';
