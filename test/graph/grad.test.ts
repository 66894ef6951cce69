/**
 * Every gradient rule (Object.keys(GRAD_RULES)) and every composite is checked against
 * central finite differences on float64 graphs run by onnxruntime (rel. error <= 1e-6,
 * abs. 1e-8 for entries whose gradient is ~0). A rule without a case fails the test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { END, GRAD_RULES, Graph, grad, nn, ops, positionIdsFromMask, ropeTables, tensorData, type Value } from '../../src/graph/index.js';
import { Engine, type Tensor } from '../../src/engine/index.js';
import { isWiseError } from '../../src/util/errors.js';
import type { Rng } from '../../src/util/rng.js';
import { awayFromZero, checkCase, inp, positive, randn, type Built, type GradCase } from './fd.js';

const engine = new Engine({ intraOpNumThreads: 1 });
afterAll(() => engine.dispose());

type Make = (g: Graph, r: Rng, f: Record<string, Tensor>) => { out: Value; wrt: Value[] };
const mk = (name: string, make: Make, extra: Partial<GradCase> = {}): GradCase => ({
  name,
  build: (g, r): Built => {
    const feeds: Record<string, Tensor> = {};
    return { ...make(g, r, feeds), feeds };
  },
  ...extra,
});
const i64 = (g: Graph, dims: number[], v: number[]): Value => g.constant(tensorData('int64', dims, v));
/** Unary op on one random input. */
const un = (name: string, f: (x: Value) => Value, data: (r: Rng, d: number[]) => Tensor<'float64'> = randn): GradCase =>
  mk(name, (g, r, fd) => {
    const x = inp(g, fd, 'x', data(r, [2, 3]));
    return { out: f(x), wrt: [x] };
  });
/** Binary op with broadcasting: a [2,3,4] with b of shape `bs`. */
const bin = (name: string, f: (a: Value, b: Value) => Value, bs: number[], bdata: (r: Rng, d: number[]) => Tensor<'float64'> = randn): GradCase =>
  mk(name, (g, r, fd) => {
    const a = inp(g, fd, 'a', randn(r, [2, 3, 4]));
    const b = inp(g, fd, 'b', bdata(r, bs));
    return { out: f(a, b), wrt: [a, b] };
  });
const gemmCase = (tA: boolean, tB: boolean): GradCase =>
  mk(`gemm tA=${tA} tB=${tB}`, (g, r, fd) => {
    const a = inp(g, fd, 'a', randn(r, tA ? [4, 3] : [3, 4]));
    const b = inp(g, fd, 'b', randn(r, tB ? [5, 4] : [4, 5]));
    const c = inp(g, fd, 'c', randn(r, [5]));
    return { out: ops.gemm(a, b, c, { transA: tA, transB: tB, alpha: 0.7, beta: 1.3 }), wrt: [a, b, c] };
  });
const x234 = (name: string, f: (x: Value) => Value, data = randn): GradCase =>
  mk(name, (g, r, fd) => {
    const x = inp(g, fd, 'x', data(r, [2, 3, 4]));
    return { out: f(x), wrt: [x] };
  });

