/**
 * Graph -> ONNX ModelProto bytes (onnx-proto: ONNX 1.10 protos, IR version 8, ai.onnx
 * opset 17 or 18 as chosen by the Graph).
 *
 * Opset-dependent forms: from opset 13 ReduceSum, Squeeze and Unsqueeze take axes as an
 * input; ReduceMean / ReduceMax / ReduceL2 take an `axes` attribute up to opset 17 and an
 * input from 18. Reshape/Expand shapes, Slice ranges, Pad pads, Pow exponents and
 * ConstantOfShape shapes are inputs too; they are written here as small int64/float
 * initializers named `<output>__<what>`.
 *
 * Size limit: a protobuf message cannot exceed 2 GB, and ORT refuses such models at session
 * creation ("Model data size exceeds maximum supported size"). Initializers are stored inline
 * (raw_data), so large frozen weights (e.g. > ~1 GB of parameters) must be declared as graph
 * inputs (`g.param(..., { asInput: true })`) and fed per run (zero-copy in onnxruntime-node):
 * then the limit never binds.
 */
import onnxPkg from 'onnx-proto';
import type { onnx as OnnxNs } from 'onnx-proto';
import { WiseError } from '../util/errors.js';
import type { Graph, Node, Value } from './graph.js';
import { PRIMITIVES } from './primitives.js';
import type { DType, Shape, TensorData, TypedArray } from './types.js';

const { onnx } = onnxPkg;

export const IR_VERSION = 8;

export const ONNX_DTYPE: Readonly<Record<DType, number>> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11 };

const bytesOf = (a: TypedArray): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function tensorProto(name: string, t: TensorData): OnnxNs.ITensorProto {
  return { name, dims: [...t.dims], dataType: ONNX_DTYPE[t.dtype], rawData: bytesOf(t.data) };
}
const int64s = (name: string, v: readonly number[]): OnnxNs.ITensorProto =>
  tensorProto(name, { dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v.map((x) => BigInt(x))) });

function valueInfo(name: string, dtype: DType, shape: Shape): OnnxNs.IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ONNX_DTYPE[dtype], shape: { dim } } } };
}

type A = OnnxNs.IAttributeProto;
const T = onnx.AttributeProto.AttributeType;
const attrInt = (name: string, i: number): A => ({ name, type: T.INT, i });
const attrInts = (name: string, ints: readonly number[]): A => ({ name, type: T.INTS, ints: [...ints] });

/** Converts one node; `extra` collects the constant inputs it needs. */
function nodeProto(g: Graph, n: Node, extra: OnnxNs.ITensorProto[]): OnnxNs.INodeProto {
  const inputs = n.inputs.map((v: Value) => v.name);
  const attribute: A[] = [];
  const out = n.output.name;
  const constInput = (what: string, t: OnnxNs.ITensorProto): void => {
    const name = `${out}__${what}`;
    extra.push({ ...t, name });
    inputs.push(name);
  };
  const a = n.attrs;
  const ints = (k: string): number[] => (a[k] ?? []) as number[];
  switch (n.op) {
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax':
    case 'ReduceL2':
      if (n.op === 'ReduceSum' || g.opset >= 18) constInput('axes', int64s('', ints('axes')));
      else attribute.push(attrInts('axes', ints('axes')));
      attribute.push(attrInt('keepdims', a['keepdims'] as number));
      break;
    case 'Squeeze':
    case 'Unsqueeze':
      constInput('axes', int64s('', ints('axes')));
      break;
    case 'Reshape':
    case 'Expand':
      constInput('shape', int64s('', ints('spec')));
      break;
    case 'Slice':
      constInput('starts', int64s('', ints('starts')));
      constInput('ends', int64s('', ints('ends')));
      constInput('axes', int64s('', ints('axes')));
      break;
    case 'Pad':
      constInput('pads', int64s('', ints('pads')));
      break;
    case 'Pow': {
      const dt = n.inputs[0]!.dtype;
      const e = a['exponent'] as number;
      constInput('exponent', tensorProto('', { dtype: dt, dims: [], data: dt === 'float64' ? Float64Array.of(e) : Float32Array.of(e) }));
      break;
    }
    case 'Cast':
      attribute.push(attrInt('to', ONNX_DTYPE[a['to'] as DType]));
      break;
    case 'ConstantOfShape': {
      const dt = a['dtype'] as DType;
      const v = a['value'] as number;
      const data: TypedArray =
        dt === 'float64' ? Float64Array.of(v) : dt === 'float32' ? Float32Array.of(v)
          : dt === 'int64' ? BigInt64Array.of(BigInt(v)) : dt === 'int32' ? Int32Array.of(v) : Uint8Array.of(v);
      constInput('shape', int64s('', ints('shape')));
      attribute.push({ name: 'value', type: T.TENSOR, t: tensorProto('', { dtype: dt, dims: [1], data }) });
      break;
    }
    default:
      for (const [k, type] of Object.entries(PRIMITIVES[n.op]?.onnxAttrs ?? {})) {
        const v = a[k];
        if (v === undefined) continue;
        if (type === 'int') attribute.push(attrInt(k, v as number));
        else if (type === 'ints') attribute.push(attrInts(k, v as number[]));
        else if (type === 'float') attribute.push({ name: k, type: T.FLOAT, f: v as number });
        else attribute.push({ name: k, type: T.STRING, s: new TextEncoder().encode(v as string) });
      }
  }
  return { name: out, opType: n.op, domain: PRIMITIVES[n.op]?.domain ?? '', input: inputs, output: [out], attribute };
}

/** The ModelProto object for g (before encoding). */
export function toModelProto(g: Graph): OnnxNs.IModelProto {
  if (g.outputs.length === 0) throw new WiseError('WISE_GRAPH', `graph ${g.name} has no outputs`);
  // Only nodes and initializers that some output depends on are written (dead code from
  // unused gradient branches or helper values never reaches ORT).
  const live = new Set<Value>(g.outputs.map((o) => o.value));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (live.has(n.output)) n.inputs.forEach((v) => live.add(v));
  }
  const extra: OnnxNs.ITensorProto[] = [];
  const node = g.nodes.filter((n) => live.has(n.output)).map((n) => nodeProto(g, n, extra));
  const initializer = [...g.initializers].filter(([v]) => live.has(v)).map(([v, t]) => tensorProto(v.name, t)).concat(extra);
  // onnxruntime's contrib ops (com.microsoft, version 1) only where a node uses one
  const domains = [...new Set(node.map((n) => n.domain ?? '').filter((d) => d !== ''))];
  return {
    irVersion: IR_VERSION,
    producerName: 'wise-edit',
    opsetImport: [{ domain: '', version: g.opset }, ...domains.map((domain) => ({ domain, version: 1 }))],
    graph: {
      name: g.name,
      node,
      initializer,
      input: g.inputs.map((v) => valueInfo(v.name, v.dtype, v.shape)),
      output: g.outputs.map((o) => valueInfo(o.name, o.value.dtype, o.value.shape)),
    },
  };
}

/** Serialized ModelProto bytes, ready for an onnxruntime session. */
export function toOnnxBytes(g: Graph): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(g)).finish();
}
