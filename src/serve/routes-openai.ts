/**
 * The OpenAI-compatible routes: /v1/models, /v1/completions, /v1/chat/completions.
 *
 * Each completion reports the state it ran on: `model` is `base+edits@N` of that state, and
 * an extra `wise: {memory, edit_seq, seed}` field (OpenAI clients ignore it) names the memory
 * that answered (with several choices also `memories`, by index) and the sampling seed. Streams
 * (SSE, `data: {json}\n\n`, ending with `data: [DONE]`) carry each choice's `wise` in its
 * finishing chunk. A client that goes away aborts its generation.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateOptions, GenerateResult, ModelService, TokenInfo } from './service.js';
import { samplingOptions } from './sampling-options.js';
import { chatMessages, type BodyMessage } from './chat-messages.js';
import { chatRender } from './chat-render.js';
import { MISTRAL_ID_LENGTH, toolPlan, type ToolPlan } from './tools.js';
import { ChoiceOutput, choiceMessage, type ChatDelta } from './tool-output.js';
import { ApiError } from './errors.js';
import { abortedError, EventStream, requestAbort, streamFailure } from './sse.js';
import { bearerAuth, modelId, type ServeContext } from './context.js';
import { parsePrompts, promptParam, type PromptInput } from './prompts.js';
import { recordResults } from './serve-metrics.js';
import {
  chatBodySchema,
  completionBodySchema,
  MAX_CHOICES,
  MAX_SEED,
  type ChatBody,
  type CompletionBody,
  type SamplingBody,
} from './schemas.js';

const DEFAULT_COMPLETION_MAX_TOKENS = 16; // OpenAI's default for /v1/completions

type Kind = 'text' | 'chat';

/** Throws 404 model_not_found unless `model` is the current id or the bare base name. */
export function checkModel(service: ModelService, model: string): void {
  const id = modelId(service.baseName, service.editSeq());
  if (model !== id && model !== service.baseName) {
    throw new ApiError(404, 'model_not_found', `The model '${model}' does not exist; this server serves '${id}' (or '${service.baseName}')`, 'model');
  }
}

/** A prompt's tokens as generation encodes it: a text after the tokenizer's special prefix, ids as given. */
export const promptTokenCount = (service: ModelService, prompt: PromptInput): number => (typeof prompt === 'string' ? service.prefixIds.length + service.encode(prompt).length : prompt.length);

/** 400 context_length_exceeded naming `param` for a prompt longer than the server takes. */
export function checkPromptLength(ctx: ServeContext, service: ModelService, prompt: PromptInput, param: string): void {
  const n = promptTokenCount(service, prompt);
  if (n > ctx.maxPromptTokens) {
    throw new ApiError(400, 'context_length_exceeded', `the prompt has ${n} tokens; this server accepts at most ${ctx.maxPromptTokens}`, param);
  }
}

const newId = (prefix: string): string => `${prefix}-${randomBytes(12).toString('hex')}`;
const newCallId = (): string => `call_${randomBytes(12).toString('hex')}`;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Mistral's call ids: 9 letters or digits, as vLLM's MistralToolCall draws them (its template refuses any other). */
const newMistralCallId = (): string => Array.from({ length: MISTRAL_ID_LENGTH }, () => ALNUM[randomInt(ALNUM.length)]).join('');
export const callIds = (plan: ToolPlan): (() => string) => (plan.format === 'mistral' ? newMistralCallId : newCallId);

