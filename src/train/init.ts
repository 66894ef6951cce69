/**
 * Initial weights for training from scratch, for any ArchSpec: every tensor of
 * expectedShapes(spec, cfg) gets N(0, std²), norm gains 1, biases 0; the projections that
 * write into the residual stream (attention output, MLP down) get std/√(2L) as in GPT-2,
 * so the residual variance does not grow with depth. Seeded.
 */
import { Rng } from '../util/rng.js';
import { expectedShapes, layerName, type ArchSpec } from '../model/arch.js';
import type { ModelConfig } from '../model/config.js';
import type { Weight } from '../model/weights.js';

export function initWeights(spec: ArchSpec, cfg: ModelConfig, seed: number, std = 0.02): Map<string, Weight> {
  const rng = new Rng(seed);
  const norms = new Set<string>();
  const residual = new Set<string>();
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const n of [spec.layer.attnNorm, spec.layer.mlpNorm]) norms.add(layerName(n.weight, i));
    residual.add(layerName(spec.layer.attention.o.weight, i));
    residual.add(layerName(spec.layer.mlp.down.weight, i));
  }
  norms.add(spec.finalNorm.weight);
  const out = new Map<string, Weight>();
  for (const [name, shape] of expectedShapes(spec, cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (norms.has(name)) data.fill(1);
    else if (!name.endsWith('.bias')) rng.fillNormal(data, residual.has(name) ? std / Math.sqrt(2 * cfg.numLayers) : std);
    out.set(name, { data, shape: [...shape] });
  }
  return out;
}
