/**
 * Builder functions, one per primitive of primitives.ts (same ONNX semantics, opset 17/18).
 * Every function takes Values (the graph is the Values' graph); binary ops also accept a
 * plain number, which becomes a scalar constant of the other operand's dtype:
 *
 *   const y = ops.add(ops.matmul(x, w), b);     // [B,T,in] @ [in,out] + [out]
 *   const z = ops.mul(y, 0.5);
 *
 * Axes may be negative; they are normalized here so graphs and gradient rules see
 * non-negative axes only.
 */
import { WiseError, check } from '../util/errors.js';
import type { Graph, Value } from './graph.js';
import { isStatic, normAxis, numel, shapeStr, type DType, type Dim, type Shape } from './types.js';

export type Operand = Value | number;

/** "To the end" sentinel for slice ends. */
export const END = 2 ** 31 - 1;

function lift(a: Operand, like: Value): Value {
  return typeof a === 'number' ? like.graph.scalar(a, like.dtype) : a;
}
function pair(op: string, a: Operand, b: Operand): Value {
  check(typeof a !== 'number' || typeof b !== 'number', 'WISE_GRAPH', `${op}: at least one operand must be a Value`);
  const av = typeof a === 'number' ? lift(a, b as Value) : a;
  const bv = lift(b, av);
  return av.graph.emit(op, [av, bv]);
}
const axesOf = (x: Value, axes?: readonly number[]): number[] =>
  axes === undefined ? x.shape.map((_, i) => i) : [...new Set(axes.map((a) => normAxis(a, x.rank)))].sort((p, q) => p - q);

// ---- elementwise ------------------------------------------------------------------------
export const add = (a: Operand, b: Operand): Value => pair('Add', a, b);
export const sub = (a: Operand, b: Operand): Value => pair('Sub', a, b);
export const mul = (a: Operand, b: Operand): Value => pair('Mul', a, b);
export const div = (a: Operand, b: Operand): Value => pair('Div', a, b);
/** Elementwise maximum of two tensors (ONNX Max with 2 inputs). */
export const max = (a: Operand, b: Operand): Value => pair('Max', a, b);
/** Round half to even (forward only). */
export const round = (x: Value): Value => x.graph.emit('Round', [x]);
export const equal = (a: Operand, b: Operand): Value => pair('Equal', a, b);
export const greater = (a: Operand, b: Operand): Value => pair('Greater', a, b);
export const less = (a: Operand, b: Operand): Value => pair('Less', a, b);
export const and = (a: Value, b: Value): Value => a.graph.emit('And', [a, b]);
export const not = (a: Value): Value => a.graph.emit('Not', [a]);
export const neg = (x: Value): Value => x.graph.emit('Neg', [x]);
export const sqrt = (x: Value): Value => x.graph.emit('Sqrt', [x]);
export const exp = (x: Value): Value => x.graph.emit('Exp', [x]);
export const log = (x: Value): Value => x.graph.emit('Log', [x]);
export const tanh = (x: Value): Value => x.graph.emit('Tanh', [x]);
export const sigmoid = (x: Value): Value => x.graph.emit('Sigmoid', [x]);
export const relu = (x: Value): Value => x.graph.emit('Relu', [x]);
export const identity = (x: Value): Value => x.graph.emit('Identity', [x]);
/** x ** p for a constant exponent p. */
export const pow = (x: Value, p: number): Value => x.graph.emit('Pow', [x], { exponent: p });
/** Sum of any number of same-dtype tensors (broadcasting). */
export function sum(xs: readonly Value[]): Value {
  check(xs.length > 0, 'WISE_GRAPH', 'sum of no values');
  return xs.length === 1 ? xs[0]! : xs[0]!.graph.emit('Sum', xs);
}
/** cond ? x : y (broadcasting); numbers become scalars of the other branch's dtype. */
export function where(cond: Value, x: Operand, y: Operand): Value {
  const like = typeof x !== 'number' ? x : typeof y !== 'number' ? y : undefined;
  const g = cond.graph;
  const xv = typeof x === 'number' ? (like ? lift(x, like) : g.scalar(x)) : x;
  const yv = lift(y, xv);
  return g.emit('Where', [cond, xv, yv]);
}
export const cast = (x: Value, to: DType): Value => (x.dtype === to ? x : x.graph.emit('Cast', [x], { to }));

// ---- linear algebra -----------------------------------------------------------------------
/** [..., m, k] @ [..., k, n] -> [..., m, n] (rank >= 2, batch dims broadcast). */
export const matmul = (a: Value, b: Value): Value => a.graph.emit('MatMul', [a, b]);
/**
 * uint8 a [..., m, k] @ int8 b [k, n] -> float [..., m, n] = aScale · bScale[n] · Σ (a − aZero)·b
 * (onnxruntime's com.microsoft MatMulIntegerToFloat; forward only).
 */
