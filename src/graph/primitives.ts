/**
 * The primitive table: every op a Graph may contain, keyed by its standard ai.onnx op name
 * (no com.microsoft ops), with its static shape/dtype inference and the ONNX attribute
 * types. Attributes that ONNX takes as *inputs* at our opsets (Reduce axes, Reshape/Expand
 * shape, Slice ranges, Pad pads, Squeeze/Unsqueeze axes, Pow exponent, ConstantOfShape
 * shape) are kept as attributes here; onnx.ts turns them into constant inputs per opset.
 */
import { WiseError, check } from '../util/errors.js';
import { broadcastShapes, isFloat, shapeStr, type DType, type Dim, type Shape } from './types.js';

export type AttrValue = number | string | readonly Dim[];
export type Attrs = Readonly<Record<string, AttrValue>>;
export interface Sig {
  readonly dtype: DType;
  readonly shape: Shape;
}
export type OnnxAttrType = 'int' | 'ints' | 'float' | 'string';

export interface Primitive {
  /** Static shape + dtype of the single output. Throws WiseError on bad inputs. */
  infer(ins: readonly Sig[], attrs: Attrs): Sig;
  /** Attributes written as ONNX attributes verbatim (others are handled by onnx.ts). */
  onnxAttrs?: Readonly<Record<string, OnnxAttrType>>;
  /** ONNX domain of the op ('' = ai.onnx; 'com.microsoft' = an onnxruntime contrib op) */
  domain?: string;
}

const ints = (a: Attrs, k: string): number[] => (a[k] ?? []) as number[];
const int = (a: Attrs, k: string, d = 0): number => (a[k] ?? d) as number;

function arity(ins: readonly Sig[], n: number, op: string): void {
  check(ins.length === n, 'WISE_GRAPH', `${op} takes ${n} inputs, got ${ins.length}`, { op });
}
function sameType(ins: readonly Sig[], op: string): DType {
  const t = ins[0]!.dtype;
  for (const s of ins) {
    if (s.dtype !== t) throw new WiseError('WISE_DTYPE_MISMATCH', `${op}: inputs have dtypes ${ins.map((i) => i.dtype).join(', ')}`, { op });
  }
  return t;
}
function floatOnly(ins: readonly Sig[], op: string): DType {
  const t = sameType(ins, op);
  check(isFloat(t), 'WISE_DTYPE_MISMATCH', `${op} needs float inputs, got ${t}`, { op, dtype: t });
  return t;
}

const unary = (op: string): Primitive => ({
  infer: (ins) => (arity(ins, 1, op), { dtype: floatOnly(ins, op), shape: ins[0]!.shape }),
});
const binary = (op: string, out?: DType): Primitive => ({
  infer: (ins) => {
    arity(ins, 2, op);
    const t = sameType(ins, op);
    return { dtype: out ?? t, shape: broadcastShapes(ins[0]!.shape, ins[1]!.shape) };
  },
});
const reduce = (op: string): Primitive => ({
  infer: (ins, a) => {
    arity(ins, 1, op);
    const x = ins[0]!;
    const axes = ints(a, 'axes');
    const keep = int(a, 'keepdims', 1) === 1;
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!axes.includes(i)) shape.push(d);
      else if (keep) shape.push(1);
    });
    return { dtype: floatOnly(ins, op), shape };
  },
});
const softmaxLike = (op: string): Primitive => ({
  infer: (ins) => (arity(ins, 1, op), { dtype: floatOnly(ins, op), shape: ins[0]!.shape }),
  onnxAttrs: { axis: 'int' },
});

/** Output dim of Slice along one axis (static when possible, else a descriptive symbol). */
export function sliceDim(d: Dim, start: number, end: number): Dim {
  if (typeof d === 'number') {
    const c = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    return Math.max(c(end) - c(start), 0);
  }
  if ((start >= 0 && end >= 0 && end < 2 ** 31 - 1) || (start < 0 && end < 0)) return Math.max(end - start, 0);
  if (start < 0 && end >= 2 ** 31 - 1) return -start;
  return `${d}[${start}:${end}]`;
}

