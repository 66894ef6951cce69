/**
 * Reverse-mode autodiff over a Graph: `grad(g, loss, wrt)` appends the backward nodes to
 * the same graph and returns d(sum of loss)/d(wrt[i]) for each wrt value.
 *
 * GRAD_RULES holds exactly one rule per differentiable primitive. A rule receives the
 * forward node and the incoming gradient gy (shape of the node's output) and returns one
 * thunk per input (null for non-differentiable inputs such as indices or conditions);
 * only the thunks of inputs on a path from `wrt` are called, so unused gradients cost
 * nothing. Binary ops unbroadcast statically (ReduceSum over broadcast axes + Reshape), so
 * every value on the gradient path must have a static shape. Where a value fans out, its
 * contributions are accumulated with one Sum node.
 *
 * Non-float values (bool masks, int indices) carry no gradient: comparisons, Not/And,
 * Cast-to-int and ConstantOfShape therefore need no rule. Every rule has a finite-difference
 * check in test/graph/grad.test.ts, which fails for a rule without a case.
 */
import { WiseError, check } from '../util/errors.js';
import type { Graph, Node, Value } from './graph.js';
import * as op from './ops.js';
import { isFloat, isStatic, sameShape, shapeStr, type Dim, type Shape } from './types.js';

export interface GradCtx {
  readonly node: Node;
  /** Forward inputs and output of the node. */
  readonly x: readonly Value[];
  readonly y: Value;
  /** Gradient w.r.t. y (same shape as y). */
  readonly gy: Value;
  readonly g: Graph;
}
export type GradRule = (c: GradCtx) => readonly ((() => Value) | null)[];

/** Sums gv over the axes along which `shape` was broadcast to gv.shape, then reshapes to `shape`. */
export function unbroadcast(gv: Value, shape: Shape): Value {
  if (sameShape(gv.shape, shape)) return gv;
  const lead = gv.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < gv.rank; i++) if (i < lead || (shape[i - lead] === 1 && gv.shape[i] !== 1)) axes.push(i);
  return op.reshape(axes.length ? op.reduceSum(gv, axes, true) : gv, shape);
}

const ints = (n: Node, k: string): number[] => (n.attrs[k] ?? []) as number[];
const num = (n: Node, k: string, d = 0): number => (n.attrs[k] ?? d) as number;
const range = (a: number, b: number): number[] => Array.from({ length: Math.max(b - a, 0) }, (_, i) => a + i);
const ub = (v: Value, like: Value): Value => unbroadcast(v, like.shape);
const staticShape = (v: Value): number[] => v.shape as number[];

/** Shape of a reduction's output with keepdims = 1 (for broadcasting gy back). */
function keptShape(c: GradCtx): Dim[] {
  const axes = ints(c.node, 'axes');
  return c.x[0]!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}
const keep = (c: GradCtx, v: Value): Value => (num(c.node, 'keepdims', 1) ? v : op.reshape(v, keptShape(c)));

function inversePerm(p: readonly number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return inv;
}

/** Gather grad: ScatterND-add of gy rows into zeros(data.shape) (duplicate ids accumulate). */
function gatherGrad(c: GradCtx): Value {
  const [data, idx] = c.x as [Value, Value];
  const axis = num(c.node, 'axis');
  const r = idx.rank;
  // Move the gathered axis to the front: data' = [N, rest...], gy' = [I..., rest...].
  const dPerm = [axis, ...range(0, axis), ...range(axis + 1, data.rank)];
  const gPerm = [...range(axis, axis + r), ...range(0, axis), ...range(axis + r, c.gy.rank)];
  const gT = axis === 0 ? c.gy : op.transpose(c.gy, gPerm);
  const zeros = op.zeros(c.g, dPerm.map((a) => data.shape[a] as number), data.dtype);
  const s = op.scatterND(zeros, op.unsqueeze(op.cast(idx, 'int64'), [r]), gT, 'add');
  return axis === 0 ? s : op.transpose(s, inversePerm(dPerm));
}