export const matmulIntegerToFloat = (a: Value, b: Value, aScale: Value, bScale: Value, aZero: Value): Value =>
  a.graph.emit('MatMulIntegerToFloat', [a, b, aScale, bScale, aZero]);

export interface GemmOpts {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}
/** alpha * op(A) op(B) + beta * C for 2-D A, B; C optional, broadcast to [M, N]. */
export function gemm(a: Value, b: Value, c?: Value, o: GemmOpts = {}): Value {
  const attrs = { transA: o.transA ? 1 : 0, transB: o.transB ? 1 : 0, alpha: o.alpha ?? 1, beta: o.beta ?? 1 };
  return a.graph.emit('Gemm', c ? [a, b, c] : [a, b], attrs);
}

// ---- reductions / normalizers ---------------------------------------------------------------
const reduce = (op: string) => (x: Value, axes?: readonly number[], keepdims = false): Value =>
  x.graph.emit(op, [x], { axes: axesOf(x, axes), keepdims: keepdims ? 1 : 0 });
/** Reductions over `axes` (default: all axes). keepdims defaults to false. */
export const reduceSum = reduce('ReduceSum');
export const reduceMean = reduce('ReduceMean');
export const reduceMax = reduce('ReduceMax');
/** sqrt(sum x²) over axes. Its gradient is x / y: undefined where y = 0. */
export const reduceL2 = reduce('ReduceL2');
export const softmax = (x: Value, axis = -1): Value => x.graph.emit('Softmax', [x], { axis: normAxis(axis, x.rank) });
export const logSoftmax = (x: Value, axis = -1): Value => x.graph.emit('LogSoftmax', [x], { axis: normAxis(axis, x.rank) });

// ---- shape ------------------------------------------------------------------------------------
/** Permutes axes; default reverses them. */
export function transpose(x: Value, perm?: readonly number[]): Value {
  const p = perm ? perm.map((a) => normAxis(a, x.rank)) : x.shape.map((_, i) => x.rank - 1 - i);
  check(p.length === x.rank && new Set(p).size === p.length, 'WISE_GRAPH', `bad perm [${p.join(',')}] for ${x}`);
  return x.graph.emit('Transpose', [x], { perm: p });
}
/** Swaps the last two axes. */
export function transposeLast2(x: Value): Value {
  const p = x.shape.map((_, i) => i);
  [p[x.rank - 2], p[x.rank - 1]] = [x.rank - 1, x.rank - 2];
  return transpose(x, p);
}

/**
 * Reshape to `shape` (numbers, symbolic names, at most one -1). Symbolic target dims must
 * sit at the same index as in the input (encoded as ONNX 0 = copy) or be the single
 * inferred dim (-1). A -1 over symbolic input dims becomes a product symbol like 'B*T'.
 */
export function reshape(x: Value, shape: readonly Dim[]): Value {
  const infer = shape.filter((d) => d === -1).length;
  check(infer <= 1, 'WISE_GRAPH', `reshape: more than one -1 in ${shapeStr(shape)}`);
  const out: Dim[] = [...shape];
  const at = shape.indexOf(-1);
  if (at >= 0) {
    // Factor both shapes into a number times symbol names; -1 is the quotient.
    let num = 1;
    const syms: string[] = [];
    const factor = (d: Dim, sign: 1 | -1): void => {
      for (const f of String(d).split('*')) {
        if (/^\d+$/.test(f)) num = sign > 0 ? num * Number(f) : num / Number(f);
        else if (sign > 0) syms.push(f);
        else {
          const k = syms.indexOf(f);
          check(k >= 0, 'WISE_SHAPE_MISMATCH', `cannot reshape ${x} to ${shapeStr(shape)}: symbol ${f} not in input`);
          syms.splice(k, 1);
        }
      }
    };
    x.shape.forEach((d) => factor(d, 1));
    shape.forEach((d) => d !== -1 && factor(d, -1));
    check(Number.isInteger(num), 'WISE_SHAPE_MISMATCH', `cannot reshape ${x} to ${shapeStr(shape)}`);
    out[at] = syms.length === 0 ? num : [...syms, ...(num === 1 ? [] : [String(num)])].join('*');
  } else if (isStatic(x.shape) && isStatic(shape)) {
    check(numel(x.shape) === numel(shape), 'WISE_SHAPE_MISMATCH', `cannot reshape ${x} to ${shapeStr(shape)}`, {
      from: [...x.shape],
      to: [...shape],
    });
  }
  // ONNX encoding: number -> itself; symbol -> 0 (copy) if at same index in x, else -1.
  const spec = out.map((d, i) => (typeof d === 'number' ? d : i === at ? -1 : x.shape[i] === d ? 0 : -1));
  check(!out.some((d) => d === 0), 'WISE_GRAPH', `reshape: zero-size dims unsupported (${shapeStr(shape)})`);
  check(spec.filter((d) => d === -1).length <= 1, 'WISE_GRAPH', `reshape ${x} -> ${shapeStr(out)}: symbolic dims must keep their index`);
  if (out.every((d, i) => d === x.shape[i]) && out.length === x.rank) return x;
  return x.graph.emit('Reshape', [x], { shape: out, spec });
}