/** Token counts summed over the request's prompts. */
function usage(rs: readonly GenerateResult[]): Record<string, number> {
  const p = rs.reduce((a, r) => a + r.promptTokens, 0);
  const c = rs.reduce((a, r) => a + r.completionTokens, 0);
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

/**
 * `wise` of a response: the state, the memory that answered the first choice (with several
 * choices each one's, by index), and the sampling seed (choice j of a prompt's n used seed + j).
 */
const wiseField = (rs: readonly GenerateResult[], seed: number | undefined): Record<string, unknown> => ({
  memory: rs[0]!.memory,
  edit_seq: rs[0]!.editSeq,
  ...(rs.length > 1 ? { memories: rs.map((r) => r.memory) } : {}),
  seed,
});

/** Seed of a prompt's j-th choice: seed + j, wrapping below MAX_SEED. */
const choiceSeed = (seed: number, j: number): number => (seed <= MAX_SEED - j ? seed + j : j - 1 - (MAX_SEED - seed));

interface Call {
  kind: Kind;
  service: ModelService;
  /** one per choice: chat has one prompt, completions one or more, each repeated n times (choice i·n + j) */
  prompts: PromptInput[];
  /** choices per prompt */
  n: number;
  options: GenerateOptions;
  stream: boolean;
  includeUsage: boolean;
  /** completions' echo: the prompt text leads the returned text (and its tokens the logprobs) */
  echo?: boolean;
  /** chat: how the text becomes the message (tools.ts; mode none: plain content) */
  tools?: ToolPlan;
}

const NO_TOOLS: ToolPlan = { mode: 'none', tools: [], names: new Set() };

/** OpenAI completions' logprobs: parallel arrays over the tokens, text_offset into the returned text (the first token's at `start`). */
function completionLogprobs(infos: readonly TokenInfo[], start = 0): Record<string, unknown> {
  const textOffset: number[] = [];
  let off = start;
  for (const t of infos) {
    textOffset.push(off);
    off += t.token.length;
  }
  return {
    tokens: infos.map((t) => t.token),
    token_logprobs: infos.map((t) => t.logprob),
    top_logprobs: infos.map((t) => (t.top === null ? null : Object.fromEntries(t.top.map((a) => [a.token, a.logprob])))),
    text_offset: textOffset,
  };
}

/** A token's text as UTF-8 bytes (OpenAI's and llama.cpp's `bytes`). */
export const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/** One entry per generated token with its UTF-8 bytes and alternatives (OpenAI chat's `logprobs.content`, Responses' output_text `logprobs`). */
export const logprobEntries = (infos: readonly TokenInfo[]): Record<string, unknown>[] =>
  infos.map((t) => ({ token: t.token, logprob: t.logprob, bytes: utf8(t.token), top_logprobs: (t.top ?? []).map((a) => ({ token: a.token, logprob: a.logprob, bytes: utf8(a.token) })) }));

/** OpenAI chat's logprobs: one entry per generated token, with its UTF-8 bytes. */
function chatLogprobs(infos: readonly TokenInfo[]): Record<string, unknown> {
  return { content: logprobEntries(infos), refusal: null };
}

/** The 400s of the logprob fields: echo is not streamed; chat's top_logprobs needs logprobs; max_tokens 0 needs echo. */
function checkLogprobFields(o: { stream: boolean; echo: boolean; topWithout: boolean; zeroTokens: boolean }): void {
  if (o.stream && o.echo) throw new ApiError(400, 'invalid_value', 'echo: not supported with stream (ask without stream)', 'echo');
  if (o.topWithout) throw new ApiError(400, 'invalid_value', 'top_logprobs: needs logprobs: true', 'top_logprobs');
  if (o.zeroTokens) throw new ApiError(400, 'invalid_value', 'max_tokens: must be >= 1 (0 only with echo)', 'max_tokens');
}

/**
 * Fields that change what an answer is and that this server does not implement, each with the test
 * of whether a value asks for something (null, false, [], '', {type: 'text'}, 'none' and best_of 1 ask
 * for nothing). They are refused (400 unsupported_field, naming the field) rather than ignored: a
 * client that asked for JSON or a tool call must not get plain text with a 200. Other unknown fields
 * stay accepted and ignored, as OpenAI-compatible servers do.
 */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  functions: (v) => !Array.isArray(v) || v.length > 0, // the deprecated form of tools (chat takes tools and tool_choice)
  function_call: (v) => v !== 'none',
  suffix: (v) => v !== '',
  best_of: (v) => v !== 1,
  chat_template: (v) => v !== '', // vLLM takes a request's template only with --trust-request-chat-template
};

