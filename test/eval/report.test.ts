/**
 * report.html / results.json: structure (one series per method per chart, points equal to
 * results.json), tables, metadata, and the offline rule.
 *
 * Offline rule: the report may contain no "http://" or "https://" at all, no src/href attributes,
 * no @import and no url(). The inline SVG carries no xmlns (inside HTML the parser assigns the SVG
 * namespace), so even the namespace string is absent and the check needs no exception.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeXml, renderLineChart } from '../../src/eval/chart.js';
import { CHART_METRICS, chartSeries, externalReferences, renderReportHtml, writeReport, type ChartMetric } from '../../src/eval/report.js';
import { configHash, type ResultsJson } from '../../src/eval/results.js';
import { parseCharts, sampleResults } from './sample.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'wise-eval-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('report', () => {
  let results: ResultsJson;
  let html: string;
  let json: ResultsJson;
  beforeAll(async () => {
    results = await sampleResults();
    const out = writeReport(path.join(tmp, 'r1'), results);
    html = readFileSync(out.htmlPath, 'utf8');
    json = JSON.parse(readFileSync(out.resultsPath, 'utf8')) as ResultsJson;
  });

  it('results.json holds the run: schema, meta, methods × T cells with pre/post headlines, chunk counts, timing', () => {
    expect(json.schema).toBe('wise-edit/eval-results@1');
    expect(json.meta).toMatchObject({ model: 'fake-model', seed: 7, configHash: configHash({ a: [1, 2], b: 1 }) });
    expect(json.meta.versions.node).toBe(process.version);
    expect(json.meta.versions['wise-edit']).toMatch(/^\d+\.\d+\.\d+/);
    expect(json.methods.map((m) => m.method)).toEqual(['WISE <fake>', 'FT-L (fake)']);
    const cell = json.methods[0]!.cells[2]!;
    expect(cell).toMatchObject({ T: 4, n: 4, chunks: 1, chunksAvailable: 2 });
    expect(cell.post).toMatchObject({ rel: 1, gen: 1, loc: 1 });
    expect(cell.requests).toHaveLength(4);
    expect(json.methods[1]!.cells.map((c) => c.post.loc)).toEqual([1, 0, 0, 0]);
  });

  it('one chart per available metric, one series per method, points equal to results.json', () => {
    const charts = parseCharts(html);
    expect([...charts.keys()]).toEqual([...CHART_METRICS]);
    for (const k of CHART_METRICS) {
      const series = charts.get(k)!;
      expect([...series.keys()]).toEqual(json.methods.map((m) => m.method));
      for (const m of json.methods) {
        const want = m.cells.filter((c) => typeof c.post[k as ChartMetric] === 'number').map((c) => [c.T, c.post[k as ChartMetric]]);
        expect(series.get(m.method), `${k} / ${m.method}`).toEqual(want);
      }
    }
    expect(chartSeries(json, 'port')[0]!.points.map((p) => p.x)).toEqual([1, 2, 4, 8]);
  });

  it('table: one row per method × T with pre/post columns, chunk counts and times; names are escaped', () => {
    const rows = [...html.matchAll(/<tr><td class="m">([^<]*)<\/td><td>(\d+)<\/td><td>(\d+)<\/td><td>([^<]*)<\/td>/g)];
    expect(rows).toHaveLength(8);
    expect(rows[0]!.slice(1)).toEqual(['WISE &lt;fake&gt;', '1', '8', '8 / 8']);
    expect(html).toContain('<th colspan="2">Rel.</th><th colspan="2">Gen.</th><th>Loc.</th><th colspan="2">Port.</th><th>Avg.</th>');
    expect(html).toContain(json.meta.configHash);
    expect(html).not.toContain('WISE <fake>');
  });

  it('is offline: no external URL, link, import or url() anywhere (and no xmlns needed)', () => {
    expect(externalReferences(html)).toEqual([]);
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toContain('<script');
    expect(externalReferences('<img src="x"> http://cdn.example.com/v.js url(x)')).toEqual(['http://', '//cdn.example.com/', 'src=', 'url(']);
  });

  it('renders the same HTML from results.json as from the in-memory results', () => {
    expect(renderReportHtml(json)).toBe(html);
  });

  it('typed questions (KnowEdit): a table of post-edit values per type, one row per method × T; none without types', () => {
    expect(html).not.toContain('By question type');
    const r: ResultsJson = JSON.parse(JSON.stringify(results));
    r.methods[0]!.cells.forEach((c, i) => {
      c.summary.post.portability_keys = { reasoning_acc: 0.25 * i, Subject_Aliasing_acc: 1 };
      c.summary.post.locality_keys = { Forgetfulness_acc: 0.5 };
    });
    r.methods[1]!.cells[0]!.summary.post.locality_keys = { Relation_Specificity_acc: 0.125 };
    const out = renderReportHtml(r);
    const table = out.slice(out.indexOf('By question type'));
    expect(table).toContain('<tr><th>Method</th><th>T</th><th>Port. reasoning_acc</th><th>Port. Subject_Aliasing_acc</th><th>Loc. Forgetfulness_acc</th><th>Loc. Relation_Specificity_acc</th></tr>');
    expect(table).toContain('<tr><td class="m">WISE &lt;fake&gt;</td><td>4</td><td>0.500</td><td>1.000</td><td>0.500</td><td class="na">—</td></tr>');
    expect(table).toContain('<tr><td class="m">FT-L (fake)</td><td>1</td><td class="na">—</td><td class="na">—</td><td class="na">—</td><td>0.125</td></tr>');
    expect(table.match(/<tr><td class="m">/g)).toHaveLength(8);
  });

  it('PPL runs (hallucination) chart Rel. on a free y scale and leave Avg. out', () => {
    const r: ResultsJson = JSON.parse(JSON.stringify(results));
    for (const m of r.methods) for (const c of m.cells) c.post = { relIsPpl: true, rel: 40 / c.T, loc: 1 };
    const out = renderReportHtml(r);
    const charts = parseCharts(out);
    expect([...charts.keys()]).toEqual(['rel', 'loc']);
    expect(out).toContain('Rewrite perplexity');
    expect(out).toContain('>50<'); // nice(40) y tick
  });
});

describe('chart', () => {
  it('log-x positions, breaks at NaN, escapes names', () => {
    const svg = renderLineChart({ id: 'c', title: 'T', xLabel: 'x', yLabel: 'y', yDomain: [0, 1], series: [{ name: 'a&b', points: [{ x: 1, y: 0 }, { x: 10, y: NaN }, { x: 100, y: 1 }] }] });
    expect(svg).toContain('data-series="a&amp;b"');
    const cx = [...svg.matchAll(/cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(cx).toEqual([56, 340]); // left margin 56 and right edge 480 − 140 (legend); the NaN point is dropped
    expect(svg).toMatch(/<path d="M56\.0 \d+\.\dM340\.0/); // pen lifted over the gap
    expect(escapeXml(`<"'&>`)).toBe('&lt;&quot;&#39;&amp;&gt;');
  });
});
