/**
 * Built graphs vs a plain-TS float64 reference: a llama-style block (RMSNorm, RoPE, GQA
 * attention with causal + left-padding masks, SiLU MLP), a GPT-2-style block (LayerNorm,
 * Conv1D layout, GELU tanh), cross-entropy with ignore index; float32 and float64 graphs,
 * opsets 17 and 18, and a KV-cache decode graph with symbolic lengths.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  Graph,
  attentionMaskData,
  nn,
  ops,
  positionIdsFromMask,
  ropeTables,
  tensorData,
  type FloatType,
  type Opset,
  type Value,
} from '../../src/graph/index.js';
import { Engine, i64, type Tensor } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';

const engine = new Engine({ intraOpNumThreads: 1 });
afterAll(() => engine.dispose());

const [B, T, d, H, HKV, D, FF, V] = [2, 5, 8, 4, 2, 4, 12, 11];
const r = new Rng(7);
const rand = (n: number, s = 0.5): number[] => Array.from({ length: n }, () => r.normal() * s);
const W = {
  x: rand(B * T * d, 1),
  ln: rand(d).map((v) => 1 + v),
  lnb: rand(d),
  wq: rand(H * D * d),
  wk: rand(HKV * D * d),
  wv: rand(HKV * D * d),
  wo: rand(d * H * D),
  gate: rand(FF * d),
  up: rand(FF * d),
  down: rand(d * FF),
  head: rand(V * d),
};
const MASK = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]; // row 0 left-padded by two tokens
const TARGETS = [-100, -100, 3, 7, 1, 0, 10, -100, 2, 5];
const POS = positionIdsFromMask(MASK, B, T);

// ---- plain TS reference (float64) ----------------------------------------------------------------
type M = number[];
/** x [n, in] · w[out, in]ᵀ (or w [in, out] when inOut). */
function lin(x: M, n: number, w: M, inD: number, outD: number, inOut = false): M {
  const y = new Array<number>(n * outD).fill(0);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < outD; o++)
      for (let k = 0; k < inD; k++) y[i * outD + o]! += x[i * inD + k]! * (inOut ? w[k * outD + o]! : w[o * inD + k]!);
  return y;
}
function rowwise(x: M, n: number, f: (row: number[]) => number[]): M {
  const w = x.length / n;
  return Array.from({ length: n }, (_, i) => f(x.slice(i * w, i * w + w))).flat();
}
const rms = (x: M, w: M): M =>
  rowwise(x, x.length / w.length, (row) => {
    const s = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / row.length + 1e-6);
    return row.map((v, i) => (v / s) * w[i]!);
  });
const ln = (x: M, w: M, b: M): M =>
  rowwise(x, x.length / w.length, (row) => {
    const mu = row.reduce((a, v) => a + v, 0) / row.length;
    const s = Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / row.length + 1e-5);
    return row.map((v, i) => ((v - mu) / s) * w[i]! + b[i]!);
  });
