/**
 * The self-contained evaluation report: report.html (inline CSS and SVG, no scripts, no links, no
 * external URLs: the inline <svg> needs no xmlns inside HTML) next to results.json with the same
 * numbers. Conventions: ecosystem-notes.md §6.
 *
 * Contents: run metadata (model, dataset, seed, config hash, versions); one table row per
 * (method, T) with Rel./Gen./Loc./Port./Avg. pre and post, n, chunk counts and wall times; one chart
 * per metric of the post-edit value against T (log x), one series per method; where the dataset types its
 * questions (KnowEdit), a table of post-edit portability and locality per type.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { escapeXml as esc, renderLineChart, type Series } from './chart.js';
import type { Headline } from './metrics.js';
import { resultsToJson, type CellJson, type ResultsJson } from './results.js';
import { writeFileAtomic } from './cache.js';

/** Chartable headline columns. */
export const CHART_METRICS = ['rel', 'gen', 'loc', 'port', 'avg'] as const;
export type ChartMetric = (typeof CHART_METRICS)[number];

interface Labels {
  relIsPpl: boolean;
  ood: boolean;
}

function labelsOf(results: ResultsJson): Labels {
  const cells = results.methods.flatMap((m) => m.cells);
  return {
    relIsPpl: cells.some((c) => c.post.relIsPpl),
    ood: cells.some((c) => c.summary.post.mean.ood_acc !== undefined && c.summary.post.mean.rephrase_acc === undefined),
  };
}

function metricTitle(k: ChartMetric, l: Labels): { title: string; short: string } {
  switch (k) {
    case 'rel':
      return l.relIsPpl ? { title: 'Rewrite perplexity (rewrite_ppl, lower is better)', short: 'PPL↓' } : { title: 'Reliability (rewrite_acc)', short: 'Rel.' };
    case 'gen':
      return l.ood ? { title: 'OOD generalization (ood_acc)', short: 'OOD-Gen.' } : { title: 'Generalization (rephrase_acc)', short: 'Gen.' };
    case 'loc':
      return { title: 'Locality (agreement with unedited model)', short: 'Loc.' };
    case 'port':
      return { title: 'Portability (portability acc)', short: 'Port.' };
    case 'avg':
      return { title: 'Average of Rel., Gen., Loc.', short: 'Avg.' };
  }
}

