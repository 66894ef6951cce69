/**
 * What `GET /metrics` reports about `wise serve` (Prometheus text format; names follow vLLM's
 * where one exists, prefixed `wise_`):
 *
 *   wise_http_requests_total{route,method,status}        every answered request (route = its pattern, e.g. /wise/edits/:id)
 *   wise_http_request_duration_seconds{route}            histogram, from arrival to the last byte (a stream: to [DONE])
 *   wise_prompt_tokens_total, wise_generation_tokens_total   over finished completions' choices
 *   wise_sequences_total{endpoint,memory,finish_reason}  finished choices by the memory that answered
 *                                                        (main = the original layer): how much traffic the edits take
 *   wise_jobs_total{kind,status}                         finished write jobs (edit, revert, merge, backup): done or failed
 *   wise_time_to_first_token_seconds, wise_time_per_output_token_seconds   histograms over finished choices
 *                                                        (from the prompt's arrival at the model, queueing included)
 *   wise_jobs_pending, wise_edits_applied, wise_decode_rows{state}   gauges read when scraped
 */
import { MetricsRegistry, type Counter, type Histogram } from './metrics.js';
import type { GenerateResult, ModelService } from './service.js';

/** Request-duration buckets in seconds (a fast token route to a long stream). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Per-token latency buckets in seconds (vLLM's range). */
export const TOKEN_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 20];

export interface ServeMetrics {
  readonly registry: MetricsRegistry;
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly promptTokens: Counter;
  readonly generationTokens: Counter;
  readonly sequences: Counter;
  readonly jobs: Counter;
  readonly firstToken: Histogram;
  readonly perToken: Histogram;
}

/** What the gauges read: the service once loaded, the write queue's pending jobs. */
export interface GaugeSources {
  service(): ModelService | undefined;
  jobsPending(): number;
}

export function serveMetrics(src: GaugeSources): ServeMetrics {
  const r = new MetricsRegistry();
  const m: ServeMetrics = {
    registry: r,
    requests: r.counter('wise_http_requests_total', 'HTTP requests answered, by route pattern, method and status.', ['route', 'method', 'status']),
    duration: r.histogram('wise_http_request_duration_seconds', 'Time from a request\'s arrival to its last byte.', ['route'], DURATION_BUCKETS),
    promptTokens: r.counter('wise_prompt_tokens_total', 'Prompt tokens of finished completion choices.'),
    generationTokens: r.counter('wise_generation_tokens_total', 'Generated tokens of finished completion choices.'),
    sequences: r.counter('wise_sequences_total', 'Finished completion choices, by endpoint, the memory that answered (main = the original layer) and finish reason.', ['endpoint', 'memory', 'finish_reason']),
    jobs: r.counter('wise_jobs_total', 'Finished write jobs (edit, revert, merge, backup), by kind and status.', ['kind', 'status']),
    firstToken: r.histogram('wise_time_to_first_token_seconds', 'From a choice\'s arrival at the model (queueing included) to its first token.', [], TOKEN_BUCKETS),
    perToken: r.histogram('wise_time_per_output_token_seconds', 'A choice\'s time from its first token to its end, per later token.', [], TOKEN_BUCKETS),
  };
  r.gauge('wise_jobs_pending', 'Write jobs queued or running.', [], () => [[{}, src.jobsPending()]]);
  r.gauge('wise_edits_applied', 'Edits applied and not reverted (N of the model id base+edits@N).', [], () => {
    const s = src.service();
    return s ? [[{}, s.editSeq()]] : [];
  });
  r.gauge('wise_decode_rows', 'Rows decoding in the batch (running) and waiting for a slot (waiting).', ['state'], () => {
    const load = src.service()?.load?.();
    return load ? [[{ state: 'running' }, load.running], [{ state: 'waiting' }, load.waiting]] : [];
  });
  return m;
}

/** Counts a request's finished choices: tokens, and each choice's memory and finish reason. */
export function recordResults(m: ServeMetrics, endpoint: string, rs: readonly GenerateResult[]): void {
  for (const x of rs) {
    m.promptTokens.inc({}, x.promptTokens);
    m.generationTokens.inc({}, x.completionTokens);
    m.sequences.inc({ endpoint, memory: x.memory, finish_reason: x.finishReason });
    const t = x.timing;
    if (!t || t.firstToken === null) continue;
    m.firstToken.observe({}, t.firstToken);
    if (x.completionTokens > 1) m.perToken.observe({}, (t.total - t.firstToken) / (x.completionTokens - 1));
  }
}
