/**
 * Opens report.html in headless Chromium and checks the charts really render: every chart is an SVG
 * element (namespace assigned by the HTML parser, since the report writes no xmlns), with a non-zero
 * box, series paths of non-zero length and visible point markers; plus a screenshot that is a real PNG.
 *
 * The report itself has no script: the test renders a copy with a tiny probe script appended that
 * writes the measurements into the DOM, and reads them back with --dump-dom.
 * Skipped, with the reason printed, when no `chromium` binary is on PATH (or in $CHROMIUM).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/eval/report.js';
import { sampleResults } from './sample.js';

function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync('which', [c], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

const chromium = findChromium();
if (!chromium) console.warn('[skip] "report renders in headless Chromium": no chromium on PATH (apt-get install -y chromium, or set $CHROMIUM)');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage', '--no-first-run', '--hide-scrollbars'];

const PROBE = `<script>
const charts = [...document.querySelectorAll('svg.chart')].map((s) => {
  const r = s.getBoundingClientRect();
  return {
    id: s.dataset.chart, ns: s.namespaceURI, w: r.width, h: r.height,
    paths: [...s.querySelectorAll('g.series path')].map((p) => p.getTotalLength()),
    points: [...s.querySelectorAll('circle.pt')].map((c) => { const b = c.getBoundingClientRect(); return b.width * b.height; }),
  };
});
const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(charts); document.body.appendChild(pre);
</script>`;

interface Probe {
  id: string;
  ns: string;
  w: number;
  h: number;
  paths: number[];
  points: number[];
}

describe.skipIf(!chromium)('report renders in headless Chromium', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'wise-eval-chromium-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('charts have non-zero size, drawn lines and visible points', async () => {
    const { htmlPath } = writeReport(tmp, await sampleResults());
    const probed = path.join(tmp, 'probe.html');
    writeFileSync(probed, readFileSync(htmlPath, 'utf8').replace('</body>', `${PROBE}</body>`));
    const r = spawnSync(chromium!, [...FLAGS, '--dump-dom', pathToFileURL(probed).href], { encoding: 'utf8', timeout: 90_000 });
    const m = /<pre id="probe">([^<]*)<\/pre>/.exec(r.stdout ?? '');
    expect(m, `no probe output; chromium exit ${r.status}: ${(r.stderr ?? '').slice(-800)}`).not.toBeNull();
    const charts = JSON.parse(m![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Probe[];
    expect(charts.map((c) => c.id)).toEqual(['rel', 'gen', 'loc', 'port', 'avg']);
    for (const c of charts) {
      expect(c.ns).toBe('http://www.w3.org/2000/svg');
      expect(c.w).toBeGreaterThan(100);
      expect(c.h).toBeGreaterThan(100);
      expect(c.paths).toHaveLength(2); // one series per method
      for (const len of c.paths) expect(len).toBeGreaterThan(0);
      expect(c.points.length).toBeGreaterThanOrEqual(8);
      for (const area of c.points) expect(area).toBeGreaterThan(0);
    }
  });

  it('takes a non-trivial screenshot of the report', async () => {
    const { htmlPath } = writeReport(path.join(tmp, 'shot'), await sampleResults());
    const png = path.join(tmp, 'report.png');
    const r = spawnSync(chromium!, [...FLAGS, `--screenshot=${png}`, '--window-size=1400,1600', pathToFileURL(htmlPath).href], { encoding: 'utf8', timeout: 90_000 });
    expect(r.status, (r.stderr ?? '').slice(-800)).toBe(0);
    const head = readFileSync(png).subarray(0, 8);
    expect([...head]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(statSync(png).size).toBeGreaterThan(20_000);
  });
});