/** Broadcasts x to `shape` (numpy rules). A symbolic target dim must equal x's aligned dim. */
export function expand(x: Value, shape: readonly Dim[]): Value {
  const off = shape.length - x.rank;
  const spec = shape.map((d, i) => {
    if (typeof d === 'number') return d;
    check(x.shape[i - off] === d, 'WISE_GRAPH', `expand ${x} to ${shapeStr(shape)}: symbolic dim ${d} must already be present`);
    return 1;
  });
  return x.graph.emit('Expand', [x], { shape: [...shape], spec });
}
/** Inserts size-1 axes at `axes` (indices in the output). */
export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const r = x.rank + axes.length;
  return x.graph.emit('Unsqueeze', [x], { axes: [...new Set(axes.map((a) => normAxis(a, r)))].sort((p, q) => p - q) });
}
export const squeeze = (x: Value, axes: readonly number[]): Value => x.graph.emit('Squeeze', [x], { axes: axesOf(x, axes) });
export function concat(xs: readonly Value[], axis: number): Value {
  check(xs.length > 0, 'WISE_GRAPH', 'concat of no values');
  return xs[0]!.graph.emit('Concat', xs, { axis: normAxis(axis, xs[0]!.rank) });
}
/** x[starts:ends] along `axes` (default 0..n-1), step 1; negative starts/ends count from the end; END = to the end. */
export function slice(x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[]): Value {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.rank));
  check(starts.length === ends.length && ends.length === ax.length, 'WISE_GRAPH', 'slice: starts/ends/axes lengths differ');
  return x.graph.emit('Slice', [x], { starts: [...starts], ends: [...ends], axes: ax });
}
/** Zero padding; pads = [begin_0..begin_{r-1}, end_0..end_{r-1}], all >= 0. */
export function pad(x: Value, pads: readonly number[]): Value {
  check(pads.length === 2 * x.rank && pads.every((p) => Number.isInteger(p) && p >= 0), 'WISE_GRAPH', `bad pads [${pads.join(',')}] for ${x}`);
  return x.graph.emit('Pad', [x], { pads: [...pads] });
}

// ---- indexing ---------------------------------------------------------------------------------
/** data.take(indices, axis): data[:axis] ++ indices.shape ++ data[axis+1:]. */
export const gather = (data: Value, indices: Value, axis = 0): Value =>
  data.graph.emit('Gather', [data, indices], { axis: normAxis(axis, data.rank) });
/** out[i][j] = data[i][idx[i][j]] along axis (indices rank = data rank). */
export const gatherElements = (data: Value, indices: Value, axis: number): Value =>
  data.graph.emit('GatherElements', [data, indices], { axis: normAxis(axis, data.rank) });
/** indices [..., k] (int64) select data[i0..ik-1] slices. */
export const gatherND = (data: Value, indices: Value): Value => data.graph.emit('GatherND', [data, indices]);
export type Reduction = 'none' | 'add';
/** Copy of data with updates written ('none') or added ('add', duplicates accumulate) at indices [..., k]. */
export const scatterND = (data: Value, indices: Value, updates: Value, reduction: Reduction = 'none'): Value =>
  data.graph.emit('ScatterND', [data, indices, updates], { reduction });
export const scatterElements = (data: Value, indices: Value, updates: Value, axis: number, reduction: Reduction = 'none'): Value =>
  data.graph.emit('ScatterElements', [data, indices, updates], { axis: normAxis(axis, data.rank), reduction });

// ---- creation -----------------------------------------------------------------------------------
/** A tensor of `shape` filled with `value` (ONNX ConstantOfShape; no stored data). Static shapes only. */
export function full(g: Graph, shape: readonly number[], value: number, dtype: DType = g.floatType): Value {
  if (!isStatic(shape)) throw new WiseError('WISE_GRAPH', `full: shape ${shapeStr(shape)} must be static`);
  return g.emit('ConstantOfShape', [], { shape: [...shape], value, dtype });
}
export const zeros = (g: Graph, shape: readonly number[], dtype?: DType): Value => full(g, shape, 0, dtype);