/** MatMul grads. A 2-D right operand (activation @ weight) uses Gemm on flattened rows. */
function matmulGrads(c: GradCtx): [() => Value, () => Value] {
  const [a, b] = c.x as [Value, Value];
  const gy = c.gy;
  if (b.rank === 2) {
    const k = b.shape[0] as number;
    const n = b.shape[1] as number;
    const g2 = op.reshape(gy, [-1, n]); // [rows, n]
    return [
      () => ub(op.reshape(op.gemm(g2, b, undefined, { transB: true }), [...gy.shape.slice(0, -1), k]), a),
      () => op.gemm(op.reshape(a, [-1, k]), g2, undefined, { transA: true }),
    ];
  }
  return [() => ub(op.matmul(gy, op.transposeLast2(b)), a), () => ub(op.matmul(op.transposeLast2(a), gy), b)];
}

/** Gemm grads for Y = alpha op(A) op(B) + beta C (see the case table in each thunk). */
function gemmGrads(c: GradCtx): ((() => Value) | null)[] {
  const [A, B, C] = c.x;
  const [tA, tB] = [num(c.node, 'transA'), num(c.node, 'transB')];
  const alpha = num(c.node, 'alpha', 1);
  const beta = num(c.node, 'beta', 1);
  const gy = c.gy;
  return [
    // dA = alpha gy op(B)ᵀ, transposed back when transA.
    () => (tA ? op.gemm(B!, gy, undefined, { transA: !!tB, transB: true, alpha }) : op.gemm(gy, B!, undefined, { transB: !tB, alpha })),
    // dB = alpha op(A)ᵀ gy, transposed back when transB.
    () => (tB ? op.gemm(gy, A!, undefined, { transA: true, transB: !!tA, alpha }) : op.gemm(A!, gy, undefined, { transA: !tA, alpha })),
    C ? () => ub(beta === 1 ? gy : op.mul(gy, beta), C) : null,
  ];
}

function scatterGrads(c: GradCtx, gatherLike: (g: Value) => Value, overwrite: (g: Value) => Value): ((() => Value) | null)[] {
  const add = c.node.attrs['reduction'] === 'add';
  return [() => (add ? c.gy : overwrite(c.gy)), null, () => gatherLike(c.gy)];
}