/** Cases per primitive rule; the key must be the op name. */
const CASES: Record<string, GradCase[]> = {
  Identity: [un('identity', ops.identity)],
  Neg: [un('neg', ops.neg)],
  Sqrt: [un('sqrt', ops.sqrt, positive)],
  Exp: [un('exp', ops.exp)],
  Log: [un('log', ops.log, positive)],
  Tanh: [un('tanh', ops.tanh)],
  Sigmoid: [un('sigmoid', ops.sigmoid)],
  Relu: [un('relu', ops.relu, awayFromZero)],
  Pow: [un('pow 3', (x) => ops.pow(x, 3)), un('pow 2', (x) => ops.pow(x, 2)), un('pow -0.5', (x) => ops.pow(x, -0.5), positive)],
  Add: [bin('add [4]', ops.add, [4]), bin('add [3,1]', ops.add, [3, 1])],
  Sub: [bin('sub', ops.sub, [3, 1])],
  Mul: [bin('mul', ops.mul, [1, 3, 4])],
  Div: [bin('div', ops.div, [3, 1], positive)],
  Max: [bin('max', ops.max, [4])],
  Sum: [
    mk('sum', (g, r, fd) => {
      const [a, b, c] = [inp(g, fd, 'a', randn(r, [2, 3])), inp(g, fd, 'b', randn(r, [3])), inp(g, fd, 'c', randn(r, [2, 1]))];
      return { out: ops.sum([a, b, c]), wrt: [a, b, c] };
    }),
  ],
  Where: [
    mk('where', (g, r, fd) => {
      const cond = g.constant(tensorData('bool', [2, 3], [1, 0, 1, 0, 0, 1]));
      const [x, y] = [inp(g, fd, 'x', randn(r, [2, 3])), inp(g, fd, 'y', randn(r, [3]))];
      return { out: ops.where(cond, x, y), wrt: [x, y] };
    }),
  ],
  // float64 -> float32 -> float64: the loss is linear, so a large step only meets float32 rounding.
  Cast: [un('cast', (x) => ops.cast(ops.cast(x, 'float32'), 'float64'))].map((c) => ({ ...c, eps: 1e-2, rtol: 1e-4 })),
  MatMul: [
    bin('matmul x@W (Gemm grads)', ops.matmul, [4, 5]),
    bin('matmul batched', ops.matmul, [2, 4, 5]),
    mk('matmul broadcast', (g, r, fd) => {
      const a = inp(g, fd, 'a', randn(r, [2, 1, 3, 4]));
      const b = inp(g, fd, 'b', randn(r, [3, 4, 2]));
      return { out: ops.matmul(a, b), wrt: [a, b] };
    }),
  ],
  Gemm: [gemmCase(false, false), gemmCase(true, false), gemmCase(false, true), gemmCase(true, true)],
  ReduceSum: [x234('reduceSum [1]', (x) => ops.reduceSum(x, [1])), x234('reduceSum [0,2] keep', (x) => ops.reduceSum(x, [0, 2], true))],
  ReduceMean: [x234('reduceMean [2]', (x) => ops.reduceMean(x, [2])), x234('reduceMean all', (x) => ops.reduceMean(x))],
  ReduceMax: [x234('reduceMax [1]', (x) => ops.reduceMax(x, [1])), x234('reduceMax [2] keep', (x) => ops.reduceMax(x, [2], true))],
  ReduceL2: [x234('reduceL2 [2]', (x) => ops.reduceL2(x, [2])), x234('reduceL2 [0,1] keep', (x) => ops.reduceL2(x, [0, 1], true))],
  Softmax: [x234('softmax -1', (x) => ops.softmax(x, -1)), x234('softmax 1', (x) => ops.softmax(x, 1))],
  LogSoftmax: [x234('logSoftmax -1', (x) => ops.logSoftmax(x, -1)), x234('logSoftmax 0', (x) => ops.logSoftmax(x, 0))],
  Transpose: [x234('transpose', (x) => ops.transpose(x, [2, 0, 1]))],
  Reshape: [x234('reshape', (x) => ops.reshape(x, [6, -1]))],
  Expand: [un('expand', (x) => ops.expand(ops.reshape(x, [2, 3, 1]), [4, 2, 3, 5]))],
  Unsqueeze: [un('unsqueeze', (x) => ops.unsqueeze(x, [0, -1]))],
  Squeeze: [x234('squeeze', (x) => ops.squeeze(ops.slice(x, [0], [1], [1]), [1]))],
  Concat: [
    mk('concat', (g, r, fd) => {
      const [a, b] = [inp(g, fd, 'a', randn(r, [2, 1, 4])), inp(g, fd, 'b', randn(r, [2, 3, 4]))];
      return { out: ops.concat([a, b, a], 1), wrt: [a, b] };
    }),
  ],
  Slice: [x234('slice', (x) => ops.slice(x, [1, -3], [2, END], [0, 2])), x234('slice middle', (x) => ops.slice(x, [1], [3], [-1]))],
  Pad: [un('pad', (x) => ops.pad(x, [1, 0, 0, 2]))],
  Gather: [
    mk('gather axis 0 (dup ids)', (g, r, fd) => {
      const d = inp(g, fd, 'd', randn(r, [5, 3]));
      return { out: ops.gather(d, i64(g, [2, 3], [0, 4, 4, 1, 0, 0])), wrt: [d] };
    }),
    mk('gather axis 1', (g, r, fd) => {
      const d = inp(g, fd, 'd', randn(r, [2, 5, 3]));
      return { out: ops.gather(d, i64(g, [4], [3, 1, 3, 0]), 1), wrt: [d] };
    }),
  ],
  GatherElements: [
    mk('gatherElements', (g, r, fd) => {
      const d = inp(g, fd, 'd', randn(r, [3, 4]));
      return { out: ops.gatherElements(d, i64(g, [3, 2], [0, 0, 3, 1, 2, 2]), 1), wrt: [d] };
    }),
  ],
  GatherND: [
    mk('gatherND', (g, r, fd) => {
      const d = inp(g, fd, 'd', randn(r, [3, 4, 2]));
      return { out: ops.gatherND(d, i64(g, [3, 2], [0, 1, 2, 3, 0, 1])), wrt: [d] };
    }),
  ],
  ScatterND: (['add', 'none'] as const).map((red) =>
    mk(`scatterND ${red}`, (g, r, fd) => {
      const [d, u] = [inp(g, fd, 'd', randn(r, [4, 3])), inp(g, fd, 'u', randn(r, [3, 3]))];
      const idx = i64(g, [3, 1], red === 'add' ? [1, 3, 1] : [1, 3, 0]);
      return { out: ops.scatterND(d, idx, u, red), wrt: [d, u] };
    }),
  ),
  ScatterElements: (['add', 'none'] as const).map((red) =>
    mk(`scatterElements ${red}`, (g, r, fd) => {
      const [d, u] = [inp(g, fd, 'd', randn(r, [3, 4])), inp(g, fd, 'u', randn(r, [3, 2]))];
      const idx = i64(g, [3, 2], red === 'add' ? [0, 0, 3, 1, 2, 2] : [0, 1, 3, 1, 2, 0]);
      return { out: ops.scatterElements(d, idx, u, 1, red), wrt: [d, u] };
    }),
  ),
};

