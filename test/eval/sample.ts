/** Shared report-test data: a small two-method run with the fake editors, and an SVG chart parser. */
import { runMethods } from '../../src/eval/lifelong.js';
import { buildResults, configHash, runVersions, type ResultsJson } from '../../src/eval/results.js';
import { FakeEditMethod, WordTokenizer, fakeRecords } from './fakes.js';

/** A small two-method run: the data behind the report tests (also used by the Chromium test). */
export async function sampleResults(): Promise<ResultsJson> {
  const tok = new WordTokenizer(1);
  const records = fakeRecords(8).map((r, i) => (i % 2 ? r : { ...r, portability: [{ prompt: `Port q${i}?`, answer: `pa${i}` }] }));
  const methods = [
    new FakeEditMethod('WISE <fake>', tok, { generalize: true, capacity: 4 }),
    new FakeEditMethod('FT-L (fake)', tok, { leakAbove: 1, capacity: 2 }),
  ];
  const runs = await runMethods(methods, { model: 'fake-model', dataset: 'fake-zsre', records, ts: [1, 2, 4, 8] });
  return buildResults(runs, {
    model: 'fake-model',
    dataset: 'fake-zsre',
    kind: 'zsre',
    seed: 7,
    configHash: configHash({ b: 1, a: [1, 2] }),
    versions: runVersions({ test: '1' }),
    createdAt: '2026-01-01T00:00:00.000Z',
    records: records.length,
    notes: ['test run with fake editors'],
  });
}

const unescapeXml = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** Parses the chart SVGs: chart id → series name → [[x, y]…]. */
export function parseCharts(html: string): Map<string, Map<string, [number, number][]>> {
  const charts = new Map<string, Map<string, [number, number][]>>();
  for (const c of html.matchAll(/<svg class="chart" data-chart="([^"]+)"[\s\S]*?<\/svg>/g)) {
    const series = new Map<string, [number, number][]>();
    for (const s of c[0].matchAll(/<g class="series" data-series="([^"]*)">([\s\S]*?)<\/g>/g)) {
      const pts = [...s[2]!.matchAll(/data-x="([^"]+)" data-y="([^"]+)"/g)].map((p) => [Number(p[1]), Number(p[2])] as [number, number]);
      series.set(unescapeXml(s[1]!), pts);
    }
    charts.set(c[1]!, series);
  }
  return charts;
}
