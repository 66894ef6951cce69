/**
 * POST /v1/responses: OpenAI's Responses API over the chat path (responses-request.ts converts the body, and
 * routes-openai.ts prepareChat turns it into a prompt and options), one output per request. The response object:
 *
 *   {id: "resp_…", object: "response", created_at, status: "completed" | "incomplete", incomplete_details, output: [items],
 *    usage: {input_tokens, output_tokens, total_tokens, …}, the request's settings echoed (model, instructions,
 *    max_output_tokens, temperature, top_p, tools, tool_choice, text, parallel_tool_calls, store: false, …), wise}
 *
 * `status` is "incomplete" with {reason: "max_output_tokens"} when the output was cut by the token limit. Streamed
 * (`stream: true`), the events are named SSE events (`event: response.output_text.delta` + `data: {…}`):
 * response.created and response.in_progress, the items' events (responses-output.ts), then response.completed (or
 * response.incomplete) with the whole response; no `[DONE]`. An error after the stream opened is an `error` event.
 * The stream opens with the first generated event, so a request the model refuses still gets its HTTP status.
 * Kept responses (`store`, default true; the last `serve.responses_store` in memory, responses-store.ts): a later
 * request continues one with `previous_response_id` (its conversation, inputs and outputs, before the new input;
 * instructions are not carried over), and GET /v1/responses/{id}, DELETE /v1/responses/{id} and
 * GET /v1/responses/{id}/input_items read and drop them, as OpenAI's do.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateResult, ModelService, TokenInfo } from './service.js';
import { ChoiceOutput } from './tool-output.js';
import { abortedError, EventStream, requestAbort, streamFailure } from './sse.js';
import { bearerAuth, modelId, type ServeContext } from './context.js';
import { callIds, checkModel, logprobEntries, prepareChat } from './routes-openai.js';
import { ApiError, badValue } from './errors.js';
import { inputItems, ResponsesStore, type StoredResponse } from './responses-store.js';
import { recordResults } from './serve-metrics.js';
import { responsesBodySchema, type ChatBody } from './schemas.js';
import { responseLogprobs, responsesError, responsesToChat } from './responses-request.js';
import { ResponseItems, type OutputItem, type ResponseEvent } from './responses-output.js';

const ENDPOINT = '/v1/responses';

function usage(r: GenerateResult | null): Record<string, unknown> | null {
  if (!r) return null;
  return {
    input_tokens: r.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: r.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: r.promptTokens + r.completionTokens,
  };
}

async function respond(ctx: ServeContext, service: ModelService, body: Record<string, unknown>, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const before = previousConversation(ctx, body.previous_response_id);
  const stored = body.store !== false && ctx.responses.capacity > 0;
  let chat: Record<string, unknown>;
  let prep: ReturnType<typeof prepareChat>;
  try {
    chat = responsesToChat(body, before);
    prep = prepareChat(ctx, service, chat as unknown as ChatBody);
  } catch (e) {
    throw responsesError(e);
  }
  const { prompt, options, tools } = prep;
  const top = responseLogprobs(body);
  if (top !== null) options.logprobs = top;
  const entries = (infos: readonly TokenInfo[] | undefined): Record<string, unknown>[] => (top !== null && infos ? logprobEntries(infos) : []);
  const id = `resp_${randomBytes(24).toString('hex')}`;
  const createdAt = Math.floor(Date.now() / 1000);
  let model = modelId(service.baseName, service.editSeq());
  const text = body.text as { format?: unknown } | undefined;
  // the response object at a status; the request's settings as they were used
  const response = (status: string, output: OutputItem[], r: GenerateResult | null): Record<string, unknown> => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: stored,
    temperature: options.temperature,
    text: { format: text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? (tools.mode === 'none' ? 'none' : 'auto'),
    tools: body.tools ?? [],
    top_p: options.topP,
    top_logprobs: top ?? 0,
    truncation: 'disabled',
    usage: usage(r),
    metadata: body.metadata ?? {},
    ...(r ? { wise: { memory: r.memory, edit_seq: r.editSeq, seed: options.seed } } : {}),
  });
  const out = new ChoiceOutput(tools, callIds(tools));
  // the finished response: counted, named by the state it ran on, its items closed, and kept when asked
  const finished = (r: GenerateResult, items: ResponseItems): Record<string, unknown> => {
    recordResults(ctx.metrics, ENDPOINT, [r]);
    model = modelId(service.baseName, r.editSeq);
    const last = out.finish(r.finishReason);
    items.push(last.delta);
    const status = last.finishReason === 'length' ? 'incomplete' : 'completed';
    const res = response(status, items.finish(status), r);
    if (stored) ctx.responses.put(id, { response: res, before, input: inputItems(body.input) });
    return res;
  };
  const { ac, release } = requestAbort(ctx, reply);
  try {
    if (body.stream !== true) {
      const [r] = await service.generateBatch([prompt], () => ({ ...options, signal: ac.signal })).catch((e: unknown) => {
        if (ac.signal.aborted) throw abortedError();
        throw e;
      });
      const items = new ResponseItems();
      items.push(out.push(r!.text), entries(r!.tokens));
      return finished(r!, items);
    }
    let seq = 0;
    const stream = new EventStream(reply);
    const emit = (e: ResponseEvent): void => {
      if (!stream.open) for (const type of ['response.created', 'response.in_progress']) stream.send({ type, sequence_number: seq++, response: response('in_progress', [], null) }, type);
      stream.send({ ...e, sequence_number: seq++ }, e.type);
    };
    const items = new ResponseItems(emit);
    try {
      const [r] = await service.generateBatch([prompt], () => ({ ...options, signal: ac.signal, onText: (piece, infos) => items.push(out.push(piece), entries(infos)) }));
      const res = finished(r!, items);
      emit({ type: `response.${String(res.status)}`, response: res });
    } catch (e) {
      streamFailure(e, stream, ac.signal, req.log, (err) => emit({ type: 'error', code: err.code, message: err.message, param: err.param }));
    }
    stream.end();
    return reply;
  } finally {
    release();
  }
}

/** The conversation a previous_response_id continues (empty without one); a 400 naming it when it is not kept. */
function previousConversation(ctx: ServeContext, prev: unknown): Record<string, unknown>[] {
  if (prev === undefined || prev === null) return [];
  if (typeof prev !== 'string') throw badValue('previous_response_id', 'expected a string');
  if (ctx.responses.capacity === 0) throw new ApiError(400, 'unsupported_field', 'previous_response_id: not supported by this server (serve.responses_store is 0: no responses are kept); send the whole conversation as input', 'previous_response_id');
  const e = ctx.responses.get(prev);
  if (!e) throw badValue('previous_response_id', `no kept response "${prev}" (not stored, deleted, or older than the last ${ctx.responses.capacity} kept)`);
  return ResponsesStore.conversation(e);
}

