/**
 * POST /infill: llama.cpp's fill-in-the-middle, for code-completion clients (llama.vscode, llama.vim):
 *
 *   input_prefix  the code before the cursor: a text, or token ids and texts mixed (required; may be empty)
 *   input_suffix  the code after it (the same forms; required)
 *   input_extra   [{filename?, text}]: more context (other files), put before the FIM prompt; filename "tmp" when absent
 *   prompt        a text put after the prefix (llama.vscode sends the cursor line's start); default ""
 *   and every /completion field (sampling, n_predict, stop, stream, n_probs, …), with its answer's shape
 *
 * The prompt is built from the model's FIM tokens (fim-prompt.ts) and runs as a /completion (runCompletion);
 * the model's FIM pad, repo and file-separator tokens also end it. A model without FIM prefix, suffix and
 * middle tokens answers 501 `infill_unsupported` (llama.cpp's status and message), before the body is checked.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';
import { bearerAuth, type ServeContext } from './context.js';
import type { ModelService } from './service.js';
import { completionProps, mixedIds, runCompletion, type CompletionBody } from './routes-llamacpp.js';
import { findFimTokens, fimStopIds, infillIds, type FimTokens } from './fim-prompt.js';

/** input_extra chunks per request */
const MAX_EXTRA = 256;

const textOrIds = { type: ['string', 'array'], items: { type: ['string', 'integer'] } };
const infillSchema = {
  type: 'object',
  required: ['input_prefix', 'input_suffix'],
  properties: {
    input_prefix: textOrIds,
    input_suffix: textOrIds,
    input_extra: { type: 'array', maxItems: MAX_EXTRA, items: { type: 'object', required: ['text'], properties: { filename: { type: 'string' }, text: { type: 'string' } } } },
    prompt: { type: 'string' },
    ...completionProps,
  },
};

interface InfillBody extends CompletionBody {
  input_prefix: string | unknown[];
  input_suffix: string | unknown[];
  input_extra?: { filename?: string; text: string }[];
  prompt?: string;
}

/** The model's FIM tokens, or 501 infill_unsupported naming the missing ones as llama.cpp does. */
function fimOrRefuse(service: ModelService): FimTokens {
  const found = findFimTokens((piece) => service.tokenId?.(piece) ?? null);
  if ('tokens' in found) return found.tokens;
  const why = found.missing.map((m) => `${m} token is missing. `).join('');
  throw new ApiError(501, 'infill_unsupported', `Infill is not supported by this model: ${why}`); // llama.cpp's words, which clients match
}

export function registerInfillRoute(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};
  // the model check runs before the body's (preValidation), as llama.cpp refuses a model without FIM tokens first
  const preValidation = async (): Promise<void> => void fimOrRefuse(ctx.ready());
  app.post<{ Body: InfillBody }>('/infill', { ...auth, preValidation, schema: { body: infillSchema } }, (req, reply) => {
    const service = ctx.ready();
    const b = req.body;
    const fim = fimOrRefuse(service);
    // room for the answer where the context allows it: n_predict tokens (the server's cap when −1), and at least half the context for the prompt
    const want = Math.min(b.n_predict == null || b.n_predict < 0 ? ctx.maxTokensCap : b.n_predict, ctx.maxTokensCap);
    const limit = Math.min(ctx.maxPromptTokens, Math.max(service.contextLength - Math.max(1, want), Math.floor(service.contextLength / 2)));
    const parts = {
      prefix: mixedIds(service, b.input_prefix, 'input_prefix'),
      suffix: mixedIds(service, b.input_suffix, 'input_suffix'),
      prompt: service.encode(b.prompt ?? ''),
      extra: (b.input_extra ?? []).map((c) => ({ filename: c.filename ?? 'tmp', text: c.text })),
    };
    const prompt = infillIds(fim, (t) => service.encode(t), service.prefixIds, parts, limit);
    return runCompletion(ctx, req, reply, { prompts: [prompt], many: false, route: '/infill', stopIds: fimStopIds(fim) });
  });
}
