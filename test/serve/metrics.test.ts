/**
 * GET /metrics: the registry's Prometheus text format (src/serve/metrics.ts), and the server's
 * counters against the traffic that produced them (FakeService over real HTTP on port 0, so a
 * hijacked stream is counted when its connection closes, as in production).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry, escapeLabel } from '../../src/serve/metrics.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { openWiseApp } from '../helpers/wise-app.js';
import { FakeService } from './fake-service.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';

/** Parses the text format: every line is a comment (# HELP / # TYPE) or `name{labels} value`; returns series → value. */
function parse(text: string): Map<string, number> {
  expect(text.endsWith('\n')).toBe(true);
  const out = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const c = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (c) {
      if (c[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram']).toContain(c[3]);
        types.set(c[2]!, c[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (\S+)$/.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    const base = m![1]!.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(m![1]!) || types.get(base) === 'histogram', `${line}: no TYPE before it`).toBe(true);
    expect(out.has(m![1]! + (m![2] ?? '')), `duplicate series ${line}`).toBe(false);
    out.set(m![1]! + (m![2] ?? ''), m![3] === '+Inf' ? Infinity : Number(m![3]));
  }
  return out;
}

describe('MetricsRegistry: the text format', () => {
  it('renders counters, histograms (cumulative buckets, +Inf, sum, count) and gauges, with escaped labels', () => {
    const r = new MetricsRegistry();
    const c = r.counter('t_requests_total', 'Requests.', ['route', 'status']);
    const h = r.histogram('t_seconds', 'Durations.', ['route'], [0.1, 1]);
    r.gauge('t_pending', 'Pending.', [], () => [[{}, 3]]);
    c.inc({ route: '/a', status: '200' });
    c.inc({ route: '/a', status: '200' }, 2);
    c.inc({ route: 'q"u\\o\nte', status: '500' });
    for (const v of [0.05, 0.1, 0.5, 7]) h.observe({ route: '/a' }, v);
    const s = parse(r.render());
    expect(s.get('t_requests_total{route="/a",status="200"}')).toBe(3);
    expect(s.get(`t_requests_total{route="${escapeLabel('q"u\\o\nte')}",status="500"}`)).toBe(1);
    expect(escapeLabel('q"u\\o\nte')).toBe('q\\"u\\\\o\\nte');
    expect(s.get('t_seconds_bucket{route="/a",le="0.1"}')).toBe(2); // 0.05 and 0.1 (le: less than or equal)
    expect(s.get('t_seconds_bucket{route="/a",le="1"}')).toBe(3);
    expect(s.get('t_seconds_bucket{route="/a",le="+Inf"}')).toBe(4);
    expect(s.get('t_seconds_count{route="/a"}')).toBe(4);
    expect(s.get('t_seconds_sum{route="/a"}')).toBeCloseTo(7.65, 10);
    expect(s.get('t_pending')).toBe(3);
  });

  it('refuses bad names, labels, buckets and negative increments', () => {
    const r = new MetricsRegistry();
    r.counter('ok_total', 'x');
    expect(() => r.counter('ok_total', 'x')).toThrow(/taken/);
    expect(() => r.counter('bad-name', 'x')).toThrow(/invalid/);
    expect(() => r.counter('a_total', 'x', ['le'])).toThrow(/label/);
    expect(() => r.histogram('h', 'x', [], [1, 1])).toThrow(/increasing/);
    const c = r.counter('b_total', 'x', ['k']);
    expect(() => c.inc({ k: 'v' }, -1)).toThrow(/≥ 0/);
    expect(() => c.inc({ other: 'v' })).toThrow(/unknown label/);
  });
});

describe('GET /metrics on the server', () => {
  let server: RunningServer;
  let service: FakeService;
  const TOKEN = 'metrics-token';
  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(server.url + path, { ...init, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });
  const post = (path: string, body: unknown): Promise<Response> => call(path, { method: 'POST', body: JSON.stringify(body) });

  beforeAll(async () => {
    service = new FakeService({ tickMs: 0, editDelayMs: 0 });
    server = await startServer({ service, port: 0, token: TOKEN, stderr: { write: () => true } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('counts requests, tokens, the memory that answered each choice, and write jobs', async () => {
    const model = service.baseName;
    const before = parse(await (await call('/metrics')).text());
    expect(before.get('wise_jobs_pending')).toBe(0);
    expect(before.get('wise_edits_applied')).toBe(0);

    const edit = await post('/wise/edits?wait=true', { prompt: 'The sky is', target: 'green' });
    expect(edit.status).toBe(200);
    const bodies: Record<string, any>[] = [];
    for (const prompt of ['The sky is', 'Hello', ['The sky is', 'Hi']]) {
      const r = await post('/v1/completions', { model, prompt, max_tokens: 10, temperature: 0 });
      expect(r.status).toBe(200);
      bodies.push(await r.json());
    }
    const stream = await post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    const events = (await stream.text()).split('\n\n').filter((e) => e.startsWith('data: {'));
    const streamUsage = JSON.parse(events.at(-1)!.slice(6)).usage as { prompt_tokens: number; completion_tokens: number };
    expect((await post('/v1/completions', { model, prompt: 'x', top_k: -5 })).status).toBe(400);
    expect((await post('/wise/merge', {})).status).toBeLessThan(300);

    const s = parse(await (await call('/metrics')).text());
    expect(s.get('wise_http_requests_total{route="/v1/completions",method="POST",status="200"}')).toBe(3);
    expect(s.get('wise_http_requests_total{route="/v1/completions",method="POST",status="400"}')).toBe(1);
    expect(s.get('wise_http_requests_total{route="/v1/chat/completions",method="POST",status="200"}')).toBe(1);
    expect(s.get('wise_http_requests_total{route="/wise/edits",method="POST",status="200"}')).toBe(1);
    expect(s.get('wise_http_requests_total{route="/metrics",method="GET",status="200"}')).toBe(1); // the first scrape
    expect(s.get('wise_http_request_duration_seconds_count{route="/v1/completions"}')).toBe(4);
    expect(s.get('wise_http_request_duration_seconds_bucket{route="/v1/completions",le="+Inf"}')).toBe(4);

    const usage = bodies.map((b) => b.usage as { prompt_tokens: number; completion_tokens: number });
    expect(s.get('wise_prompt_tokens_total')).toBe(usage.reduce((a, u) => a + u.prompt_tokens, 0) + streamUsage.prompt_tokens);
    expect(s.get('wise_generation_tokens_total')).toBe(usage.reduce((a, u) => a + u.completion_tokens, 0) + streamUsage.completion_tokens);
    // by memory: the edited prompt twice from its memory, the rest from main
    const memories = bodies.flatMap((b) => (b.wise.memories as string[] | undefined) ?? [b.wise.memory as string]);
    expect(memories.filter((m) => m !== 'main')).toHaveLength(2);
    const side = memories.find((m) => m !== 'main')!;
    expect(s.get(`wise_sequences_total{endpoint="/v1/completions",memory="${side}",finish_reason="stop"}`)).toBe(2);
    expect(s.get('wise_sequences_total{endpoint="/v1/completions",memory="main",finish_reason="length"}')).toBe(2);
    expect(s.get('wise_sequences_total{endpoint="/v1/chat/completions",memory="main",finish_reason="length"}')).toBe(1);
    expect(s.get('wise_jobs_total{kind="edit",status="done"}')).toBe(1);
    expect(s.get('wise_jobs_total{kind="merge",status="done"}')).toBe(1);
    expect(s.get('wise_edits_applied')).toBe(1);
    expect(s.get('wise_jobs_pending')).toBe(0);
    expect(s.get('wise_time_to_first_token_seconds_count')).toBeUndefined(); // the fake measures no token times
  });

  it('needs the token on a non-loopback bind, as the OpenAI routes do', async () => {
    const open = await startServer({ service: new FakeService(), host: '0.0.0.0', port: 0, token: TOKEN, stderr: { write: () => true } });
    try {
      const url = open.url.replace('0.0.0.0', '127.0.0.1');
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    } finally {
      await open.close();
    }
  });
});

describeShared(
  'GET /metrics on the real service (tiny-llama)',
  () => {
    it('reports the decode batch rows and the choices the router sent to main', async () => {
      const w = await openWiseApp(hfFixtureDir('tiny-llama'), { batchSize: 2 });
      const { service, app } = w;
      try {
        let scraped: Map<string, number> | undefined;
        // scrape while 3 choices decode two at a time: one waits for a slot
        const scrape = async (): Promise<void> => {
          while (service.load().running === 0) await new Promise((r) => setImmediate(r));
          scraped = parse((await app.inject({ method: 'GET', url: '/metrics' })).body);
        };
        const [r] = await Promise.all([app.inject({ method: 'POST', url: '/v1/completions', payload: { model: service.baseName, prompt: 'Hello', n: 3, max_tokens: 24, temperature: 0 } }), scrape()]);
        expect(r.statusCode, r.body).toBe(200);
        expect(scraped!.get('wise_decode_rows{state="running"}')).toBe(2);
        expect(scraped!.get('wise_decode_rows{state="waiting"}')).toBe(1);
        const s = parse((await app.inject({ method: 'GET', url: '/metrics' })).body);
        expect(s.get('wise_decode_rows{state="running"}')).toBe(0);
        expect(s.get('wise_sequences_total{endpoint="/v1/completions",memory="main",finish_reason="length"}')).toBe(3); // no edits: main answers
        expect(s.get('wise_generation_tokens_total')).toBe(r.json().usage.completion_tokens);
        expect(s.get('wise_http_requests_total{route="/v1/completions",method="POST",status="200"}')).toBe(1);
        // first-token and per-token latency of the 3 choices: each first token came before its request ended
        expect(s.get('wise_time_to_first_token_seconds_count')).toBe(3);
        expect(s.get('wise_time_per_output_token_seconds_count')).toBe(3);
        const ttft = s.get('wise_time_to_first_token_seconds_sum')!;
        expect(ttft).toBeGreaterThan(0);
        expect(ttft).toBeLessThan(3 * s.get('wise_http_request_duration_seconds_sum{route="/v1/completions"}')!);
        expect(s.get('wise_time_per_output_token_seconds_sum')).toBeGreaterThan(0);
      } finally {
        await w.close();
      }
    });
  },
  ['fixtures/hf/tiny-llama'],
);
