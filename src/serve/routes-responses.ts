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
 * Nothing is stored: `previous_response_id` is refused and there is no GET /v1/responses/{id}.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GenerateResult, ModelService, TokenInfo } from './service.js';
import { ChoiceOutput } from './tool-output.js';
import { abortedError, EventStream, requestAbort, streamFailure } from './sse.js';
import { bearerAuth, modelId, type ServeContext } from './context.js';
import { callIds, checkModel, logprobEntries, prepareChat } from './routes-openai.js';
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
  let chat: Record<string, unknown>;
  let prep: ReturnType<typeof prepareChat>;
  try {
    chat = responsesToChat(body);
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
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
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
  const { ac, release } = requestAbort(ctx, reply);
  try {
    if (body.stream !== true) {
      const [r] = await service.generateBatch([prompt], () => ({ ...options, signal: ac.signal })).catch((e: unknown) => {
        if (ac.signal.aborted) throw abortedError();
        throw e;
      });
      recordResults(ctx.metrics, ENDPOINT, [r!]);
      model = modelId(service.baseName, r!.editSeq);
      const items = new ResponseItems();
      items.push(out.push(r!.text), entries(r!.tokens));
      const last = out.finish(r!.finishReason);
      items.push(last.delta);
      const status = last.finishReason === 'length' ? 'incomplete' : 'completed';
      return response(status, items.finish(status), r!);
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
      recordResults(ctx.metrics, ENDPOINT, [r!]);
      model = modelId(service.baseName, r!.editSeq);
      const last = out.finish(r!.finishReason);
      items.push(last.delta);
      const status = last.finishReason === 'length' ? 'incomplete' : 'completed';
      const output = items.finish(status);
      emit({ type: `response.${status}`, response: response(status, output, r!) });
    } catch (e) {
      streamFailure(e, stream, ac.signal, req.log, (err) => emit({ type: 'error', code: err.code, message: err.message, param: err.param }));
    }
    stream.end();
    return reply;
  } finally {
    release();
  }
}

export function registerResponsesRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};
  app.post<{ Body: Record<string, unknown> }>(ENDPOINT, { ...auth, schema: { body: responsesBodySchema(ctx.maxTokensCap) } }, async (req, reply) => {
    const service = ctx.ready();
    checkModel(service, req.body.model as string);
    return respond(ctx, service, req.body, req, reply);
  });
}
