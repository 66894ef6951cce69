/**
 * buildServer: the fastify app behind `wise serve`.
 *
 *   GET  /health, /v1/health      200 {status:'ok'} once the service is ready; 503 while loading
 *   GET  /v1/models[/ID]          one model, id `base+edits@N`          (routes-openai.ts)
 *   POST /v1/completions, /v1/chat/completions                          (routes-openai.ts)
 *   POST /v1/embeddings           one vector per input, routed          (routes-embeddings.ts)
 *   /wise/edits, /wise/jobs, /wise/merge (bearer token)                 (routes-edits.ts)
 *   POST /tokenize, /detokenize   llama.cpp's and vLLM's token routes    (routes-tokens.ts)
 *   llama.cpp's native routes: POST /completion, /apply-template, GET /props (routes-llamacpp.ts),
 *   POST /embedding (routes-llamacpp-embedding.ts), GET /slots (-slots.ts), POST /infill (-infill.ts)
 *   GET  /metrics                 Prometheus text format                 (serve-metrics.ts)
 *
 * Validation is strict (no coercion, no stripping); every error answers in the OpenAI
 * envelope (errors.ts). The OpenAI routes need the token only when the bind host is not
 * loopback. `service` may be a promise: routes answer 503 until it resolves.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { ModelService } from './service.js';
import { ApiError, loadingError, toApiError } from './errors.js';
import { bearerAuth, generateToken, isLoopback, modelId, type ServeContext } from './context.js';
import { serveMetrics } from './serve-metrics.js';
import { JobQueue } from './jobs.js';
import { registerOpenAIRoutes } from './routes-openai.js';
import { registerResponsesRoutes } from './routes-responses.js';
import { ResponsesStore } from './responses-store.js';
import { registerEmbeddingRoutes } from './routes-embeddings.js';
import { registerEditRoutes } from './routes-edits.js';
import { registerTokenRoutes } from './routes-tokens.js';
import { registerLlamaCppRoutes } from './routes-llamacpp.js';
import { registerLlamaEmbeddingRoutes } from './routes-llamacpp-embedding.js';
import { registerSlotsRoute } from './routes-llamacpp-slots.js';
import { registerInfillRoute } from './routes-llamacpp-infill.js';

export interface ServerOptions {
  service: ModelService | Promise<ModelService>;
  /** bearer token for the edit routes; generated when absent (read it from `app.wise.token`) */
  token?: string | undefined;
  /** the host the server will bind; a non-loopback host makes the OpenAI routes need the token too */
  host?: string | undefined;
  /** bytes; default 1 MiB */
  bodyLimit?: number | undefined;
  /** prompt length limit in tokens (service.encode); default 2048 */
  maxPromptTokens?: number | undefined;
  /** the largest accepted max_tokens; default 1024 */
  maxTokensCap?: number | undefined;
  /** responses kept for the Responses API (previous_response_id, GET /v1/responses/{id}); default 256, 0 = none */
  responsesStore?: number | undefined;
  logger?: FastifyServerOptions['logger'];
}

declare module 'fastify' {
  interface FastifyInstance {
    wise: ServeContext;
  }
}

export const DEFAULT_BODY_LIMIT = 1 << 20;
export const DEFAULT_MAX_PROMPT_TOKENS = 2048;
export const DEFAULT_MAX_TOKENS_CAP = 1024;
export const DEFAULT_RESPONSES_STORE = 256;

export function buildServer(opts: ServerOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allowUnionTypes: true } },
  });
  // JSON only: a text/plain body is a 415, not a string that fails validation later
  app.removeContentTypeParser('text/plain');
  // an empty JSON body is an error on POST, but tolerated on DELETE/GET (clients that always send the header)
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '' && req.method !== 'POST') return done(null, undefined);
    return defaultJson(req, text, done);
  });

  let service: ModelService | undefined;
  let loadFailure: Error | undefined;
  Promise.resolve(opts.service).then(
    (s) => {
      service = s;
    },
    (e: unknown) => {
      loadFailure = e instanceof Error ? e : new Error(String(e));
      app.log.error({ err: loadFailure }, 'the model service failed to load');
    },
  );

  const jobs: JobQueue = new JobQueue(1000, (job) => metrics.jobs.inc({ kind: job.kind, status: job.status }));
  const metrics = serveMetrics({ service: () => service, jobsPending: () => jobs.pending() });
  const ctx: ServeContext = {
    token: opts.token ?? generateToken(),
    openaiNeedsToken: !isLoopback(opts.host ?? '127.0.0.1'),
    maxPromptTokens: opts.maxPromptTokens ?? DEFAULT_MAX_PROMPT_TOKENS,
    maxTokensCap: opts.maxTokensCap ?? DEFAULT_MAX_TOKENS_CAP,
    jobs,
    active: new Set(),
    metrics,
    responses: new ResponsesStore(opts.responsesStore ?? DEFAULT_RESPONSES_STORE),
    ready(): ModelService {
      if (service) return service;
      if (loadFailure) throw new ApiError(503, 'model_load_failed', `the model failed to load: ${loadFailure.message}`);
      throw loadingError();
    },
  };
  app.decorate('wise', ctx);

  app.setErrorHandler((err, req, reply) => {
    const api = toApiError(err);
    if (api.status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(api.status).send({ error: api.body() });
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(404, 'not_found', `no route for ${req.method} ${req.url.split('?')[0] ?? ''}`);
    void reply.code(404).send({ error: e.body() });
  });
  // before the server stops listening: abort generations in flight and let their streams end
  // (with `data: [DONE]`), so their keep-alive connections are idle when fastify closes them
  app.addHook('preClose', async () => {
    ctx.jobs.close();
    for (const ac of ctx.active) ac.abort();
    const deadline = Date.now() + 2000;
    while (ctx.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r));
  });

  const health = async (_req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const s = ctx.ready();
    void reply.code(200);
    return { status: 'ok', model: modelId(s.baseName, s.editSeq()), edit_seq: s.editSeq(), jobs_pending: ctx.jobs.pending() };
  };
  app.get('/health', health);
  app.get('/v1/health', health);

  // every request is counted and timed when its last byte is out (a hijacked stream too: the raw response's close)
  app.addHook('onRequest', async (req, reply) => {
    const t0 = process.hrtime.bigint();
    reply.raw.once('close', () => {
      const route = req.routeOptions.url ?? 'unmatched';
      metrics.requests.inc({ route, method: req.method, status: String(reply.raw.statusCode) });
      metrics.duration.observe({ route }, Number(process.hrtime.bigint() - t0) / 1e9);
    });
  });
  app.get('/metrics', ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {}, async (_req, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return metrics.registry.render();
  });

  registerOpenAIRoutes(app, ctx);
  registerResponsesRoutes(app, ctx);
  registerEmbeddingRoutes(app, ctx);
  registerEditRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerLlamaCppRoutes(app, ctx);
  registerLlamaEmbeddingRoutes(app, ctx);
  registerSlotsRoute(app, ctx);
  registerInfillRoute(app, ctx);
  return app;
}
