/**
 * int8 routing scores (src/router/quant.ts): the host-side per-column quantization of the
 * stacked deltas, and the in-graph product with per-row activation quantization and the
 * zero-point correction, run by onnxruntime (MatMulInteger, Round, Min, uint8/int8 tensors).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { Graph, ops } from '../../src/graph/index.js';
import { toModelProto } from '../../src/graph/onnx.js';
import { tensorData } from '../../src/graph/types.js';
import { quantizeMatrix, quantizedMatmul } from '../../src/router/quant.js';
import { Rng } from '../../src/util/rng.js';

const engine = new Engine({ intraOpNumThreads: 1 });
afterAll(() => engine.dispose());

describe('quantizeMatrix (per column, symmetric int8)', () => {
  it('scales each column by its max |x| / 127 and rounds; an all-zero column gets scale 1', () => {
    // (3, 2): column 0 = [0.5, -1.27, 0], column 1 = 0
    const q = quantizeMatrix(Float32Array.from([0.5, 0, -1.27, 0, 0, 0]), 3, 2);
    expect(q.scale[0]).toBeCloseTo(0.01, 7);
    expect(q.scale[1]).toBe(1);
    expect(Array.from(q.q)).toEqual([50, 0, -127, 0, 0, 0]);
  });
});

describe('quantizedMatmul (uint8 activations per row × int8 columns)', () => {
  it('a graph without contrib ops imports only the default domain', () => {
    const g = new Graph({ floatType: 'float32', name: 'plain' });
    g.output('y', ops.add(g.input('x', 'float32', [2]), 1));
    expect(toModelProto(g).opsetImport!.map((o) => o.domain)).toEqual(['']);
  });

  const run = async (a: Float32Array, rows: number, k: number, w: Float32Array, n: number): Promise<Float32Array> => {
    const g = new Graph({ floatType: 'float32', name: 'qmm' });
    const x = g.input('a', 'float32', ['R', k]);
    g.output('y', quantizedMatmul(x, g.input('q', 'int8', [k, n]), g.input('scale', 'float32', [n])));
    const qw = quantizeMatrix(w, k, n);
    // the contrib op's domain is imported (and only where a node uses it)
    expect(toModelProto(g).opsetImport!.map((o) => o.domain)).toEqual(['', 'com.microsoft']);
    const out = await engine.run(g, {
      a: tensorData('float32', [rows, k], a),
      q: tensorData('int8', [k, n], qw.q),
      scale: tensorData('float32', [n], qw.scale),
    }, ['y']);
    return out.y!.data as Float32Array;
  };
  const exact = (a: Float32Array, rows: number, k: number, w: Float32Array, n: number): Float64Array => {
    const y = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) y[r * n + j]! += a[r * k + i]! * w[i * n + j]!;
    return y;
  };

  it('is exact when both operands sit on their grids (rows of either sign: the activations zero point 128)', async () => {
    const rng = new Rng(3);
    const k = 16, n = 5, rows = 3;
    // column j: integers in [−127, 127] × 2^-j, with ±127 present so the column scale is exact
    const w = new Float32Array(k * n);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) w[i * n + j] = (i === j ? 127 * (j % 2 ? -1 : 1) : rng.int(255) - 127) / 2 ** j;
    // row r: integers in [−127, 127] × s_r with |127| present (so the row scale is s_r): one row
    // non-negative, one non-positive, one of both signs
    const a = new Float32Array(rows * k);
    [[0, 127], [-127, 0], [-127, 127]].forEach(([lo, hi], r) => {
      const s = 2 ** -(r + 2);
      for (let i = 0; i < k; i++) a[r * k + i] = (i === 0 ? (lo === -127 ? -127 : 127) : lo! + rng.int(hi! - lo! + 1)) * s;
    });
    const got = await run(a, rows, k, w, n);
    const want = exact(a, rows, k, w, n);
    want.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 4));
  });

  it('keeps each row norm (what a routing score is made of) within 0.3% of the float product on GELU-like activations, and maps a zero row to 0', async () => {
    const rng = new Rng(5);
    const k = 1024, n = 256, rows = 6; // the bundled model's down projection (ff 1024, d 256)
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const gelu = (x: number): number => 0.5 * x * (1 + Math.tanh(0.7978845608 * (x + 0.044715 * x ** 3)));
    const a = Float32Array.from({ length: rows * k }, (_, i) => (i >= (rows - 1) * k ? 0 : gelu(1.5 * gauss() - 0.5) * (1 + Math.floor(i / k))));
    const w = Float32Array.from({ length: k * n }, () => 0.01 * gauss());
    const got = await run(a, rows, k, w, n);
    const want = exact(a, rows, k, w, n);
    for (let r = 0; r < rows - 1; r++) {
      let e2 = 0, n2 = 0, g2 = 0;
      for (let j = 0; j < n; j++) {
        e2 += (got[r * n + j]! - want[r * n + j]!) ** 2;
        n2 += want[r * n + j]! ** 2;
        g2 += got[r * n + j]! ** 2;
      }
      const rel = Math.sqrt(e2 / n2); // entries: about 1%; the errors are not aligned with the row
      expect(rel).toBeLessThan(0.03);
      expect(rel).toBeGreaterThan(0); // it is an approximation: not the float path by accident
      expect(Math.abs(Math.sqrt(g2 / n2) - 1)).toBeLessThan(3e-3);
    }
    for (let j = 0; j < n; j++) expect(got[(rows - 1) * n + j]).toBe(0);
  });
});
