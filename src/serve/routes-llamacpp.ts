/**
 * llama.cpp's native server routes, for its clients (llama.cpp's own tools, SillyTavern-style front ends, scripts
 * written against llama-server):
 *
 *   POST /completion (and /completions)  llama.cpp's completion: `prompt` a string, token ids, a mix of both (one
 *        prompt; BOS first when it starts with a string), or a list of prompts (the answer is then a list); llama.cpp's
 *        sampling names and defaults (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1, n_predict −1
 *        = up to the context); stop, seed (−1 random), ignore_eos, logit_bias (pairs [id, bias | false], [text, bias],
 *        or an object), n_probs (completion_probabilities), grammar / json_schema (structured.ts), return_tokens;
 *        stream: `data:` events of {content, tokens, stop: false}, then the whole answer with stop: true (no [DONE])
 *   POST /apply-template              {messages} → {prompt}: the chat prompt the chat route would run, as text
 *   GET  /props                       default_generation_settings, total_slots (the decode slots), model_path, chat_template, …
 * and, in files of their own: /embedding (routes-llamacpp-embedding.ts), /slots (routes-llamacpp-slots.ts),
 * /infill (routes-llamacpp-infill.ts, which runs its prompt through `runCompletion`).
 *
 * An answer: content, tokens, stop, model, tokens_predicted, tokens_evaluated, prompt, stop_type (eos, limit or word),
 * stopping_word, truncated, timings (prompt_* from arrival to the first token, queueing included; predicted_* after it),
 * generation_settings, and this server's `wise` {memory, edit_seq, seed}. Fields llama.cpp has for its slots and KV
 * cache (id_slot −1, tokens_cached 0, cache_prompt accepted and ignored) carry neutral values. Sampling llama.cpp has
 * and this server does not (mirostat, DRY, XTC, typical_p, dynatemp, samplers order) is a 400 naming the field when it
 * asks for something, not ignored.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomInt } from 'node:crypto';
import type { GenerateOptions, GenerateResult, ModelService, PromptInput, TokenInfo } from './service.js';
import { samplingOptions } from './sampling-options.js';
import { ApiError, badValue } from './errors.js';
import { bearerAuth, modelId, type ServeContext } from './context.js';
import { checkPromptLength, promptTokenCount, utf8 } from './routes-openai.js';
import { abortedError, EventStream, requestAbort, streamFailure } from './sse.js';
import { recordResults } from './serve-metrics.js';
import { chatMessages, type BodyMessage } from './chat-messages.js';
import { chatRender } from './chat-render.js';
import { messagesSchema, chatRenderProps, MAX_CHOICES, MAX_SEED, type SamplingBody } from './schemas.js';
import { isObject } from '../util/is-object.js';

/** llama-server's defaults for /completion (its README and GET /props) */
export const LLAMA_DEFAULTS = { temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_penalty: 1, presence_penalty: 0, frequency_penalty: 0, n_predict: -1, n_probs: 0 };

/** llama.cpp samplers this server does not have, each with the value that leaves it off */
const OFF: Record<string, (v: unknown) => boolean> = {
  mirostat: (v) => v === 0,
  dry_multiplier: (v) => v === 0,
  xtc_probability: (v) => v === 0,
  typical_p: (v) => v === 1,
  dynatemp_range: (v) => v === 0,
  n_cmpl: (v) => v === 1,
};

const num = { type: ['number', 'null'] };
/** /completion's fields besides `prompt` (/infill takes them all) */
export const completionProps = {
  n_predict: { type: ['integer', 'null'], minimum: -1 },
  temperature: num,
  top_k: { type: ['integer', 'null'] },
  top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
  min_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
  repeat_penalty: { type: ['number', 'null'], exclusiveMinimum: 0 },
  presence_penalty: num,
  frequency_penalty: num,
  stop: { type: ['array', 'null'], maxItems: 16, items: { type: 'string', minLength: 1 } },
  seed: { type: ['integer', 'null'], minimum: -1, maximum: MAX_SEED },
  ignore_eos: { type: ['boolean', 'null'] },
  n_probs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
  logit_bias: { type: ['array', 'object', 'null'] },
  stream: { type: ['boolean', 'null'] },
  return_tokens: { type: ['boolean', 'null'] },
  cache_prompt: { type: ['boolean', 'null'] },
};
const completionSchema = {
  type: 'object',
  required: ['prompt'],
  properties: { prompt: { type: ['string', 'array'], minLength: 1, minItems: 1 }, ...completionProps },
};

