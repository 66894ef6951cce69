/** Learning-rate schedule: linear warmup to `peak`, then cosine decay to `peak·minRatio` at `total`. */
export interface ScheduleOptions {
  peak: number;
  warmup: number;
  total: number;
  minRatio: number;
}

export function lrAt(step: number, o: ScheduleOptions): number {
  if (step < o.warmup) return (o.peak * (step + 1)) / o.warmup;
  const t = Math.min(1, (step - o.warmup) / Math.max(1, o.total - o.warmup));
  const min = o.peak * o.minRatio;
  return min + 0.5 * (o.peak - min) * (1 + Math.cos(Math.PI * t));
}
