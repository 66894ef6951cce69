/** Feed validation, session caching and basic float32 runs of the engine. */
import { afterAll, describe, expect, it } from 'vitest';
import { Graph, graphHash, matmulFlops, nn, ops } from '../../src/graph/index.js';
import { Engine, f32, f64, i64, type Feeds } from '../../src/engine/index.js';
import { isWiseError, type ErrorCode } from '../../src/util/errors.js';

const engine = new Engine({ intraOpNumThreads: 1 });
afterAll(() => engine.dispose());

function build(bias = 0.5): Graph {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 'T', 4]);
  const m = g.input('m', 'float32', ['B', 'T']);
  const w = g.param('w', [1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
  const y = ops.add(nn.linear(x, w), bias); // [B, T, 2]
  g.output('y', ops.mul(y, ops.unsqueeze(m, [-1])));
  return g;
}

async function code(p: Promise<unknown>): Promise<ErrorCode | undefined> {
  try {
    await p;
  } catch (e) {
    if (isWiseError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('feed validation', () => {
  const g = build();
  const ok: Feeds = { x: f32(new Array(24).fill(1), [2, 3, 4]), m: f32(new Array(6).fill(1), [2, 3]) };

  it('runs valid feeds, symbolic dims bound per run', async () => {
    const r = await engine.run(g, ok);
    expect(r['y']!.dims).toEqual([2, 3, 2]);
    expect(Array.from(r['y']!.data as Float32Array).slice(0, 2)).toEqual([10.5, 26.5]);
    const r2 = await engine.run(g, { x: f32(new Array(4).fill(1), [1, 1, 4]), m: f32([1], [1, 1]) });
    expect(r2['y']!.dims).toEqual([1, 1, 2]);
  });
  it('missing feed', async () => {
    expect(await code(engine.run(g, { x: ok['x']! }))).toBe('WISE_FEED_MISSING');
  });
  it('unknown feed', async () => {
    expect(await code(engine.run(g, { ...ok, z: ok['m']! }))).toBe('WISE_FEED_UNKNOWN');
  });
  it('wrong dtype', async () => {
    expect(await code(engine.run(g, { ...ok, m: f64(new Array(6).fill(1), [2, 3]) }))).toBe('WISE_DTYPE_MISMATCH');
    // declared float32 but backed by the wrong array type
    expect(await code(engine.run(g, { ...ok, m: { dtype: 'float32', dims: [2, 3], data: new Float64Array(6) as never } }))).toBe(
      'WISE_DTYPE_MISMATCH',
    );
  });
  it('wrong shape: static dim, rank, symbolic inconsistency, data length', async () => {
    expect(await code(engine.run(g, { ...ok, x: f32(new Array(30).fill(1), [2, 3, 5]) }))).toBe('WISE_SHAPE_MISMATCH');
    expect(await code(engine.run(g, { ...ok, m: f32(new Array(6).fill(1), [6]) }))).toBe('WISE_SHAPE_MISMATCH');
    expect(await code(engine.run(g, { ...ok, m: f32(new Array(4).fill(1), [2, 2]) }))).toBe('WISE_SHAPE_MISMATCH');
    expect(await code(engine.run(g, { ...ok, m: { dtype: 'float32', dims: [2, 3], data: new Float32Array(5) } }))).toBe('WISE_SHAPE_MISMATCH');
  });
  it('messages name expected vs got', async () => {
    await expect(engine.run(g, { ...ok, x: f32(new Array(30).fill(1), [2, 3, 5]) })).rejects.toThrow("feed 'x': expected [B,T,4], got [2,3,5]");
    await expect(engine.run(g, { ...ok, m: f32(new Array(4).fill(1), [2, 2]) })).rejects.toThrow('symbolic dim T is 3');
  });
  it('unknown fetch', async () => {
    expect(await code(engine.run(g, ok, ['nope']))).toBe('WISE_GRAPH');
  });
});

describe('session cache', () => {
  it('same hash -> same session object, built once', async () => {
    const e = new Engine({ intraOpNumThreads: 1 });
    const [a, b, c] = [build(), build(), build(0.25)];
    expect(graphHash(a)).toBe(graphHash(b));
    expect(graphHash(a)).not.toBe(graphHash(c));
    const [sa, sb] = await Promise.all([e.session(a), e.session(b)]);
    expect(sa).toBe(sb);
    expect(await e.session(c)).not.toBe(sa);
    expect(e.stats().created).toBe(2);
    await e.dispose();
  });
  it('hash changes when the graph is mutated', () => {
    const g = build();
    const h = graphHash(g);
    g.output('again', ops.neg(g.outputs[0]!.value));
    expect(graphHash(g)).not.toBe(h);
  });
  it('evicts least-recently-used sessions beyond the byte budget', async () => {
    const e = new Engine({ intraOpNumThreads: 1, cacheBudgetBytes: 1 });
    const s1 = await e.session(build(1));
    await e.session(build(2));
    expect(e.stats()).toMatchObject({ sessions: 1, created: 2, evicted: 1 });
    expect(await e.session(build(1))).not.toBe(s1); // recreated
    await e.dispose();
  });
});

describe('params as inputs, flops', () => {
  it('asInput params are fed from their defaults and can be overridden', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [1, 2]);
    const w = g.param('w', [1, 0, 0, 1], [2, 2], { asInput: true });
    g.output('y', ops.matmul(x, w));
    expect((await engine.run(g, { x: f32([3, 4], [1, 2]) }))['y']!.data).toEqual(new Float32Array([3, 4]));
    const r = await engine.run(g, { x: f32([3, 4], [1, 2]), w: f32([0, 1, 1, 0], [2, 2]) });
    expect(r['y']!.data).toEqual(new Float32Array([4, 3]));
  });
  it('counts matmul flops with symbolic sizes', () => {
    const g = build();
    expect(matmulFlops(g, { B: 2, T: 3 })).toBe(2 * 2 * 3 * 2 * 4);
    expect(() => matmulFlops(g)).toThrow(/symbolic/);
  });
  it('int64 and bool tensors round-trip', async () => {
    const g = new Graph();
    const t = g.input('t', 'int64', [3]);
    g.output('eq', ops.equal(t, -100));
    g.output('t2', ops.add(t, 1));
    const r = await engine.run(g, { t: i64([1, -100, 3], [3]) });
    expect(Array.from(r['eq']!.data as Uint8Array)).toEqual([0, 1, 0]);
    expect(Array.from(r['t2']!.data as BigInt64Array)).toEqual([2n, -99n, 4n]);
  });
});