/** A /completion body (/infill's has its FIM fields instead of a required prompt). */
export interface CompletionBody extends Record<string, unknown> {
  prompt?: string | unknown[];
  n_predict?: number | null;
  stop?: string[] | null;
  seed?: number | null;
  n_probs?: number | null;
  stream?: boolean | null;
  return_tokens?: boolean | null;
}

/** Token ids and texts mixed (llama.cpp's tokenize_mixed): ids as they are, texts tokenized, no special tokens added; may be empty. */
export function mixedIds(service: ModelService, items: string | readonly unknown[], at: string): number[] {
  if (typeof items === 'string') return service.encode(items);
  return items.flatMap((x, i) => {
    if (typeof x === 'string') return service.encode(x);
    if (Number.isInteger(x) && (x as number) >= 0 && (x as number) < service.vocabSize) return [x as number];
    throw badValue(`${at}[${i}]`, `expected a token id in [0, ${service.vocabSize}) or a text`);
  });
}

/** One prompt given as token ids and texts mixed (llama.cpp): BOS first when it starts with a text. */
function mixedPrompt(service: ModelService, items: readonly unknown[], at: string): number[] {
  const ids = [...(typeof items[0] === 'string' ? service.prefixIds : []), ...mixedIds(service, items, at)];
  if (ids.length === 0) throw badValue(at, 'the prompt has no tokens');
  return ids;
}

/**
 * llama.cpp's prompt forms (/completion's `prompt`, /embedding's `content`): one prompt (a text; ids and texts
 * mixed), or several (a list of texts or such lists, at most `max`). Errors name `field`.
 */
export function llamaPrompts(service: ModelService, prompt: string | unknown[], field = 'prompt', max = MAX_CHOICES): { prompts: PromptInput[]; many: boolean } {
  if (typeof prompt === 'string') return { prompts: [prompt], many: false };
  if (prompt.some((x) => typeof x === 'number')) return { prompts: [mixedPrompt(service, prompt, field)], many: false };
  if (prompt.length > max) throw badValue(field, `${prompt.length} prompts; at most ${max} per request`);
  const prompts = prompt.map((p, i): PromptInput => {
    if (typeof p === 'string' && p.length > 0) return p;
    if (Array.isArray(p) && p.length > 0) return mixedPrompt(service, p, `${field}[${i}]`);
    throw badValue(`${field}[${i}]`, 'expected a non-empty text or a non-empty list of token ids and texts');
  });
  return { prompts, many: true };
}

/** llama.cpp's logit_bias: [[id or text, bias or false], …] or {"id or text": bias}; false bans the token (−∞), a text biases each of its tokens. */
function logitBias(service: ModelService, v: unknown): Record<string, number> | undefined {
  if (v === undefined || v === null) return undefined;
  let pairs: [unknown, unknown][];
  if (isObject(v)) pairs = Object.entries(v);
  else if (Array.isArray(v)) {
    pairs = v.map((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw badValue(`logit_bias[${i}]`, 'expected a pair [token id or text, bias or false]');
      return p as [unknown, unknown];
    });
  } else throw badValue('logit_bias', 'expected pairs [token id or text, bias or false] or an object');
  const out: Record<string, number> = {};
  pairs.forEach(([t, b], i) => {
    if (b !== false && (typeof b !== 'number' || !Number.isFinite(b))) throw badValue(`logit_bias[${i}]`, 'the bias must be a number or false');
    const ids = typeof t === 'number' ? [t] : typeof t === 'string' && /^\d+$/.test(t) ? [Number(t)] : typeof t === 'string' ? service.encode(t) : [];
    if (ids.length === 0) throw badValue(`logit_bias[${i}]`, 'expected a token id or a non-empty text');
    for (const id of ids) out[String(id)] = b === false ? -Infinity : b;
  });
  return out;
}