/** Composites of nn.ts (their gradients come from the primitive rules). */
const COMPOSITES: GradCase[] = [
  mk('linear out_in + bias', (g, r, fd) => {
    const [x, w, b] = [inp(g, fd, 'x', randn(r, [2, 3, 4])), inp(g, fd, 'w', randn(r, [5, 4])), inp(g, fd, 'b', randn(r, [5]))];
    return { out: nn.linear(x, w, b), wrt: [x, w, b] };
  }),
  mk('linear in_out', (g, r, fd) => {
    const [x, w] = [inp(g, fd, 'x', randn(r, [2, 3, 4])), inp(g, fd, 'w', randn(r, [4, 5]))];
    return { out: nn.linear(x, w, undefined, 'in_out'), wrt: [x, w] };
  }),
  mk('layerNorm', (g, r, fd) => {
    const [x, w, b] = [inp(g, fd, 'x', randn(r, [2, 3, 6])), inp(g, fd, 'w', randn(r, [6])), inp(g, fd, 'b', randn(r, [6]))];
    return { out: nn.layerNorm(x, w, b, 1e-5), wrt: [x, w, b] };
  }),
  mk('rmsNorm', (g, r, fd) => {
    const [x, w] = [inp(g, fd, 'x', randn(r, [2, 3, 6])), inp(g, fd, 'w', randn(r, [6]))];
    return { out: nn.rmsNorm(x, w, 1e-6), wrt: [x, w] };
  }),
  x234('geluTanh', nn.geluTanh),
  x234('silu', nn.silu),
  x234('nn.softmax', (x) => nn.softmax(x)),
  mk('rope', (g, r, fd) => {
    const x = inp(g, fd, 'x', randn(r, [2, 2, 3, 4])); // [B, H, T, D]
    const { cos, sin } = ropeTables([0, 1, 2, 5, 6, 7], 2, 3, 4, 10000, 'float64');
    return { out: nn.rope(x, g.constant(cos), g.constant(sin)), wrt: [x] };
  }),
  mk('attention GQA + causal + padding mask + RoPE', (g, r, fd) => {
    const [B, T, d, H, Hkv, D] = [2, 4, 8, 4, 2, 2];
    const x = inp(g, fd, 'x', randn(r, [B, T, d]));
    const wq = inp(g, fd, 'wq', randn(r, [H * D, d], 0.5));
    const wk = inp(g, fd, 'wk', randn(r, [Hkv * D, d], 0.5));
    const wv = inp(g, fd, 'wv', randn(r, [Hkv * D, d], 0.5));
    const mask = [0, 1, 1, 1, 1, 1, 1, 1]; // row 0 left-padded by one token
    const { cos, sin } = ropeTables(positionIdsFromMask(mask, B, T), B, T, D, 10000, 'float64');
    const [c, s] = [g.constant(cos), g.constant(sin)];
    const q = nn.rope(nn.splitHeads(nn.linear(x, wq), H), c, s);
    const k = nn.rope(nn.splitHeads(nn.linear(x, wk), Hkv), c, s);
    const v = nn.splitHeads(nn.linear(x, wv), Hkv);
    const keyMask = g.constant(tensorData('int64', [B, T], mask));
    return { out: nn.mergeHeads(nn.attention(q, k, v, { causal: true, keyMask })), wrt: [x, wq, wk, wv] };
  }),
  mk('crossEntropy ignore -100', (g, r, fd) => {
    const logits = inp(g, fd, 'logits', randn(r, [2, 3, 5]));
    const t = i64(g, [2, 3], [1, -100, 4, 0, 4, -100]);
    return { out: nn.crossEntropy(logits, t), wrt: [logits] };
  }),
];