export const PRIMITIVES: Readonly<Record<string, Primitive>> = {
  Identity: { infer: (ins) => (arity(ins, 1, 'Identity'), ins[0]!) },
  Neg: unary('Neg'),
  Sqrt: unary('Sqrt'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Tanh: unary('Tanh'),
  Sigmoid: unary('Sigmoid'),
  Relu: unary('Relu'),
  Pow: { infer: (ins) => (arity(ins, 1, 'Pow'), { dtype: floatOnly(ins, 'Pow'), shape: ins[0]!.shape }) },
  Add: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('Div'),
  Max: binary('Max'),
  /** Round half to even (no gradient rule: forward-only quantization). */
  Round: unary('Round'),
  Equal: binary('Equal', 'bool'),
  Greater: binary('Greater', 'bool'),
  Less: binary('Less', 'bool'),
  And: binary('And', 'bool'),
  Not: { infer: (ins) => (arity(ins, 1, 'Not'), { dtype: 'bool', shape: ins[0]!.shape }) },
  Sum: {
    infer: (ins) => {
      check(ins.length >= 1, 'WISE_GRAPH', 'Sum needs at least one input');
      return { dtype: floatOnly(ins, 'Sum'), shape: ins.map((s) => s.shape).reduce((a, b) => broadcastShapes(a, b)) };
    },
  },
  Where: {
    infer: (ins) => {
      arity(ins, 3, 'Where');
      check(ins[0]!.dtype === 'bool', 'WISE_DTYPE_MISMATCH', `Where condition must be bool, got ${ins[0]!.dtype}`);
      const t = sameType(ins.slice(1), 'Where');
      return { dtype: t, shape: broadcastShapes(broadcastShapes(ins[0]!.shape, ins[1]!.shape), ins[2]!.shape) };
    },
  },
  Cast: { infer: (ins, a) => (arity(ins, 1, 'Cast'), { dtype: a['to'] as DType, shape: ins[0]!.shape }) },
  MatMul: {
    // [..., m, k] @ [..., k, n] -> [..., m, n]; batch dims broadcast.
    infer: (ins) => {
      arity(ins, 2, 'MatMul');
      const [a, b] = ins as [Sig, Sig];
      const t = floatOnly(ins, 'MatMul');
      check(a.shape.length >= 2 && b.shape.length >= 2, 'WISE_SHAPE_MISMATCH', `MatMul needs rank >= 2, got ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
      const k1 = a.shape[a.shape.length - 1]!;
      const k2 = b.shape[b.shape.length - 2]!;
      check(k1 === k2, 'WISE_SHAPE_MISMATCH', `MatMul inner dims differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`, { a: [...a.shape], b: [...b.shape] });
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return { dtype: t, shape: [...batch, a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 1]!] };
    },
  },
  MatMulIntegerToFloat: {
    // onnxruntime contrib op (com.microsoft): uint8 A [..., m, k] @ int8 B [k, n] → float
    // [..., m, n] = a_scale·b_scale[n] · Σ (A − a_zero)(B), exact integer sums scaled once.
    // Inputs: A, B, a_scale (scalar), b_scale ([n] or scalar), a_zero_point (uint8 scalar).
    // Forward-only (router/quant.ts): no gradient rule.
    domain: 'com.microsoft',
    infer: (ins) => {
      arity(ins, 5, 'MatMulIntegerToFloat');
      const [a, b, as, bs, az] = ins as [Sig, Sig, Sig, Sig, Sig];
      check(a.dtype === 'uint8' && b.dtype === 'int8' && az.dtype === 'uint8', 'WISE_DTYPE_MISMATCH', `MatMulIntegerToFloat takes uint8 @ int8 with a uint8 zero point, got ${a.dtype} @ ${b.dtype}, ${az.dtype}`);
      check(isFloat(as.dtype) && as.dtype === bs.dtype, 'WISE_DTYPE_MISMATCH', `MatMulIntegerToFloat scales must be one float type, got ${as.dtype}, ${bs.dtype}`);
      check(a.shape.length >= 2 && b.shape.length === 2, 'WISE_SHAPE_MISMATCH', `MatMulIntegerToFloat needs rank >= 2 @ rank 2, got ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
      check(a.shape[a.shape.length - 1] === b.shape[0], 'WISE_SHAPE_MISMATCH', `MatMulIntegerToFloat inner dims differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`, { a: [...a.shape], b: [...b.shape] });
      return { dtype: as.dtype, shape: [...a.shape.slice(0, -1), b.shape[1]!] };
    },
  },
  Gemm: {
    // alpha * A' B' + beta * C with A' = transA ? Aᵀ : A (2-D only); C broadcasts to [M, N].
    infer: (ins, a) => {
      check(ins.length === 2 || ins.length === 3, 'WISE_GRAPH', 'Gemm takes 2 or 3 inputs');
      const t = floatOnly(ins, 'Gemm');
      const [A, B] = ins as [Sig, Sig];
      check(A.shape.length === 2 && B.shape.length === 2, 'WISE_SHAPE_MISMATCH', `Gemm needs 2-D inputs, got ${shapeStr(A.shape)}, ${shapeStr(B.shape)}`);
      const [m, k1] = int(a, 'transA') ? [A.shape[1]!, A.shape[0]!] : [A.shape[0]!, A.shape[1]!];
      const [k2, n] = int(a, 'transB') ? [B.shape[1]!, B.shape[0]!] : [B.shape[0]!, B.shape[1]!];
      check(k1 === k2, 'WISE_SHAPE_MISMATCH', `Gemm inner dims differ: ${shapeStr(A.shape)}, ${shapeStr(B.shape)}`, { attrs: a });
      const out = [m, n];
      if (ins[2]) check(broadcastShapes(out, ins[2].shape).length === 2, 'WISE_SHAPE_MISMATCH', 'Gemm C must broadcast to [M, N]');
      return { dtype: t, shape: out };
    },
    onnxAttrs: { transA: 'int', transB: 'int', alpha: 'float', beta: 'float' },
  },
  ReduceSum: reduce('ReduceSum'),
  ReduceMean: reduce('ReduceMean'),
  ReduceMax: reduce('ReduceMax'),
  ReduceL2: reduce('ReduceL2'),
  Softmax: softmaxLike('Softmax'),
  LogSoftmax: softmaxLike('LogSoftmax'),
  Transpose: {
    infer: (ins, a) => ({ dtype: ins[0]!.dtype, shape: ints(a, 'perm').map((p) => ins[0]!.shape[p]!) }),
    onnxAttrs: { perm: 'ints' },
  },
  // Reshape / Expand carry the resolved output shape in attr `shape` (see onnx.ts for encoding).
  Reshape: { infer: (ins, a) => ({ dtype: ins[0]!.dtype, shape: a['shape'] as Shape }) },
  Expand: { infer: (ins, a) => ({ dtype: ins[0]!.dtype, shape: broadcastShapes(ins[0]!.shape, a['shape'] as Shape) }) },
  Unsqueeze: {
    infer: (ins, a) => {
      const axes = ints(a, 'axes');
      const out: Dim[] = [];
      const src = [...ins[0]!.shape];
      const r = src.length + axes.length;
      for (let i = 0; i < r; i++) out.push(axes.includes(i) ? 1 : src.shift()!);
      return { dtype: ins[0]!.dtype, shape: out };
    },
  },
  Squeeze: {
    infer: (ins, a) => {
      const axes = ints(a, 'axes');
      for (const ax of axes) check(ins[0]!.shape[ax] === 1, 'WISE_SHAPE_MISMATCH', `Squeeze axis ${ax} of ${shapeStr(ins[0]!.shape)} is not 1`);
      return { dtype: ins[0]!.dtype, shape: ins[0]!.shape.filter((_, i) => !axes.includes(i)) };
    },
  },
  Concat: {
    infer: (ins, a) => {
      const t = sameType(ins, 'Concat');
      const ax = int(a, 'axis');
      const first = ins[0]!.shape;
      let total: Dim = 0;
      for (const s of ins) {
        const ok = s.shape.length === first.length && s.shape.every((d, i) => i === ax || d === first[i]);
        check(ok, 'WISE_SHAPE_MISMATCH', `Concat axis ${ax}: shapes ${ins.map((i) => shapeStr(i.shape)).join(' ')}`);
        const d = s.shape[ax]!;
        total = typeof total === 'number' && typeof d === 'number' ? total + d : `${total}+${d}`;
      }
      if (typeof total === 'string') total = total.replace(/^0\+/, '');
      return { dtype: t, shape: first.map((d, i) => (i === ax ? total : d)) };
    },
    onnxAttrs: { axis: 'int' },
  },
  Slice: {
    // attrs starts, ends, axes (same length; step 1). Ends may be 2**31-1 for "to the end".
    infer: (ins, a) => {
      const [st, en, ax] = [ints(a, 'starts'), ints(a, 'ends'), ints(a, 'axes')];
      const shape = [...ins[0]!.shape];
      ax.forEach((axis, j) => (shape[axis] = sliceDim(shape[axis]!, st[j]!, en[j]!)));
      return { dtype: ins[0]!.dtype, shape };
    },
  },
  Pad: {
    // attr pads = [b_0..b_{r-1}, e_0..e_{r-1}] (non-negative), constant 0 padding.
    infer: (ins, a) => {
      const x = ins[0]!;
      const p = ints(a, 'pads');
      const r = x.shape.length;
      const shape = x.shape.map((d, i) => {
        const add = p[i]! + p[i + r]!;
        return add === 0 ? d : typeof d === 'number' ? d + add : `${d}+${add}`;
      });
      return { dtype: x.dtype, shape };
    },
  },
  Gather: {
    // data [..., N(axis), ...], indices I -> data[:axis] ++ I ++ data[axis+1:]
    infer: (ins, a) => {
      arity(ins, 2, 'Gather');
      const [d, i] = ins as [Sig, Sig];
      check(i.dtype === 'int64' || i.dtype === 'int32', 'WISE_DTYPE_MISMATCH', `Gather indices must be int64/int32, got ${i.dtype}`);
      const ax = int(a, 'axis');
      return { dtype: d.dtype, shape: [...d.shape.slice(0, ax), ...i.shape, ...d.shape.slice(ax + 1)] };
    },
    onnxAttrs: { axis: 'int' },
  },
  GatherElements: {
    infer: (ins) => {
      arity(ins, 2, 'GatherElements');
      check(ins[1]!.shape.length === ins[0]!.shape.length, 'WISE_SHAPE_MISMATCH', 'GatherElements: indices rank must equal data rank');
      return { dtype: ins[0]!.dtype, shape: ins[1]!.shape };
    },
    onnxAttrs: { axis: 'int' },
  },
  GatherND: {
    // data [D...], indices [I..., k] -> [I..., D[k:]...]  (batch_dims = 0)
    infer: (ins) => {
      arity(ins, 2, 'GatherND');
      const [d, i] = ins as [Sig, Sig];
      const k = i.shape[i.shape.length - 1];
      check(typeof k === 'number' && k <= d.shape.length, 'WISE_SHAPE_MISMATCH', 'GatherND: last index dim must be static and <= data rank');
      return { dtype: d.dtype, shape: [...i.shape.slice(0, -1), ...d.shape.slice(k)] };
    },
  },
  ScatterND: {
    infer: (ins) => (arity(ins, 3, 'ScatterND'), { dtype: sameType([ins[0]!, ins[2]!], 'ScatterND'), shape: ins[0]!.shape }),
    onnxAttrs: { reduction: 'string' },
  },
  ScatterElements: {
    infer: (ins) => (arity(ins, 3, 'ScatterElements'), { dtype: sameType([ins[0]!, ins[2]!], 'ScatterElements'), shape: ins[0]!.shape }),
    onnxAttrs: { axis: 'int', reduction: 'string' },
  },
  ConstantOfShape: {
    // attrs: shape (static), value (number), dtype
    infer: (_ins, a) => ({ dtype: a['dtype'] as DType, shape: a['shape'] as Shape }),
  },
};