export const GRAD_RULES: Record<string, GradRule> = {
  Identity: (c) => [() => c.gy],
  Neg: (c) => [() => op.neg(c.gy)],
  Sqrt: (c) => [() => op.div(op.mul(c.gy, 0.5), c.y)],
  Exp: (c) => [() => op.mul(c.gy, c.y)],
  Log: (c) => [() => op.div(c.gy, c.x[0]!)],
  Tanh: (c) => [() => op.mul(c.gy, op.sub(1, op.mul(c.y, c.y)))],
  Sigmoid: (c) => [() => op.mul(c.gy, op.mul(c.y, op.sub(1, c.y)))],
  Relu: (c) => [() => op.where(op.greater(c.x[0]!, 0), c.gy, 0)],
  Pow: (c) => {
    const p = c.node.attrs['exponent'] as number;
    const x = c.x[0]!;
    return [() => op.mul(c.gy, p === 2 ? op.mul(x, 2) : op.mul(op.pow(x, p - 1), p))];
  },
  Add: (c) => [() => ub(c.gy, c.x[0]!), () => ub(c.gy, c.x[1]!)],
  Sub: (c) => [() => ub(c.gy, c.x[0]!), () => ub(op.neg(c.gy), c.x[1]!)],
  Mul: (c) => [() => ub(op.mul(c.gy, c.x[1]!), c.x[0]!), () => ub(op.mul(c.gy, c.x[0]!), c.x[1]!)],
  Div: (c) => [() => ub(op.div(c.gy, c.x[1]!), c.x[0]!), () => ub(op.neg(op.div(op.mul(c.gy, c.y), c.x[1]!)), c.x[1]!)],
  // Ties send the whole gradient to the first operand.
  Max: (c) => [
    () => ub(op.where(op.less(c.x[0]!, c.x[1]!), 0, c.gy), c.x[0]!),
    () => ub(op.where(op.less(c.x[0]!, c.x[1]!), c.gy, 0), c.x[1]!),
  ],
  Sum: (c) => c.x.map((x) => () => ub(c.gy, x)),
  Where: (c) => [null, () => ub(op.where(c.x[0]!, c.gy, 0), c.x[1]!), () => ub(op.where(c.x[0]!, 0, c.gy), c.x[2]!)],
  Cast: (c) => [isFloat(c.x[0]!.dtype) ? () => op.cast(c.gy, c.x[0]!.dtype) : null],
  MatMul: matmulGrads,
  Gemm: gemmGrads,
  ReduceSum: (c) => [() => op.expand(keep(c, c.gy), c.x[0]!.shape)],
  ReduceMean: (c) => {
    const n = ints(c.node, 'axes').reduce((p, a) => p * (c.x[0]!.shape[a] as number), 1);
    return [() => op.expand(op.mul(keep(c, c.gy), 1 / n), c.x[0]!.shape)];
  },
  // Ties: every maximal element receives the full gradient (ties are measure-zero for real data).
  ReduceMax: (c) => [() => op.where(op.equal(c.x[0]!, keep(c, c.y)), keep(c, c.gy), 0)],
  // d‖x‖/dx = x / ‖x‖ (undefined at x = 0).
  ReduceL2: (c) => [() => op.mul(op.div(c.x[0]!, keep(c, c.y)), keep(c, c.gy))],
  Softmax: (c) => {
    const ax = num(c.node, 'axis');
    return [() => op.mul(c.y, op.sub(c.gy, op.reduceSum(op.mul(c.gy, c.y), [ax], true)))];
  },
  LogSoftmax: (c) => {
    const ax = num(c.node, 'axis');
    return [() => op.sub(c.gy, op.mul(op.exp(c.y), op.reduceSum(c.gy, [ax], true)))];
  },
  Transpose: (c) => [() => op.transpose(c.gy, inversePerm(ints(c.node, 'perm')))],
  Reshape: (c) => [() => op.reshape(c.gy, c.x[0]!.shape)],
  Expand: (c) => [() => ub(c.gy, c.x[0]!)],
  Unsqueeze: (c) => [() => op.reshape(c.gy, c.x[0]!.shape)],
  Squeeze: (c) => [() => op.reshape(c.gy, c.x[0]!.shape)],
  Concat: (c) => {
    const ax = num(c.node, 'axis');
    let off = 0;
    return c.x.map((x) => {
      const [s, e] = [off, (off += x.shape[ax] as number)];
      return () => op.slice(c.gy, [s], [e], [ax]);
    });
  },
  Slice: (c) => {
    const x = c.x[0]!;
    const pads = new Array<number>(2 * x.rank).fill(0);
    const [st, en] = [ints(c.node, 'starts'), ints(c.node, 'ends')];
    ints(c.node, 'axes').forEach((a, j) => {
      const d = x.shape[a] as number;
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      pads[a] = clamp(st[j]!);
      pads[a + x.rank] = d - Math.max(clamp(en[j]!), clamp(st[j]!));
    });
    return [() => op.pad(c.gy, pads)];
  },
  Pad: (c) => {
    const x = c.x[0]!;
    const p = ints(c.node, 'pads');
    const starts = p.slice(0, x.rank);
    return [() => op.slice(c.gy, starts, starts.map((s, i) => s + (x.shape[i] as number)), range(0, x.rank))];
  },
  Gather: (c) => [() => gatherGrad(c), null],
  GatherElements: (c) => [
    () => op.scatterElements(op.zeros(c.g, staticShape(c.x[0]!), c.x[0]!.dtype), c.x[1]!, c.gy, num(c.node, 'axis'), 'add'),
    null,
  ],
  GatherND: (c) => [() => op.scatterND(op.zeros(c.g, staticShape(c.x[0]!), c.x[0]!.dtype), c.x[1]!, c.gy, 'add'), null],
  // reduction 'none' assumes unique indices (as ONNX does): overwritten data entries get 0.
  ScatterND: (c) =>
    scatterGrads(c, (g) => op.gatherND(g, c.x[1]!), (g) => op.scatterND(g, c.x[1]!, op.zeros(c.g, staticShape(c.x[2]!), g.dtype))),
  ScatterElements: (c) => {
    const ax = num(c.node, 'axis');
    return scatterGrads(
      c,
      (g) => op.gatherElements(g, c.x[1]!, ax),
      (g) => op.scatterElements(g, c.x[1]!, op.zeros(c.g, staticShape(c.x[2]!), g.dtype), ax),
    );
  },
};