/** The chart series for one metric: one per method, points (T, post value); methods without the metric are left out. */
export function chartSeries(results: ResultsJson, metric: ChartMetric): Series[] {
  return results.methods
    .map((m) => ({
      name: m.method,
      points: m.cells.filter((c) => isNum(c.post[metric])).map((c) => ({ x: c.T, y: c.post[metric] as number })),
    }))
    .filter((s) => s.points.length > 0);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function num(v: number | undefined, ppl = false): string {
  if (!isNum(v)) return '<td class="na">—</td>';
  return `<td>${ppl ? v.toFixed(2) : v.toFixed(3)}</td>`;
}

function secs(s: number): string {
  if (!isNum(s)) return '—';
  return s >= 3600 ? `${(s / 3600).toFixed(2)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
}

function headlineCells(pre: Headline, post: Headline, k: keyof Omit<Headline, 'relIsPpl'>, ppl: boolean): string {
  return num(pre[k], ppl) + num(post[k], ppl);
}

function row(method: string, c: CellJson, flu: boolean): string {
  const ppl = c.post.relIsPpl;
  const chunks = `${c.chunks}${c.chunksCached ? ` (${c.chunksCached} cached)` : ''} / ${c.chunksAvailable}`;
  return (
    `<tr><td class="m">${esc(method)}</td><td>${c.T}</td><td>${c.n}</td><td>${chunks}</td>` +
    headlineCells(c.pre, c.post, 'rel', ppl) +
    headlineCells(c.pre, c.post, 'gen', false) +
    num(c.post.loc) +
    headlineCells(c.pre, c.post, 'port', false) +
    (flu ? headlineCells(c.pre, c.post, 'flu', false) : '') +
    num(c.post.avg) +
    `<td>${secs(c.timing.editSeconds)}</td><td>${secs(c.timing.preSeconds + c.timing.postSeconds)}</td><td>${secs(c.timing.wallSeconds)}</td></tr>`
  );
}

function table(results: ResultsJson, l: Labels): string {
  const t = (k: ChartMetric): string => esc(metricTitle(k, l).short);
  // Fluency (n-gram entropy) only where the run measured it (wise eval --fluency)
  const flu = results.methods.some((m) => m.cells.some((c) => c.post.flu !== undefined));
  const head =
    '<tr><th rowspan="2">Method</th><th rowspan="2">T</th><th rowspan="2">n</th><th rowspan="2">chunks used / available</th>' +
    `<th colspan="2">${t('rel')}</th><th colspan="2">${t('gen')}</th><th>${t('loc')}</th><th colspan="2">${t('port')}</th>${flu ? '<th colspan="2">Flu.</th>' : ''}<th>${t('avg')}</th>` +
    '<th rowspan="2">edit time</th><th rowspan="2">eval time</th><th rowspan="2">wall time</th></tr>' +
    `<tr><th>pre</th><th>post</th><th>pre</th><th>post</th><th>post</th><th>pre</th><th>post</th>${flu ? '<th>pre</th><th>post</th>' : ''}<th>post</th></tr>`;
  const body = results.methods.flatMap((m) => m.cells.map((c) => row(m.method, c, flu))).join('\n');
  return `<table class="results"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

/**
 * Post-edit portability and locality per question type (KnowEdit's Reasoning, Subject_Aliasing, …; EasyEdit's
 * `<type>_acc` keys), one row per (method, T); empty when no cell has typed questions.
 */
function typeTable(results: ResultsJson): string {
  const cells = results.methods.flatMap((m) => m.cells.map((c) => ({ method: m.method, c })));
  const cols = (['portability_keys', 'locality_keys'] as const).flatMap((group) =>
    [...new Set(cells.flatMap(({ c }) => Object.keys(c.summary.post[group] ?? {})))].map((type) => ({ group, type })),
  );
  if (cols.length === 0) return '';
  const head = `<tr><th>Method</th><th>T</th>${cols.map((k) => `<th>${k.group === 'portability_keys' ? 'Port.' : 'Loc.'} ${esc(k.type)}</th>`).join('')}</tr>`;
  const body = cells.map(({ method, c }) => `<tr><td class="m">${esc(method)}</td><td>${c.T}</td>${cols.map((k) => num(c.summary.post[k.group]?.[k.type])).join('')}</tr>`).join('\n');
  return `<h2>By question type (post-edit)</h2>\n<table class="results types"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>
<p class="note">Each type's value is the mean over the requests that have questions of that type; a request's Port. and Loc. above are the
means over its types (run_knowedit_llama2.py's summary).</p>`;
}

function metaTable(results: ResultsJson): string {
  const m = results.meta;
  const rows: [string, string][] = [
    ['model', m.model],
    ['dataset', `${m.dataset}${m.kind ? ` (${m.kind})` : ''}`],
    ['records', `${m.records}${m.skipped ? ` (${m.skipped} skipped by the loader)` : ''}`],
    ['seed', m.seed === undefined ? '—' : String(m.seed)],
    ['config hash', m.configHash],
    ['created', m.createdAt],
    ...Object.entries(m.versions).map(([k, v]): [string, string] => [`version: ${k}`, v]),
  ];
  return `<table class="meta">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.m{text-align:left;font-weight:600}td.na{color:#999;text-align:center}
table.meta th,table.meta td{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts figure{margin:0;border:1px solid #ddd}
p.note{font-size:12px;color:#555;max-width:900px}`;

/** Renders report.html from the results object. */
export function renderReportHtml(results: ResultsJson): string {
  const l = labelsOf(results);
  const charts = CHART_METRICS.map((k) => {
    const series = chartSeries(results, k);
    if (series.length === 0) return '';
    const { title, short } = metricTitle(k, l);
    const yDomain: [number, number] | undefined = k === 'rel' && l.relIsPpl ? undefined : [0, 1];
    const spec = { id: k, title, xLabel: 'T (edits)', yLabel: short, series, logX: true, ...(yDomain ? { yDomain } : {}) };
    return `<figure>${renderLineChart(spec)}</figure>`;
  }).join('\n');
  const notes = (results.meta.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wise-edit evaluation: ${esc(results.meta.model)} on ${esc(results.meta.dataset)}</title>
<style>${CSS}</style></head><body>
<h1>wise-edit evaluation: ${esc(results.meta.model)} on ${esc(results.meta.dataset)}</h1>
${metaTable(results)}
<h2>Results</h2>
${table(results, l)}
<p class="note">Protocol: per chunk, restore the unedited model, score every request (pre), apply the chunk's T edits in sequence,
then score every request on the final model (post). Cells are means over all requests of the chunks used (the paper averages
T=1/10/100/1000 over 1000/100/10/1 chunks). Loc. is the post-edit agreement with the unedited model's argmax tokens (pre-edit it is 1 by
definition). Avg. is the mean of Rel., Gen. and Loc. (post-edit only). Flu., where measured, is the n-gram entropy of a text sampled from each
edit prompt (EasyEdit's fluency; higher is less repetitive). Times are summed over chunks; cached chunks count the time they took when computed.</p>
${typeTable(results)}
${notes}
<h2>Post-edit metrics against the number of sequential edits</h2>
<div class="charts">
${charts}
</div>
</body></html>
`;
}

/** Writes results.json and report.html into `dir`; returns their paths. */
export function writeReport(dir: string, results: ResultsJson): { resultsPath: string; htmlPath: string } {
  mkdirSync(dir, { recursive: true });
  const resultsPath = path.join(dir, 'results.json');
  const htmlPath = path.join(dir, 'report.html');
  writeFileAtomic(resultsPath, resultsToJson(results));
  writeFileAtomic(htmlPath, renderReportHtml(results));
  return { resultsPath, htmlPath };
}

/** Used by tests and the CLI to assert the report is offline: every external-reference pattern found. */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const re of [/https?:\/\//gi, /\/\/[a-z0-9.-]+\.[a-z]{2,}\//gi, /\b(?:src|href|xlink:href)\s*=/gi, /@import/gi, /url\(/gi]) {
    for (const m of html.matchAll(re)) found.push(m[0]);
  }
  return found;
}
