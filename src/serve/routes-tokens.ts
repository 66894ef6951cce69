/**
 * POST /tokenize and POST /detokenize, as llama.cpp's server and vLLM have them, so that a
 * client can build token-id prompts (routes-openai.ts takes them) and count tokens with the
 * served model's own tokenizer. Bodies in either server's field names:
 *
 *   /tokenize    {content | prompt: string, add_special | add_special_tokens?: boolean, model?}
 *                → {tokens: number[], count, max_model_len}
 *                add_special defaults to false (llama.cpp's default; vLLM's is true): true prepends
 *                the special tokens the tokenizer starts a sequence with (BOS for Llama; none for GPT-2,
 *                Qwen2), as text prompts get them
 *                or {messages: [...], tools?: [...]} (vLLM's chat form): the tokens the chat route runs for them,
 *                chat template (with the tools, as a request whose tool_choice is not "none") and generation
 *                prompt included (its usage.prompt_tokens); add_generation_prompt, continue_final_message and
 *                chat_template_kwargs as on the chat route (chat-render.ts)
 *   /detokenize  {tokens: number[], model?} → {content, prompt} (the same text under both names)
 *
 * Unknown fields are ignored (as on the OpenAI routes); the token rule is the OpenAI routes'.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';
import { bearerAuth, type ServeContext } from './context.js';
import { checkModel } from './routes-openai.js';
import { checkIdsBelow } from './prompts.js';
import { chatRenderProps, messagesSchema, type ChatBody } from './schemas.js';
import { chatMessages, type BodyMessage } from './chat-messages.js';
import { parseTools } from './tools.js';
import { chatRender } from './chat-render.js';

const optionalBool = { type: ['boolean', 'null'] };

const tokenizeSchema = {
  type: 'object',
  properties: {
    messages: messagesSchema,
    content: { type: 'string' },
    prompt: { type: 'string' },
    add_special: optionalBool,
    add_special_tokens: optionalBool,
    model: { type: 'string' },
    ...chatRenderProps,
  },
};

const detokenizeSchema = {
  type: 'object',
  required: ['tokens'],
  properties: { tokens: { type: 'array', items: { type: 'integer', minimum: 0 } }, model: { type: 'string' } },
};

interface TokenizeBody {
  messages?: ChatBody['messages'];
  content?: string;
  prompt?: string;
  add_special?: boolean | null;
  add_special_tokens?: boolean | null;
  model?: string;
  tools?: unknown;
}

export function registerTokenRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};

  app.post<{ Body: TokenizeBody }>('/tokenize', { ...auth, schema: { body: tokenizeSchema } }, async (req) => {
    const service = ctx.ready();
    const b = req.body;
    if (b.model !== undefined) checkModel(service, b.model);
    if (b.content !== undefined && b.prompt !== undefined) throw new ApiError(400, 'invalid_value', 'prompt: give the text as content or as prompt, not both', 'prompt');
    if (b.messages !== undefined) {
      if (b.content !== undefined || b.prompt !== undefined) throw new ApiError(400, 'invalid_value', 'messages: give messages or a text (content, prompt), not both', 'messages');
      // as the chat route runs them: the rendered template's ids, or the fallback text as a text prompt (its special prefix first)
      const p = service.chatPrompt(chatMessages(b.messages as BodyMessage[]), b.tools == null ? [] : parseTools(b.tools), chatRender(b as Record<string, unknown>));
      const tokens = typeof p === 'string' ? [...service.prefixIds, ...service.encode(p)] : [...p];
      return { tokens, count: tokens.length, max_model_len: service.contextLength };
    }
    if (b.tools != null) throw new ApiError(400, 'invalid_value', 'tools: only with messages (a chat prompt)', 'tools');
    const text = b.content ?? b.prompt;
    if (text === undefined) throw new ApiError(400, 'missing_field', 'content: is required (or prompt)', 'content');
    const ids = service.encode(text);
    const tokens = (b.add_special ?? b.add_special_tokens ?? false) ? [...service.prefixIds, ...ids] : ids;
    return { tokens, count: tokens.length, max_model_len: service.contextLength };
  });

  app.post<{ Body: { tokens: number[]; model?: string } }>('/detokenize', { ...auth, schema: { body: detokenizeSchema } }, async (req) => {
    const service = ctx.ready();
    if (req.body.model !== undefined) checkModel(service, req.body.model);
    const { tokens } = req.body;
    checkIdsBelow(tokens, service.vocabSize, 'tokens');
    const text = service.decode(tokens);
    return { content: text, prompt: text };
  });
}