/** Completions have no tools (chat has: tools.ts). */
const COMPLETIONS_UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  tools: (v) => !Array.isArray(v) || v.length > 0,
  tool_choice: (v) => v !== 'none',
};

function checkUnsupported(body: object, kind: Kind): void {
  const table = kind === 'chat' ? UNSUPPORTED : { ...UNSUPPORTED, ...COMPLETIONS_UNSUPPORTED };
  for (const [k, asks] of Object.entries(table)) {
    const v = (body as Record<string, unknown>)[k];
    if (v === undefined || v === null || v === false) continue;
    if (asks(v)) {
      const why =
        k in COMPLETIONS_UNSUPPORTED
          ? 'tools are taken by /v1/chat/completions'
          : k === 'functions' || k === 'function_call'
            ? 'give tools and tool_choice instead'
            : k === 'chat_template'
              ? "the checkpoint's template is used; chat_template_kwargs sets its variables"
              : 'suffix and best_of are not implemented; structured output is: response_format, guided_json, guided_choice, guided_regex, guided_grammar, json_schema, grammar';
      throw new ApiError(400, 'unsupported_field', `${k}: not supported by this server (${why}); leave it out`, k);
    }
  }
}

/** `n` (choices per prompt), 400 when prompts × n passes MAX_CHOICES. */
function choicesPerPrompt(body: SamplingBody, prompts: number): number {
  const n = body.n ?? 1;
  if (n * prompts > MAX_CHOICES) throw new ApiError(400, 'invalid_value', `n: ${prompts} prompts × n ${n} = ${n * prompts} choices; at most ${MAX_CHOICES} per request`, 'n');
  return n;
}

const endpointOf = (kind: Kind): string => (kind === 'chat' ? '/v1/chat/completions' : '/v1/completions');