/** The request's GenerateOptions, through samplingOptions with llama.cpp's names and defaults. */
function llamaOptions(service: ModelService, b: CompletionBody, cap: number): GenerateOptions {
  for (const [k, off] of Object.entries(OFF)) {
    if (b[k] !== undefined && b[k] !== null && !off(b[k])) throw new ApiError(400, 'unsupported_field', `${k}: this sampler is not implemented by this server; leave it out (or at its off value)`, k);
  }
  const n = b.n_predict ?? LLAMA_DEFAULTS.n_predict;
  const temperature = (b.temperature as number | null | undefined) ?? LLAMA_DEFAULTS.temperature;
  const topK = (b.top_k as number | null | undefined) ?? LLAMA_DEFAULTS.top_k;
  const body: SamplingBody = {
    temperature: Math.max(0, temperature), // ≤ 0: greedy, as llama.cpp
    top_k: topK <= 0 ? 0 : topK,
    top_p: Math.max(Number.MIN_VALUE, (b.top_p as number | null | undefined) ?? LLAMA_DEFAULTS.top_p),
    min_p: (b.min_p as number | null | undefined) ?? LLAMA_DEFAULTS.min_p,
    repetition_penalty: (b.repeat_penalty as number | null | undefined) ?? LLAMA_DEFAULTS.repeat_penalty,
    presence_penalty: (b.presence_penalty as number | null | undefined) ?? 0,
    frequency_penalty: (b.frequency_penalty as number | null | undefined) ?? 0,
    ...(b.stop ? { stop: b.stop } : {}),
    ...(b.seed != null && b.seed >= 0 ? { seed: b.seed } : {}),
    ...(b.ignore_eos ? { ignore_eos: true } : {}),
  } as SamplingBody;
  const bias = logitBias(service, b.logit_bias);
  if (bias) (body as unknown as Record<string, unknown>).logit_bias = bias;
  for (const k of ['grammar', 'json_schema'] as const) if (b[k] !== undefined) (body as unknown as Record<string, unknown>)[k] = b[k];
  const options = samplingOptions(body, n < 0 ? cap : Math.min(n, cap), service.vocabSize);
  if (b.seed == null || b.seed < 0) options.seed = randomInt(0, 2 ** 32);
  if (b.n_probs) options.logprobs = b.n_probs;
  return options;
}

/** llama.cpp's completion_probabilities for the tokens. */
const probabilities = (infos: readonly TokenInfo[]): Record<string, unknown>[] =>
  infos.map((t) => ({ id: t.id, token: t.token, logprob: t.logprob, bytes: utf8(t.token), top_logprobs: (t.top ?? []).map((a) => ({ id: a.id, token: a.token, logprob: a.logprob, bytes: utf8(a.token) })) }));

/** What llama.cpp reports of the settings a completion ran with. */
function generationSettings(o: GenerateOptions, b: CompletionBody, nCtx: number): Record<string, unknown> {
  return {
    n_ctx: nCtx,
    n_predict: b.n_predict ?? LLAMA_DEFAULTS.n_predict,
    seed: o.seed,
    temperature: o.temperature,
    top_k: o.topK ?? 0,
    top_p: o.topP,
    min_p: o.minP ?? 0,
    repeat_penalty: o.shaping?.repetitionPenalty ?? 1,
    presence_penalty: o.shaping?.presencePenalty ?? 0,
    frequency_penalty: o.shaping?.frequencyPenalty ?? 0,
    stop: o.stop ?? [],
    max_tokens: o.maxTokens,
    ignore_eos: o.ignoreEos === true,
    n_probs: o.logprobs ?? 0,
    grammar: typeof b.grammar === 'string' ? b.grammar : '',
  };
}

/** One prompt's answer, whole (stop: true). */
function answer(service: ModelService, r: GenerateResult, prompt: PromptInput, o: GenerateOptions, b: CompletionBody): Record<string, unknown> {
  const firstMs = (r.timing?.firstToken ?? r.timing?.total ?? 0) * 1000;
  const predictedMs = Math.max(0, (r.timing?.total ?? 0) * 1000 - firstMs);
  const n = r.completionTokens;
  return {
    index: 0,
    content: r.text,
    tokens: b.return_tokens ? r.ids : [],
    id_slot: -1,
    stop: true,
    model: modelId(service.baseName, r.editSeq),
    tokens_predicted: n,
    tokens_evaluated: r.promptTokens,
    generation_settings: generationSettings(o, b, service.contextLength),
    prompt: typeof prompt === 'string' ? prompt : service.decode(prompt),
    has_new_line: r.text.includes('\n'),
    truncated: false,
    stop_type: r.stopString !== undefined ? 'word' : r.finishReason === 'stop' ? 'eos' : 'limit',
    stopping_word: r.stopString ?? '',
    tokens_cached: 0,
    timings: {
      prompt_n: r.promptTokens,
      prompt_ms: firstMs,
      prompt_per_token_ms: r.promptTokens > 0 ? firstMs / r.promptTokens : 0,
      prompt_per_second: firstMs > 0 ? (r.promptTokens * 1000) / firstMs : 0,
      predicted_n: n,
      predicted_ms: predictedMs,
      predicted_per_token_ms: n > 0 ? predictedMs / n : 0,
      predicted_per_second: predictedMs > 0 ? (n * 1000) / predictedMs : 0,
    },
    ...(o.logprobs !== undefined && r.tokens ? { completion_probabilities: probabilities(r.tokens) } : {}),
    wise: { memory: r.memory, edit_seq: r.editSeq, seed: o.seed },
  };
}