/**
 * Appends the backward pass of `loss` (summed if not scalar) to g and returns the gradient
 * for each of `wrt` (zeros when `loss` does not depend on it). Mark the results as outputs
 * with `g.output(name, v)`.
 */
export function grad(g: Graph, loss: Value, wrt: readonly Value[]): Value[] {
  check(loss.graph === g && isFloat(loss.dtype), 'WISE_GRAPH', `grad: loss ${loss} must be a float value of this graph`);
  for (const w of wrt) check(w.graph === g && isFloat(w.dtype), 'WISE_GRAPH', `grad: wrt ${w} must be a float value of this graph`);
  const nodes = g.nodes.slice(); // snapshot: backward nodes appended below are not revisited
  const dep = new Set<Value>(wrt); // values that depend on some wrt
  for (const n of nodes) if (isFloat(n.output.dtype) && n.inputs.some((i) => dep.has(i))) dep.add(n.output);
  const live = new Set<Value>([loss]); // values that loss depends on
  for (let i = nodes.length - 1; i >= 0; i--) if (live.has(nodes[i]!.output)) nodes[i]!.inputs.forEach((v) => live.add(v));

  const contrib = new Map<Value, Value[]>();
  const push = (v: Value, d: Value): void => void (contrib.get(v) ?? contrib.set(v, []).get(v)!).push(d);
  const total = (v: Value): Value => op.sum(contrib.get(v)!);
  push(loss, loss.rank === 0 ? g.scalar(1, loss.dtype) : op.full(g, staticShape(loss), 1, loss.dtype));

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    const y = node.output;
    if (!dep.has(y) || !live.has(y) || !contrib.has(y)) continue;
    for (const v of [y, ...node.inputs]) {
      if (!isStatic(v.shape)) {
        throw new WiseError('WISE_GRAPH', `grad: ${node.op} value ${v.name}${shapeStr(v.shape)} has a symbolic shape; gradient graphs need static shapes`, { op: node.op });
      }
    }
    const rule = GRAD_RULES[node.op];
    if (!rule) throw new WiseError('WISE_NO_GRAD_RULE', `no gradient rule for op ${node.op} (output ${y.name})`, { op: node.op });
    const thunks = rule({ node, x: node.inputs, y, gy: total(y), g });
    node.inputs.forEach((x, j) => {
      if (!dep.has(x)) return;
      const t = thunks[j];
      if (!t) throw new WiseError('WISE_NO_GRAD_RULE', `op ${node.op} has no gradient for input ${j} (${x.name})`, { op: node.op, input: j });
      const d = t();
      check(sameShape(d.shape, x.shape), 'WISE_GRAPH', `grad rule ${node.op}: gradient ${d} does not match input ${x}`, { op: node.op });
      push(x, d);
    });
  }
  return wrt.map((w) => (contrib.has(w) ? total(w) : op.zeros(g, staticShape(w), w.dtype)));
}