async function respond(ctx: ServeContext, call: Call, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const { kind, service } = call;
  const id = newId(kind === 'chat' ? 'chatcmpl' : 'cmpl');
  const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
  const created = Math.floor(Date.now() / 1000);
  const { ac, release } = requestAbort(ctx, reply);
  // the model id echoed while streaming is the one requested against; the final chunk names the state used
  let model = modelId(service.baseName, service.editSeq());
  const optionsFor = (c: number): GenerateOptions => ({ ...call.options, seed: choiceSeed(call.options.seed ?? 0, c % call.n) });
  try {
    if (!call.stream) {
      const rs = await service.generateBatch(call.prompts, (c) => ({ ...optionsFor(c), signal: ac.signal })).catch((e: unknown) => {
        if (ac.signal.aborted) throw abortedError();
        throw e;
      });
      model = modelId(service.baseName, rs[0]!.editSeq);
      recordResults(ctx.metrics, endpointOf(kind), rs);
      const choice = (r: GenerateResult, index: number): Record<string, unknown> => {
        const lp = call.options.logprobs !== undefined && r.tokens ? r.tokens : null; // the generated tokens' logprobs
        if (kind === 'chat') {
          const { message, finishReason } = choiceMessage(call.tools ?? NO_TOOLS, r.text, r.finishReason, callIds(call.tools ?? NO_TOOLS));
          return { index, message, logprobs: lp ? chatLogprobs(lp) : null, finish_reason: finishReason };
        }
        const p = call.prompts[index]!;
        return {
          index,
          text: call.echo ? (typeof p === 'string' ? p : service.decode(p)) + r.text : r.text,
          logprobs: lp ? completionLogprobs(call.echo ? [...(r.promptTokenInfo ?? []), ...lp] : lp) : null,
          finish_reason: r.finishReason,
        };
      };
      return { id, object, created, model, choices: rs.map(choice), usage: usage(rs), wise: wiseField(rs, call.options.seed) };
    }
    const chunkObject = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const extra = call.includeUsage ? { usage: null } : {};
    // streamed logprobs: each chunk carries its tokens; text_offset counts from the start of its choice's text
    const offsets = call.prompts.map(() => 0);
    const chunkLogprobs = (index: number, infos: readonly TokenInfo[] | undefined): Record<string, unknown> | null => {
      if (!infos) return null;
      if (kind === 'chat') return chatLogprobs(infos);
      const lp = completionLogprobs(infos, offsets[index]);
      offsets[index] = offsets[index]! + infos.reduce((a, t) => a + t.token.length, 0);
      return lp;
    };
    // chat: each choice's text becomes content or tool-call deltas (tool-output.ts)
    const outs = call.prompts.map(() => new ChoiceOutput(call.tools ?? NO_TOOLS, callIds(call.tools ?? NO_TOOLS)));
    const chatChunk = (index: number, delta: ChatDelta | { role: 'assistant'; content: '' } | null, finish: string | null, infos?: TokenInfo[]): Record<string, unknown> => ({
      index,
      delta: delta ?? {},
      logprobs: chunkLogprobs(index, infos),
      finish_reason: finish,
    });
    const textChunk = (index: number, piece: string | null, finish: string | null, infos?: TokenInfo[]): Record<string, unknown> => ({
      index,
      text: piece ?? '',
      logprobs: chunkLogprobs(index, infos),
      finish_reason: finish,
    });
    // The event stream starts with the first event, not before the generation does: a request
    // the model refuses (a prompt longer than its context) still gets its HTTP status (400).
    const stream = new EventStream(reply, (s) => {
      if (kind === 'chat') call.prompts.forEach((_, c) => s.send({ id, object: chunkObject, created, model, choices: [chatChunk(c, { role: 'assistant', content: '' }, null)], ...extra })); // each choice opens with its role
    });
    const send = (obj: unknown): void => stream.send(obj);
    try {
      // Several choices decode together (serve.batch_size at a time), so their chunks interleave, each
      // naming its choice by index; a choice's last chunk (finish_reason set, with its `wise`) comes as soon as it is done.
      const rs = await service.generateBatch(
        call.prompts,
        (i) => ({
          ...optionsFor(i),
          signal: ac.signal,
          onText: (piece, infos) => {
            const hasInfos = infos !== undefined && infos.length > 0;
            if (kind === 'text') {
              if (piece !== '' || hasInfos) send({ id, object: chunkObject, created, model, choices: [textChunk(i, piece, null, infos)], ...extra });
              return;
            }
            const delta = outs[i]!.push(piece);
            if (delta !== null || hasInfos) send({ id, object: chunkObject, created, model, choices: [chatChunk(i, delta, null, infos)], ...extra });
          },
        }),
        (i, r) => {
          model = modelId(service.baseName, r.editSeq);
          const last = kind === 'chat' ? outs[i]!.finish(r.finishReason) : null;
          const choice = last ? chatChunk(i, last.delta, last.finishReason) : textChunk(i, null, r.finishReason);
          send({ id, object: chunkObject, created, model, choices: [choice], ...extra, wise: wiseField([r], call.options.seed) });
        },
      );
      recordResults(ctx.metrics, endpointOf(kind), rs);
      if (call.includeUsage) send({ id, object: chunkObject, created, model, choices: [], usage: usage(rs) });
    } catch (e) {
      streamFailure(e, stream, ac.signal, req.log, (err) => send({ error: err.body() }));
    }
    stream.end('data: [DONE]\n\n');
    return reply;
  } finally {
    release();
  }
}

/**
 * A chat body's prompt, generation options and tool plan (shared by /v1/chat/completions and /v1/responses, which
 * converts its body first): the refused fields, tools, messages through the chat template, sampling and structured
 * output (one of the two: tool calls set the output's form), and the prompt's length.
 */