/** What a llama.cpp completion runs: its prompts, whether the answer is a list, the route (metrics), and token ids that also end it. */
export interface CompletionRun {
  prompts: PromptInput[];
  many: boolean;
  route: string;
  stopIds?: readonly number[];
}

/**
 * A llama.cpp completion of `run.prompts` under the request body's sampling fields: /completion's answer (one, or a
 * list when `many`), whole or streamed. /completion runs its `prompt` through it, /infill its FIM prompt.
 */
export async function runCompletion(ctx: ServeContext, req: FastifyRequest<{ Body: CompletionBody }>, reply: FastifyReply, run: CompletionRun): Promise<unknown> {
  const service = ctx.ready();
  const b = req.body;
  const { prompts, many } = run;
  prompts.forEach((p, i) => checkPromptLength(ctx, service, p, many ? `prompt[${i}]` : 'prompt'));
  const options = llamaOptions(service, b, ctx.maxTokensCap);
  if (run.stopIds?.length) options.stopTokenIds = [...(options.stopTokenIds ?? []), ...run.stopIds];
  if ((b.n_predict ?? -1) === 0) {
    // llama.cpp evaluates the prompt and predicts nothing
    const empty = (p: PromptInput): GenerateResult => ({ text: '', ids: [], finishReason: 'length', promptTokens: promptTokenCount(service, p), completionTokens: 0, memory: 'main', editSeq: service.editSeq() });
    const out = prompts.map((p, i) => ({ ...answer(service, empty(p), p, options, b), index: i }));
    return many ? out : out[0];
  }
  const { ac, release } = requestAbort(ctx, reply);
  try {
    if (!b.stream) {
      const rs = await service.generateBatch(prompts, () => ({ ...options, signal: ac.signal })).catch((e: unknown) => {
        if (ac.signal.aborted) throw abortedError();
        throw e;
      });
      recordResults(ctx.metrics, run.route, rs);
      const out = rs.map((r, i) => ({ ...answer(service, r, prompts[i]!, options, b), index: i }));
      return many ? out : out[0];
    }
    const stream = new EventStream(reply);
    try {
      const rs = await service.generateBatch(
        prompts,
        (i) => ({
          ...options,
          signal: ac.signal,
          onText: (piece, infos) => {
            // as llama.cpp streams: content, tokens and stop until the end (token ids known here with n_probs)
            if (piece === '' && !infos?.length) return;
            stream.send({ index: i, content: piece, tokens: (infos ?? []).map((t) => t.id), stop: false, ...(infos ? { completion_probabilities: probabilities(infos) } : {}) });
          },
        }),
        (i, r) => stream.send({ ...answer(service, r, prompts[i]!, options, b), index: i, content: '' }),
      );
      recordResults(ctx.metrics, run.route, rs);
    } catch (e) {
      streamFailure(e, stream, ac.signal, req.log, (err) => stream.send({ error: err.body() }));
    }
    stream.end();
    return reply;
  } finally {
    release();
  }
}

export function registerLlamaCppRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};
  for (const url of ['/completion', '/completions']) {
    app.post<{ Body: CompletionBody }>(url, { ...auth, schema: { body: completionSchema } }, (req, reply) => runCompletion(ctx, req, reply, { ...llamaPrompts(ctx.ready(), req.body.prompt!), route: '/completion' }));
  }
  app.post<{ Body: { messages: BodyMessage[] } & Record<string, unknown> }>('/apply-template', { ...auth, schema: { body: { type: 'object', required: ['messages'], properties: { messages: messagesSchema, ...chatRenderProps } } } }, async (req) => {
    const service = ctx.ready();
    const p = service.chatPrompt(chatMessages(req.body.messages), [], chatRender(req.body));
    return { prompt: typeof p === 'string' ? p : service.decode(p) };
  });
  app.get('/props', auth, async () => {
    const service = ctx.ready();
    return {
      default_generation_settings: { n_ctx: service.contextLength, params: { ...LLAMA_DEFAULTS, seed: -1, stop: [], ignore_eos: false, stream: false } },
      total_slots: service.slots?.().length ?? 1, // the decode slots GET /slots lists (serve.batch_size); 1 for a service without them
      model_path: service.baseName,
      model_alias: modelId(service.baseName, service.editSeq()),
      chat_template: service.chatTemplate ?? '',
      modalities: { vision: false, audio: false },
      build_info: 'wise-edit',
    };
  });
}