const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const silu = (v: number): number => v / (1 + Math.exp(-v));
/** HF rotate-half RoPE on [T, nh*D] rows (token-major), positions per token. */
function ropeRef(x: M, nh: number, pos: number[]): M {
  const out = [...x];
  const half = D / 2;
  pos.forEach((p, t) => {
    for (let h = 0; h < nh; h++)
      for (let i = 0; i < half; i++) {
        const a = p / 10000 ** ((2 * i) / D);
        const base = t * nh * D + h * D;
        const [x1, x2] = [x[base + i]!, x[base + i + half]!];
        out[base + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
        out[base + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
  });
  return out;
}
/** Attention for one batch row; q [T, H*D], k/v [T, HKV*D] -> [T, H*D]. */
function attnRef(q: M, k: M, v: M, keyMask: number[]): M {
  const out = new Array<number>(T * H * D).fill(0);
  for (let h = 0; h < H; h++) {
    const kh = Math.floor(h / (H / HKV));
    for (let i = 0; i < T; i++) {
      const ok = (j: number): boolean => j <= i && keyMask[j] === 1;
      const s = Array.from({ length: T }, (_, j) => {
        let dot = 0;
        for (let e = 0; e < D; e++) dot += q[i * H * D + h * D + e]! * k[j * HKV * D + kh * D + e]!;
        return dot / Math.sqrt(D);
      });
      const any = s.some((_, j) => ok(j));
      const m = Math.max(...s.filter((_, j) => !any || ok(j)));
      const p = s.map((x, j) => (!any || ok(j) ? Math.exp(x - m) : 0));
      const z = p.reduce((a, b) => a + b, 0);
      for (let j = 0; j < T; j++) for (let e = 0; e < D; e++) out[i * H * D + h * D + e]! += (p[j]! / z) * v[j * HKV * D + kh * D + e]!;
    }
  }
  return out;
}
function llamaRef(): { hidden: M; loss: number } {
  const hidden: M = [];
  for (let b = 0; b < B; b++) {
    const x = W.x.slice(b * T * d, (b + 1) * T * d);
    const pos = POS.slice(b * T, (b + 1) * T);
    const hn = rms(x, W.ln);
    const q = ropeRef(lin(hn, T, W.wq, d, H * D), H, pos);
    const k = ropeRef(lin(hn, T, W.wk, d, HKV * D), HKV, pos);
    const v = lin(hn, T, W.wv, d, HKV * D);
    const a = lin(attnRef(q, k, v, MASK.slice(b * T, (b + 1) * T)), T, W.wo, H * D, d);
    const h1 = x.map((xv, i) => xv + a[i]!);
    const hn2 = rms(h1, W.ln);
    const g = lin(hn2, T, W.gate, d, FF);
    const u = lin(hn2, T, W.up, d, FF);
    const m = lin(g.map((gv, i) => silu(gv) * u[i]!), T, W.down, FF, d);
    hidden.push(...h1.map((hv, i) => hv + m[i]!));
  }
  const logits = lin(hidden, B * T, W.head, d, V);
  let tot = 0;
  let cnt = 0;
  TARGETS.forEach((t, i) => {
    if (t === -100) return;
    const row = logits.slice(i * V, i * V + V);
    const mx = Math.max(...row);
    tot -= row[t]! - mx - Math.log(row.reduce((a, z) => a + Math.exp(z - mx), 0));
    cnt++;
  });
  return { hidden, loss: tot / cnt };
}

// ---- graphs -------------------------------------------------------------------------------------------
function llamaGraph(floatType: FloatType, opset: Opset): Graph {
  const g = new Graph({ floatType, opset });
  const P = (name: keyof typeof W, shape: number[]): Value => g.param(name, W[name], shape);
  const x = g.input('x', floatType, [B, T, d]);
  const keyMask = g.input('mask', 'int64', [B, T]);
  const targets = g.input('targets', 'int64', [B, T]);
  const { cos, sin } = ropeTables(POS, B, T, D, 10000, floatType, 'float64');
  const [c, s] = [g.constant(cos), g.constant(sin)];
  const lnw = P('ln', [d]);
  const hn = nn.rmsNorm(x, lnw, 1e-6);
  const q = nn.rope(nn.splitHeads(nn.linear(hn, P('wq', [H * D, d])), H), c, s);
  const k = nn.rope(nn.splitHeads(nn.linear(hn, P('wk', [HKV * D, d])), HKV), c, s);
  const v = nn.splitHeads(nn.linear(hn, P('wv', [HKV * D, d])), HKV);
  const att = nn.linear(nn.mergeHeads(nn.attention(q, k, v, { causal: true, keyMask })), P('wo', [d, H * D]));
  const h1 = ops.add(x, att);
  const hn2 = nn.rmsNorm(h1, lnw, 1e-6);
  const mlp = nn.linear(ops.mul(nn.silu(nn.linear(hn2, P('gate', [FF, d]))), nn.linear(hn2, P('up', [FF, d]))), P('down', [d, FF]));
  const hidden = g.output('hidden', ops.add(h1, mlp));
  g.output('loss', nn.crossEntropy(nn.linear(hidden, P('head', [V, d])), targets));
  return g;
}

function feedsFor(floatType: FloatType): Record<string, Tensor> {
  return { x: tensorData(floatType, [B, T, d], W.x), mask: i64(MASK, [B, T]), targets: i64(TARGETS, [B, T]) };
}

/** Max abs difference over the non-padded token rows. */
function maxDiff(got: ArrayLike<number>, want: M): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) if (MASK[Math.floor(i / d)]) m = Math.max(m, Math.abs(got[i]! - want[i]!));
  return m;
}

describe('graphs equal the TS reference', () => {
  const ref = llamaRef();
  for (const [ft, opset, tol] of [['float64', 18, 1e-12], ['float64', 17, 1e-12], ['float32', 18, 2e-5]] as const) {
    it(`llama-style block + loss, ${ft}, opset ${opset}`, async () => {
      const res = await engine.run(llamaGraph(ft, opset), feedsFor(ft));
      expect(maxDiff(res['hidden']!.data as Float64Array, ref.hidden)).toBeLessThan(tol);
      expect(Math.abs((res['loss']!.data[0] as number) - ref.loss)).toBeLessThan(tol * 10);
    });
  }

  it('gpt2-style block (LayerNorm, Conv1D layout, GELU tanh), float32', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [B * T, d]);
    const h = nn.geluTanh(nn.linear(nn.layerNorm(x, g.param('ln', W.ln, [d]), g.param('lnb', W.lnb, [d])), g.param('up', W.up, [d, FF]), undefined, 'in_out'));
    g.output('y', h);
    const want = lin(ln(W.x, W.ln, W.lnb), B * T, W.up, d, FF, true).map(gelu);
    const got = (await engine.run(g, { x: tensorData('float32', [B * T, d], W.x) }))['y']!.data as Float32Array;
    expect(Math.max(...want.map((w, i) => Math.abs(w - got[i]!)))).toBeLessThan(1e-5);
  });

  it('KV-cache decode graph with symbolic lengths matches the full pass', async () => {
    // One attention layer: past keys/values [B, HKV, P, D] + new tokens [B, T', d].
    const g = new Graph({ floatType: 'float64' });
    const x = g.input('x', 'float64', [B, 'T', d]);
    const pk = g.input('past_k', 'float64', [B, HKV, 'P', D]);
    const pv = g.input('past_v', 'float64', [B, HKV, 'P', D]);
    const cos = g.input('cos', 'float64', [B, 'T', D]);
    const sin = g.input('sin', 'float64', [B, 'T', D]);
    const mask = g.input('attn_mask', 'bool', [B, 1, 'T', 'P+T']);
    const q = nn.rope(nn.splitHeads(nn.linear(x, g.param('wq', W.wq, [H * D, d])), H), cos, sin);
    const k = ops.concat([pk, nn.rope(nn.splitHeads(nn.linear(x, g.param('wk', W.wk, [HKV * D, d])), HKV), cos, sin)], 2);
    const v = ops.concat([pv, nn.splitHeads(nn.linear(x, g.param('wv', W.wv, [HKV * D, d])), HKV)], 2);
    g.output('out', nn.mergeHeads(nn.attention(q, k, v, { mask }))); // [B, T, H*D]
    g.output('present_k', k);
    g.output('present_v', v);
    const step = async (t0: number, t1: number, pastK: Tensor, pastV: Tensor): Promise<Record<string, Tensor>> => {
      const n = t1 - t0;
      const sl = (a: M, w: number): M => [0, 1].flatMap((b) => a.slice((b * T + t0) * w, (b * T + t1) * w));
      const tabs = ropeTables(sl(POS, 1), B, n, D, 10000, 'float64', 'float64');
      const km = [0, 1].flatMap((b) => MASK.slice(b * T, b * T + t1));
      return engine.run(g, {
        x: tensorData('float64', [B, n, d], sl(W.x, d)),
        past_k: pastK,
        past_v: pastV,
        cos: tabs.cos,
        sin: tabs.sin,
        attn_mask: attentionMaskData(km, B, n, t1),
      });
    };
    const empty = tensorData('float64', [B, HKV, 0, D], []);
    const full = await step(0, T, empty, empty);
    const pre = await step(0, T - 1, empty, empty);
    const last = await step(T - 1, T, pre['present_k']!, pre['present_v']!);
    expect(last['present_k']!.dims).toEqual([B, HKV, T, D]);
    for (let b = 0; b < B; b++)
      for (let e = 0; e < H * D; e++) {
        const want = full['out']!.data[(b * T + T - 1) * H * D + e] as number;
        expect(Math.abs((last['out']!.data[b * H * D + e] as number) - want)).toBeLessThan(1e-12);
      }
    // and the full pass equals the reference attention
    const hn = W.x; // no norm in this graph
    for (let b = 0; b < B; b++) {
      const xb = hn.slice(b * T * d, (b + 1) * T * d);
      const pos = POS.slice(b * T, (b + 1) * T);
      const want = attnRef(ropeRef(lin(xb, T, W.wq, d, H * D), H, pos), ropeRef(lin(xb, T, W.wk, d, HKV * D), HKV, pos), lin(xb, T, W.wv, d, HKV * D), MASK.slice(b * T, (b + 1) * T));
      for (let i = 0; i < T * H * D; i++) {
        if (!MASK[b * T + Math.floor(i / (H * D))]) continue;
        expect(Math.abs((full['out']!.data[b * T * H * D + i] as number) - want[i]!)).toBeLessThan(1e-12);
      }
    }
  });
});
