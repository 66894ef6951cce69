/**
 * A self-contained SVG of a training run: the loss per step (log scale) with the learning rate
 * on a second axis, and below it the fact accuracies measured during training. No external
 * resources (fonts, scripts, links): the file renders the same anywhere, GitHub included.
 */

export interface LossPoint {
  step: number;
  loss: number;
  lr: number;
}

export interface EvalPoint {
  step: number;
  train: number;
  heldOut: number;
}

export interface CurveOptions {
  title?: string;
  width?: number;
  /** final measurements drawn as labelled markers at the last step */
  final?: { train: number; heldOut: number; step: number };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (x: number): string => (Math.round(x * 10) / 10).toString();

/** Round tick values covering [lo, hi] on a linear axis. */
export function linearTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Ticks 1, 2, 5 × 10^k within [lo, hi] (lo > 0). */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** k;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(Number(v.toPrecision(6)));
    }
  }
  return out;
}

const fmtStep = (s: number): string => String(s);
const fmtLr = (v: number): string => (v === 0 ? '0' : v.toExponential(1).replace('.0e', 'e'));

/** The SVG document text. */
export function renderTrainingSvg(losses: readonly LossPoint[], evals: readonly EvalPoint[], o: CurveOptions = {}): string {
  if (losses.length === 0) throw new Error('no loss points to draw');
  const W = o.width ?? 760;
  const ml = 64, mr = 70, top = 40;
  const h1 = 250, gap = 60, h2 = 170;
  const H = top + h1 + gap + h2 + 46;
  const pw = W - ml - mr;
  const maxStep = Math.max(...losses.map((p) => p.step), ...evals.map((e) => e.step), 1);
  const x = (s: number): number => ml + (s / maxStep) * pw;

  // Panel 1: loss, log scale.
  const lossVals = losses.map((p) => p.loss).filter((v) => v > 0 && Number.isFinite(v));
  const lmin = Math.min(...lossVals), lmax = Math.max(...lossVals);
  const llo = 10 ** (Math.floor(Math.log10(lmin) * 10) / 10), lhi = 10 ** (Math.ceil(Math.log10(lmax) * 10) / 10);
  const y1 = (v: number): number => top + h1 - ((Math.log10(v) - Math.log10(llo)) / (Math.log10(lhi) - Math.log10(llo))) * h1;
  const lrMax = Math.max(...losses.map((p) => p.lr), 1e-12);
  const ylr = (v: number): number => top + h1 - (v / lrMax) * h1;

  // Panel 2: accuracy in [0, 1].
  const top2 = top + h1 + gap;
  const y2 = (v: number): number => top2 + h2 - v * h2;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  if (o.title) parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`);

  const stepTicks = linearTicks(0, maxStep, 8);
  const frame = (t: number, h: number): void => {
    for (const s of stepTicks) {
      parts.push(`<line x1="${f(x(s))}" y1="${t}" x2="${f(x(s))}" y2="${t + h}" stroke="#eeeeee"/>`);
      parts.push(`<text x="${f(x(s))}" y="${t + h + 14}" text-anchor="middle" fill="#444">${fmtStep(s)}</text>`);
    }
    parts.push(`<rect x="${ml}" y="${t}" width="${pw}" height="${h}" fill="none" stroke="#888"/>`);
  };

  // --- loss panel
  frame(top, h1);
  for (const v of logTicks(llo, lhi)) {
    parts.push(`<line x1="${ml}" y1="${f(y1(v))}" x2="${ml + pw}" y2="${f(y1(v))}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${ml - 6}" y="${f(y1(v) + 4)}" text-anchor="end" fill="#444">${v}</text>`);
  }
  for (const v of linearTicks(0, lrMax, 4)) {
    parts.push(`<text x="${ml + pw + 6}" y="${f(ylr(v) + 4)}" fill="#b07000">${fmtLr(v)}</text>`);
  }
  parts.push(`<text transform="translate(16 ${top + h1 / 2}) rotate(-90)" text-anchor="middle" fill="#1f4e9c">training loss (log scale)</text>`);
  parts.push(`<text transform="translate(${W - 12} ${top + h1 / 2}) rotate(90)" text-anchor="middle" fill="#b07000">learning rate</text>`);
  const lrPath = losses.map((p, i) => `${i ? 'L' : 'M'}${f(x(p.step))} ${f(ylr(p.lr))}`).join(' ');
  parts.push(`<path d="${lrPath}" fill="none" stroke="#e09a20" stroke-width="1.2" stroke-dasharray="4 3"/>`);
  const lossPath = losses.filter((p) => p.loss > 0 && Number.isFinite(p.loss)).map((p, i) => `${i ? 'L' : 'M'}${f(x(p.step))} ${f(y1(p.loss))}`).join(' ');
  parts.push(`<path d="${lossPath}" fill="none" stroke="#1f4e9c" stroke-width="1.3"/>`);
  const last = losses[losses.length - 1]!;
  parts.push(`<text x="${ml + pw - 6}" y="${top + 16}" text-anchor="end" fill="#1f4e9c">final loss ${last.loss.toFixed(3)} (step ${last.step})</text>`);
  parts.push(`<line x1="${ml + pw - 190}" y1="${top + 30}" x2="${ml + pw - 170}" y2="${top + 30}" stroke="#e09a20" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${ml + pw - 166}" y="${top + 34}" fill="#b07000">lr (warmup, cosine decay)</text>`);

  // --- accuracy panel
  frame(top2, h2);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${ml}" y1="${f(y2(v))}" x2="${ml + pw}" y2="${f(y2(v))}" stroke="#eeeeee"/>`);
    parts.push(`<text x="${ml - 6}" y="${f(y2(v) + 4)}" text-anchor="end" fill="#444">${v}</text>`);
  }
  parts.push(`<text transform="translate(16 ${top2 + h2 / 2}) rotate(-90)" text-anchor="middle">fact accuracy</text>`);
  const series: [keyof Omit<EvalPoint, 'step'>, string, string][] = [
    ['train', '#2a8a3a', 'training phrasings'],
    ['heldOut', '#c0392b', 'held-out phrasings'],
  ];
  series.forEach(([k, color, label], si) => {
    if (evals.length > 0) {
      const d = evals.map((e, i) => `${i ? 'L' : 'M'}${f(x(e.step))} ${f(y2(e[k]))}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
      for (const e of evals) parts.push(`<circle cx="${f(x(e.step))}" cy="${f(y2(e[k]))}" r="2.8" fill="${color}"/>`);
    }
    const ly = top2 + 14 + si * 16;
    parts.push(`<line x1="${ml + 10}" y1="${ly - 4}" x2="${ml + 30}" y2="${ly - 4}" stroke="${color}" stroke-width="1.5"/>`);
    parts.push(`<text x="${ml + 34}" y="${ly}" fill="${color}">${label} (200-fact samples during training)</text>`);
    if (o.final) {
      const v = o.final[k];
      parts.push(`<rect x="${f(x(o.final.step) - 4)}" y="${f(y2(v) - 4)}" width="8" height="8" fill="none" stroke="${color}" stroke-width="1.5"/>`);
      parts.push(`<text x="${f(x(o.final.step) - 8)}" y="${f(y2(v) + (k === 'train' ? 16 : -8))}" text-anchor="end" fill="${color}">all facts: ${v.toFixed(3)}</text>`);
    }
  });
  parts.push(`<text x="${ml + pw / 2}" y="${H - 8}" text-anchor="middle" fill="#444">optimizer step</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
