/**
 * `npm run bench:serve`: concurrent HTTP clients against `wise serve` (startServer on port 0),
 * with edits interleaved on the routed model, then the same load on the plain model, in one
 * process so the two share a machine state. Each client cycles through a completion, a
 * streamed completion and a chat completion, over prompts that mix edited facts and others.
 * Prints throughput, p50/p99 latency and the error count (which must be 0: exit 1 otherwise),
 * then routed-vs-plain latency ratios.
 *
 * The services come from a factory: `runServeBench(factory)`. Run directly, it loads
 * `createBenchServices` from the module named by SERVE_BENCH_FACTORY (a path), or else uses
 * the FakeService test double, which measures the HTTP layer only.
 * Env: SERVE_BENCH_CLIENTS (8), SERVE_BENCH_REQUESTS per client (30), SERVE_BENCH_EDIT_EVERY
 * (an edit after every N finished requests; 10), SERVE_BENCH_MAX_TOKENS (16), SERVE_BENCH_TEMPERATURE (0 =
 * greedy), SERVE_BENCH_TOP_P (1), SERVE_BENCH_IGNORE_EOS (1 = every request decodes max_tokens: the bundled
 * model's fact answers end with EOS after 2–3 tokens).
 */
import { pathToFileURL } from 'node:url';
import * as path from 'node:path';
import type { EditRequest } from '../src/edits/request.js';
import type { ModelService } from '../src/serve/service.js';
import { startServer } from '../src/serve/index.js';

export interface BenchServices {
  /** the edited model: base + memories + router */
  routed: ModelService;
  /** the same base model without side memories / routing */
  plain: ModelService;
  /** printed with the results */
  label: string;
  /** edits to apply on the routed model during its run (cycled if the run needs more) */
  edits: EditRequest[];
  close?: () => Promise<void>;
}
export type BenchFactory = () => Promise<BenchServices>;

export interface BenchOptions {
  clients: number;
  requestsPerClient: number;
  editEvery: number;
  maxTokens: number;
  /** sampling of every request: temperature (0 = greedy), top_p, and ignore_eos */
  sampling?: { temperature: number; top_p: number; ignore_eos: boolean };
}

interface RunStats {
  requests: number;
  errors: number;
  wallMs: number;
  latencies: number[];
  edits: number;
  editLatencies: number[];
  /** latencies of the edits that finished while requests were still running (the others trained on an idle server) */
  editLatenciesUnderLoad: number[];
  errorSamples: string[];
}

const TOKEN = 'bench-token';

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

