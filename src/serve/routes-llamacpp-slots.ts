/**
 * GET /slots: llama.cpp's view of its decode slots, mapped onto this server's continuous batching
 * (src/model/decode-scheduler.ts): `serve.batch_size` slots, each held by one row (a prompt × choice of
 * some request) from its prefill until it ends; rows beyond them wait in arrival order for a free one.
 *
 *   → [{id, n_ctx, is_processing, next_token?, wise?}] in slot order, where for a busy slot
 *        next_token  {has_next_token: true, n_decoded (tokens generated so far), n_remain (left before its limit)}
 *        wise        {prompt_tokens}
 *   ?fail_on_no_slot=<anything non-empty>  503 `no_slot_available` when every slot is busy (llama.cpp's test: a
 *                                          non-empty value, so "0" asks for it too)
 *
 * Only what the scheduler knows is reported: llama.cpp's id_task, params, prompt and speculative have no
 * counterpart here (a row does not keep its request's settings or text), and an idle slot reports no last
 * task. n_ctx is the model's context, which every row may fill (llama.cpp splits its context between slots).
 * A service that keeps no slots answers 501 `slots_unsupported`.
 */
import type { FastifyInstance } from 'fastify';
import { bearerAuth, type ServeContext } from './context.js';
import { ApiError } from './errors.js';

export function registerSlotsRoute(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};
  const querystring = { type: 'object', properties: { fail_on_no_slot: { type: 'string' } } };
  app.get<{ Querystring: { fail_on_no_slot?: string } }>('/slots', { ...auth, schema: { querystring } }, async (req) => {
    const service = ctx.ready();
    if (!service.slots) throw new ApiError(501, 'slots_unsupported', 'this server does not support the slots endpoint: its model service keeps no decode slots');
    const slots = service.slots();
    if ((req.query.fail_on_no_slot ?? '') !== '' && slots.every((s) => s !== null)) throw new ApiError(503, 'no_slot_available', 'no slot available');
    return slots.map((row, id) => ({
      id,
      n_ctx: service.contextLength,
      is_processing: row !== null,
      ...(row ? { next_token: { has_next_token: true, n_decoded: row.decoded, n_remain: row.budget - row.decoded }, wise: { prompt_tokens: row.promptTokens } } : {}),
    }));
  });
}
