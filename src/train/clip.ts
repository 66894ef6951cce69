/** Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_): scales all grads by min(1, max/‖g‖). */
export function clipGradNorm(grads: Map<string, Float32Array>, maxNorm: number): number {
  let sq = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sq += (g[i] as number) * (g[i] as number);
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / norm;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * s;
  }
  return norm;
}