export function registerResponsesRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};
  app.post<{ Body: Record<string, unknown> }>(ENDPOINT, { ...auth, schema: { body: responsesBodySchema(ctx.maxTokensCap) } }, async (req, reply) => {
    const service = ctx.ready();
    checkModel(service, req.body.model as string);
    return respond(ctx, service, req.body, req, reply);
  });

  const kept = (id: string): StoredResponse => {
    const e = ctx.responses.get(id);
    if (!e) throw new ApiError(404, 'not_found', `no kept response "${id}" (not stored, deleted, or older than the last ${ctx.responses.capacity} kept)`, 'response_id');
    return e;
  };
  app.get<{ Params: { id: string } }>(`${ENDPOINT}/:id`, auth, async (req) => kept(req.params.id).response);
  app.delete<{ Params: { id: string } }>(`${ENDPOINT}/:id`, auth, async (req) => {
    kept(req.params.id);
    ctx.responses.delete(req.params.id);
    return { id: req.params.id, object: 'response', deleted: true };
  });
  // a response's own input items, newest first unless order=asc; `after` an item id, `limit` 1..100 (default 20)
  const querystring = { type: 'object', properties: { order: { type: 'string', enum: ['asc', 'desc'] }, limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$' }, after: { type: 'string' } } };
  app.get<{ Params: { id: string }; Querystring: { order?: 'asc' | 'desc'; limit?: string; after?: string } }>(`${ENDPOINT}/:id/input_items`, { ...auth, schema: { querystring } }, async (req) => {
    const items = [...kept(req.params.id).input];
    if (req.query.order !== 'asc') items.reverse();
    const from = req.query.after === undefined ? 0 : items.findIndex((it) => it.id === req.query.after) + 1;
    if (from === 0 && req.query.after !== undefined) throw badValue('after', `no input item "${req.query.after}" in this response`);
    const data = items.slice(from, from + Number(req.query.limit ?? 20));
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: from + data.length < items.length };
  });
}
