/**
 * Hand-written SVG line charts for the eval report (chosen over vega-lite: no 42 MB dependency,
 * deterministic output that tests can read back).
 *
 * The SVG is meant to be inlined in HTML, where the HTML parser puts <svg> in the SVG namespace by
 * itself, so no xmlns attribute is written and the report contains no "http://" string at all.
 *
 * Structure (tests rely on it):
 *   <svg class="chart" data-chart=ID width=W height=H viewBox="0 0 W H">
 *     <g class="series" data-series=NAME> <path/> <circle class="pt" data-x=T data-y=VALUE/>… </g>…
 *     <g class="legend">…</g>
 *   </svg>
 */

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
}

export interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed y range (e.g. [0, 1] for accuracies); otherwise [0, nice(max)]. */
  yDomain?: [number, number];
  logX?: boolean;
  width?: number;
  height?: number;
}

/** Tableau 10: distinguishable series colors. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString());
const px = (v: number): string => v.toFixed(1);

/** Rounds `max` up to 1, 2 or 5 × 10^k. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

export function renderLineChart(spec: ChartSpec): string {
  const W = spec.width ?? 480;
  const H = spec.height ?? 300;
  const m = { left: 56, right: 140, top: 34, bottom: 46 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const logX = (spec.logX ?? true) && pts.every((p) => p.x > 0);
  const tx = (x: number): number => (logX ? Math.log10(x) : x);

  // x: data extent (padded when a single value); ticks at the distinct x values of the data.
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  let x0 = xs.length ? tx(xs[0] as number) : 0;
  let x1 = xs.length ? tx(xs[xs.length - 1] as number) : 1;
  if (x1 === x0) (x0 -= 0.5), (x1 += 0.5);
  const sx = (x: number): number => m.left + ((tx(x) - x0) / (x1 - x0)) * iw;

  const [y0, y1] = spec.yDomain ?? [0, niceMax(Math.max(0, ...pts.map((p) => p.y)))];
  const sy = (y: number): number => m.top + ih - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * ih;
  const yTicks = Array.from({ length: 6 }, (_, i) => y0 + ((y1 - y0) * i) / 5);

  const out: string[] = [];
  out.push(`<svg class="chart" data-chart="${escapeXml(spec.id)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(spec.title)}">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="8" y="20" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`);
  // Grid and axes.
  out.push('<g class="axis y">');
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" x2="${m.left + iw}" y1="${px(sy(t))}" y2="${px(sy(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${px(sy(t) + 4)}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  out.push(`<text transform="translate(14 ${m.top + ih / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.yLabel)}</text>`);
  out.push('</g><g class="axis x">');
  out.push(`<line x1="${m.left}" x2="${m.left + iw}" y1="${m.top + ih}" y2="${m.top + ih}" stroke="#333"/>`);
  for (const x of xs) {
    out.push(`<line x1="${px(sx(x))}" x2="${px(sx(x))}" y1="${m.top + ih}" y2="${m.top + ih + 4}" stroke="#333"/>`);
    out.push(`<text x="${px(sx(x))}" y="${m.top + ih + 16}" text-anchor="middle" font-size="11">${fmt(x)}</text>`);
  }
  const xl = logX ? `${spec.xLabel} (log scale)` : spec.xLabel;
  out.push(`<text x="${m.left + iw / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${escapeXml(xl)}</text>`);
  out.push('</g>');

  // Series: a polyline broken at missing values, and one marker per point.
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    let d = '';
    let pen = false;
    for (const p of sorted) {
      if (!Number.isFinite(p.y) || !Number.isFinite(p.x)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${px(sx(p.x))} ${px(sy(p.y))}`;
      pen = true;
    }
    out.push(`<g class="series" data-series="${escapeXml(s.name)}">`);
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of sorted) {
      if (!Number.isFinite(p.y) || !Number.isFinite(p.x)) continue;
      out.push(
        `<circle class="pt" data-x="${p.x}" data-y="${p.y}" cx="${px(sx(p.x))}" cy="${px(sy(p.y))}" r="3.5" fill="${color}">` +
          `<title>${escapeXml(`${s.name}, ${spec.xLabel} ${fmt(p.x)}: ${fmt(p.y)}`)}</title></circle>`,
      );
    }
    out.push('</g>');
  });

  // Legend, right of the plot.
  out.push('<g class="legend">');
  spec.series.forEach((s, i) => {
    const y = m.top + 8 + i * 18;
    const color = PALETTE[i % PALETTE.length] as string;
    out.push(`<rect x="${W - m.right + 12}" y="${y - 8}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${W - m.right + 30}" y="${y + 2}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  out.push('</g></svg>');
  return out.join('\n');
}