describe('gradient rules vs finite differences (float64)', () => {
  it('every rule has a case and every case names a rule', () => {
    const missing = Object.keys(GRAD_RULES).filter((op) => !CASES[op]?.length);
    expect(missing, `rules without a finite-difference case: ${missing.join(', ')}`).toEqual([]);
    expect(Object.keys(CASES).filter((op) => !(op in GRAD_RULES))).toEqual([]);
  });

  for (const op of Object.keys(GRAD_RULES)) {
    it(`rule ${op}`, async () => {
      const cases = CASES[op];
      expect(cases, `no finite-difference case for gradient rule ${op}`).toBeDefined();
      for (const c of cases!) {
        const res = await checkCase(c, engine);
        expect(res.graph.nodes.some((n) => n.op === op), `case ${c.name} does not use ${op}`).toBe(true);
        expect(res.checked).toBeGreaterThan(0);
        expect(res.worstRel).toBeLessThanOrEqual(c.rtol ?? 1e-6);
      }
    });
  }

  for (const c of COMPOSITES) {
    it(`composite ${c.name}`, async () => {
      const res = await checkCase(c, engine);
      expect(res.worstRel).toBeLessThanOrEqual(1e-6);
    });
  }

  it('a missing rule throws WISE_NO_GRAD_RULE naming the op', () => {
    const saved = GRAD_RULES['Tanh']!;
    delete GRAD_RULES['Tanh'];
    try {
      const g = new Graph({ floatType: 'float64' });
      const x = g.input('x', 'float64', [3]);
      const loss = ops.reduceSum(ops.tanh(x));
      let err: unknown;
      try {
        grad(g, loss, [x]);
      } catch (e) {
        err = e;
      }
      expect(isWiseError(err, 'WISE_NO_GRAD_RULE')).toBe(true);
      expect((err as Error).message).toContain('Tanh');
    } finally {
      GRAD_RULES['Tanh'] = saved;
    }
  });

  it('gradients through symbolic shapes are refused with WISE_GRAPH', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['B', 3]);
    expect(() => grad(g, ops.reduceSum(ops.exp(x)), [x])).toThrowError(/static shapes/);
  });

  it('a loss independent of wrt gives zeros', async () => {
    const g = new Graph({ floatType: 'float64' });
    const x = g.input('x', 'float64', [2]);
    const y = g.input('y', 'float64', [3]);
    const [dy] = grad(g, g.output('loss', ops.reduceSum(ops.exp(x))), [y]);
    g.output('dy', dy!);
    const res = await engine.run(g, { x: randnFixed([2]), y: randnFixed([3]) });
    expect([...(res['dy']!.data as Float64Array)]).toEqual([0, 0, 0]);
  });
});

function randnFixed(dims: number[]): Tensor<'float64'> {
  const n = dims.reduce((a, b) => a * b, 1);
  return tensorData('float64', dims, Array.from({ length: n }, (_, i) => 0.1 * (i + 1)));
}
