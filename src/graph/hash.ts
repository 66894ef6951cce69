/**
 * Content hash of a graph: sha256 over its structure (opset, float type, inputs, nodes with
 * attributes, outputs) and the bytes of every initializer. Two graphs built the same way
 * hash equal, so the engine uses the hash as its session cache key. Memoized per graph
 * version (any mutation bumps `g.version`). node:crypto is pure computation, no I/O.
 */
import { createHash } from 'node:crypto';
import type { Graph } from './graph.js';

const memo = new WeakMap<Graph, { version: number; hash: string }>();

export function graphHash(g: Graph): string {
  const m = memo.get(g);
  if (m && m.version === g.version) return m.hash;
  const h = createHash('sha256');
  h.update(JSON.stringify({ opset: g.opset, floatType: g.floatType, name: g.name }));
  for (const v of g.inputs) h.update(JSON.stringify(['in', v.name, v.dtype, v.shape]));
  for (const [v, t] of g.initializers) {
    h.update(JSON.stringify(['init', v.name, t.dtype, t.dims]));
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  for (const n of g.nodes) h.update(JSON.stringify(['node', n.op, n.inputs.map((v) => v.name), n.output.name, n.attrs]));
  for (const o of g.outputs) h.update(JSON.stringify(['out', o.name]));
  const hash = h.digest('hex');
  memo.set(g, { version: g.version, hash });
  return hash;
}