async function oneRequest(url: string, model: string, i: number, prompt: string, maxTokens: number, sampling: BenchOptions['sampling']): Promise<void> {
  const kind = i % 3;
  const common = { model, max_tokens: maxTokens, ...(sampling ?? { temperature: 0 }), ...(sampling && sampling.temperature > 0 ? { seed: i } : {}) };
  const [route, body] =
    kind === 2
      ? ['/v1/chat/completions', { ...common, messages: [{ role: 'user', content: prompt }] }]
      : ['/v1/completions', { ...common, prompt, stream: kind === 1 }];
  const r = await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${route} ${r.status}: ${text.slice(0, 200)}`);
  if (kind === 1 && !text.trimEnd().endsWith('data: [DONE]')) throw new Error('stream did not end with [DONE]');
  if (kind === 1 && text.includes('"error"')) throw new Error(`stream error: ${text.slice(-300)}`);
}

async function runOne(service: ModelService, opts: BenchOptions, edits: EditRequest[], prompts: string[]): Promise<RunStats> {
  const server = await startServer({ service, port: 0, token: TOKEN, stderr: { write: () => true } });
  const stats: RunStats = { requests: 0, errors: 0, wallMs: 0, latencies: [], edits: 0, editLatencies: [], editLatenciesUnderLoad: [], errorSamples: [] };
  const fail = (e: unknown): void => {
    stats.errors++;
    if (stats.errorSamples.length < 5) stats.errorSamples.push(e instanceof Error ? e.message : String(e));
  };
  // the model id changes with each edit: clients ask with the bare base name, always valid
  const model = service.baseName;
  try {
    for (let i = 0; i < 3; i++) await oneRequest(server.url, model, i, prompts[0] as string, opts.maxTokens, opts.sampling).catch(fail); // warm-up
    stats.errors = 0;
    let finished = 0;
    let loaded = true;
    let editChain: Promise<void> = Promise.resolve();
    const queueEdit = (): void => {
      const edit = edits[stats.edits % Math.max(1, edits.length)];
      if (!edit) return;
      stats.edits++;
      editChain = editChain.then(async () => {
        const t0 = performance.now();
        const r = await fetch(`${server.url}/wise/edits?wait=true`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(edit),
        });
        const text = await r.text();
        if (r.status !== 200) throw new Error(`edit ${r.status}: ${text.slice(0, 200)}`);
        stats.editLatencies.push(performance.now() - t0);
        if (loaded) stats.editLatenciesUnderLoad.push(performance.now() - t0);
      }).catch(fail);
    };
    const t0 = performance.now();
    const client = async (c: number): Promise<void> => {
      for (let k = 0; k < opts.requestsPerClient; k++) {
        const i = c * opts.requestsPerClient + k;
        const t = performance.now();
        try {
          await oneRequest(server.url, model, i, prompts[i % prompts.length] as string, opts.maxTokens, opts.sampling);
          stats.latencies.push(performance.now() - t);
        } catch (e) {
          fail(e);
        }
        stats.requests++;
        if (edits.length > 0 && ++finished % opts.editEvery === 0) queueEdit();
      }
    };
    await Promise.all(Array.from({ length: opts.clients }, (_, c) => client(c)));
    stats.wallMs = performance.now() - t0;
    loaded = false;
    await editChain;
  } finally {
    await server.close();
  }
  stats.latencies.sort((a, b) => a - b);
  stats.editLatencies.sort((a, b) => a - b);
  stats.editLatenciesUnderLoad.sort((a, b) => a - b);
  return stats;
}

const ms = (x: number): string => `${x.toFixed(1)} ms`;

function report(name: string, s: RunStats): void {
  const rps = (s.requests / s.wallMs) * 1000;
  const under = s.editLatenciesUnderLoad;
  const edits = s.edits > 0 ? `; edits ${s.editLatencies.length}/${s.edits} applied (p50 ${ms(quantile(s.editLatencies, 0.5))}; ${under.length} finished under load, p50 ${ms(quantile(under, 0.5))})` : '';
  console.log(
    `${name.padEnd(7)} ${s.requests} requests in ${(s.wallMs / 1000).toFixed(2)} s → ${rps.toFixed(1)} req/s; ` +
      `p50 ${ms(quantile(s.latencies, 0.5))}, p99 ${ms(quantile(s.latencies, 0.99))}${edits}; errors ${s.errors}`,
  );
  for (const e of s.errorSamples) console.log(`  error: ${e}`);
}

export async function runServeBench(factory: BenchFactory, opts: BenchOptions): Promise<number> {
  const services = await factory();
  try {
    const prompts = [...services.edits.map((e) => e.prompt), 'Hello there', 'The weather today is', 'Once upon a time'];
    console.log(
      `serve bench (${services.label}): ${opts.clients} clients × ${opts.requestsPerClient} requests, ` +
        `max_tokens ${opts.maxTokens}${opts.sampling ? `, temperature ${opts.sampling.temperature}, top_p ${opts.sampling.top_p}${opts.sampling.ignore_eos ? ', ignore_eos' : ''}` : ', greedy'}, an edit every ${opts.editEvery} requests on the routed model`,
    );
    const routed = await runOne(services.routed, opts, services.edits, prompts);
    report('routed', routed);
    const plain = await runOne(services.plain, opts, [], prompts);
    report('plain', plain);
    const ratio = (q: number): string => (quantile(routed.latencies, q) / quantile(plain.latencies, q)).toFixed(2);
    console.log(`routed/plain latency: p50 ${ratio(0.5)}×, p99 ${ratio(0.99)}×`);
    const errors = routed.errors + plain.errors;
    console.log(`errors: ${errors}${errors === 0 ? '' : ' (must be 0)'}`);
    return errors;
  } finally {
    await services.close?.();
  }
}

async function fakeFactory(): Promise<BenchServices> {
  const { FakeService } = await import('../test/serve/fake-service.js');
  const edits = Array.from({ length: 50 }, (_, i) => ({ prompt: `Fact number ${i} is`, target: `value ${i}` }));
  return {
    routed: new FakeService({ tickMs: 0, editDelayMs: 5 }),
    plain: new FakeService({ tickMs: 0 }),
    label: 'FakeService test double: measures the HTTP layer only, not a model',
    edits,
  };
}

async function main(): Promise<void> {
  const env = (k: string, d: number): number => {
    const v = Number(process.env[k] ?? d);
    return Number.isFinite(v) && v > 0 ? v : d;
  };
  const opts: BenchOptions = {
    clients: env('SERVE_BENCH_CLIENTS', 8),
    requestsPerClient: env('SERVE_BENCH_REQUESTS', 30),
    editEvery: env('SERVE_BENCH_EDIT_EVERY', 10),
    maxTokens: env('SERVE_BENCH_MAX_TOKENS', 16),
  };
  const temperature = Number(process.env.SERVE_BENCH_TEMPERATURE ?? 0);
  const ignoreEos = process.env.SERVE_BENCH_IGNORE_EOS === '1';
  if (temperature > 0 || ignoreEos) opts.sampling = { temperature, top_p: Number(process.env.SERVE_BENCH_TOP_P ?? 1), ignore_eos: ignoreEos };
  // Default: the bundled model (bench/serve-wise.ts); SERVE_BENCH_FAKE=1 measures the HTTP layer alone.
  const mod = process.env.SERVE_BENCH_FACTORY ?? (process.env.SERVE_BENCH_FAKE ? undefined : path.join(path.dirname(new URL(import.meta.url).pathname), 'serve-wise.ts'));
  const factory: BenchFactory = mod
    ? ((await import(pathToFileURL(path.resolve(mod)).href)) as { createBenchServices: BenchFactory }).createBenchServices
    : fakeFactory;
  const errors = await runServeBench(factory, opts);
  process.exitCode = errors === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