export function prepareChat(ctx: ServeContext, service: ModelService, body: ChatBody): { prompt: PromptInput; options: GenerateOptions; tools: ToolPlan } {
  checkUnsupported(body, 'chat');
  const tools = toolPlan(body as unknown as Record<string, unknown>, service.toolFormat ?? null);
  const messages = chatMessages(body.messages as BodyMessage[]);
  const options = samplingOptions(body, body.max_completion_tokens ?? body.max_tokens ?? ctx.maxTokensCap, service.vocabSize);
  if (tools.mode !== 'none' && options.structured) {
    const field = options.structured.field;
    throw new ApiError(400, 'invalid_value', `${field}: not with tool_choice "${tools.mode === 'named' ? tools.name : tools.mode}" (the tool calls set the output's form); leave one out`, field);
  }
  if (tools.structured) options.structured = tools.structured;
  // Mistral's calls follow its special [TOOL_CALLS] token: the text keeps special tokens (as vLLM's mistral parser asks)
  if (tools.mode !== 'none' && tools.format === 'mistral') options.skipSpecialTokens = false;
  const prompt = service.chatPrompt(messages, tools.tools, chatRender(body as unknown as Record<string, unknown>));
  checkPromptLength(ctx, service, prompt, 'messages');
  return { prompt, options, tools };
}

export function registerOpenAIRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};

  const listModel = (service: ModelService): Record<string, unknown> => ({
    id: modelId(service.baseName, service.editSeq()),
    object: 'model',
    created: 0,
    owned_by: 'wise-edit',
    max_model_len: service.contextLength, // vLLM's field: prompt plus new tokens
    wise: { base: service.baseName, edit_seq: service.editSeq() },
  });
  app.get('/v1/models', auth, async () => ({ object: 'list', data: [listModel(ctx.ready())] }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', auth, async (req) => {
    const service = ctx.ready();
    checkModel(service, req.params.id);
    return listModel(service);
  });

  app.post<{ Body: CompletionBody }>(
    '/v1/completions',
    { ...auth, schema: { body: completionBodySchema(ctx.maxTokensCap) } },
    async (req, reply) => {
      const service = ctx.ready();
      const body = req.body;
      checkModel(service, body.model);
      checkUnsupported(body, 'text');
      const prompts = parsePrompts(body.prompt, service.vocabSize);
      prompts.forEach((p, i) => checkPromptLength(ctx, service, p, promptParam(prompts.length, i)));
      const n = choicesPerPrompt(body, prompts.length);
      const options = samplingOptions(body, body.max_tokens ?? Math.min(DEFAULT_COMPLETION_MAX_TOKENS, ctx.maxTokensCap), service.vocabSize);
      const stream = body.stream === true;
      const echo = body.echo === true;
      const logprobs = body.logprobs != null;
      checkLogprobFields({ stream, echo, topWithout: false, zeroTokens: options.maxTokens === 0 && !echo });
      if (logprobs) Object.assign(options, { logprobs: body.logprobs, echo });
      return respond(ctx, { kind: 'text', service, prompts: prompts.flatMap((p) => new Array<PromptInput>(n).fill(p)), n, options, stream, echo, includeUsage: stream && body.stream_options?.include_usage === true }, req, reply);
    },
  );

  app.post<{ Body: ChatBody }>(
    '/v1/chat/completions',
    { ...auth, schema: { body: chatBodySchema(ctx.maxTokensCap) } },
    async (req, reply) => {
      const service = ctx.ready();
      const body = req.body;
      checkModel(service, body.model);
      const { prompt, options, tools } = prepareChat(ctx, service, body);
      const stream = body.stream === true;
      const logprobs = body.logprobs === true;
      checkLogprobFields({ stream, echo: false, topWithout: body.top_logprobs != null && !logprobs, zeroTokens: false });
      if (logprobs) options.logprobs = body.top_logprobs ?? 0;
      const n = choicesPerPrompt(body, 1);
      return respond(ctx, { kind: 'chat', service, prompts: new Array<PromptInput>(n).fill(prompt), n, options, stream, includeUsage: stream && body.stream_options?.include_usage === true, tools }, req, reply);
    },
  );
}
