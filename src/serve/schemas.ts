/**
 * JSON schemas for the routes, compiled by fastify's Ajv with coerceTypes:false and
 * removeAdditional:false (app.ts), so `"max_tokens":"5"` is a 400, never a silent 5.
 *
 * OpenAI bodies accept unknown fields (llama.cpp / vLLM practice: clients send fields such
 * as `user` or `metadata`; routes-openai.ts refuses the ones that change what an answer is, such as
 * `response_format` or `tools`), but the fields we read are checked for type and range. Optional
 * OpenAI fields also accept `null` (some clients send it for "unset").
 *
 *   model        string, required; must be the current id `base+edits@N` or the bare base name (checked in the route → 404)
 *   prompt       string; or an array of strings; or an array of token ids (integers ≥ 0: one prompt);
 *                or an array of token-id arrays; non-empty (completions; the rest is checked in prompts.ts)
 *   messages     non-empty array of {role: system|developer|user|assistant|tool, content: string | [{type:'text', text}] | null,
 *                tool_calls?, tool_call_id?}  (chat; chat-messages.ts)
 *   tools, tool_choice, parallel_tool_calls  (chat; checked in tools.ts)
 *   add_generation_prompt, continue_final_message, chat_template_kwargs  (chat and /tokenize; vLLM's; chat-render.ts)
 *   max_tokens   integer 1..cap (also `max_completion_tokens` for chat)
 *   temperature  number 0..2 (0 = greedy)          top_p  number in (0, 1]
 *   top_k        integer ≥ -1 (-1 or 0 = all; vLLM's and llama.cpp's extension)    min_p  number 0..1 (0 = off)
 *   frequency_penalty, presence_penalty  number -2..2 (0 = off)    repetition_penalty  number > 0 (1 = off)
 *   logit_bias   {token id (decimal string): bias -100..100} (keys checked against the vocabulary in the route)
 *   stop_token_ids  up to 64 token ids (checked against the vocabulary in the route)   ignore_eos  boolean
 *   skip_special_tokens  boolean, default true (vLLM's): false keeps special tokens' text (<|im_start|>, an EOS under ignore_eos)
 *   min_tokens   integer 0..max_tokens (vLLM's extensions: stop ids beside EOS; EOS not ending; no stop id before n tokens, nor a stop string ending within them)
 *   stop         non-empty string, or an array of at most 4 non-empty strings
 *   seed         integer 0..2^53-1 (absent: drawn, and reported in wise.seed)
 *   n            integer 1..64: choices per prompt (choice i·n + j is prompt i's j-th, sampled with seed + j)
 *   stream       boolean                             stream_options  {include_usage: boolean}
 *   logprobs     completions: integer 0..5 (alternatives per token); chat: boolean, with top_logprobs 0..20
 *   echo         boolean (completions): the prompt comes back too, with its tokens' logprobs; max_tokens may then be 0
 *                streamed, each chunk carries its tokens' logprobs; echo is not streamed (400 with stream)
 *
 * Edit bodies are strict (unknown fields are typos): see src/edits/request.ts.
 */
import type { BodyMessage } from './chat-messages.js';

export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** Choices per request: prompts × n (decoded serve.batch_size at a time; vLLM has no cap, the body limit bounds the prompts anyway). */
export const MAX_CHOICES = 64;

function samplingProps(maxTokensCap: number): Record<string, unknown> {
  const maxTokens = { type: ['integer', 'null'], minimum: 1, maximum: maxTokensCap };
  return {
    model: { type: 'string' },
    max_tokens: maxTokens,
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 },
    top_k: { type: ['integer', 'null'], minimum: -1 },
    min_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    frequency_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
    presence_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
    repetition_penalty: { type: ['number', 'null'], exclusiveMinimum: 0 },
    logit_bias: { type: ['object', 'null'], additionalProperties: { type: 'number', minimum: -100, maximum: 100 } },
    stop_token_ids: { type: ['array', 'null'], maxItems: 64, items: { type: 'integer', minimum: 0 } },
    ignore_eos: { type: ['boolean', 'null'] },
    skip_special_tokens: { type: ['boolean', 'null'] },
    min_tokens: { type: ['integer', 'null'], minimum: 0 },
    stop: {
      type: ['string', 'array', 'null'],
      minLength: 1,
      maxItems: 4,
      items: { type: 'string', minLength: 1 },
    },
    seed: { type: ['integer', 'null'], minimum: 0, maximum: MAX_SEED },
    n: { type: ['integer', 'null'], minimum: 1, maximum: MAX_CHOICES }, // choices per prompt; prompts × n ≤ MAX_CHOICES (checked in the route)
    stream: { type: ['boolean', 'null'] },
    stream_options: {
      type: ['object', 'null'],
      properties: { include_usage: { type: ['boolean', 'null'] } },
    },
  };
}

/** A prompt (completions) or an input (embeddings): text, token ids, or a list of either. */
export const promptSchema = {
  type: ['string', 'array'],
  minLength: 1,
  minItems: 1,
  // an item: a prompt (string), a token id (the array is then one prompt), or a prompt's token ids
  items: { type: ['string', 'integer', 'array'], minLength: 1, minimum: 0, minItems: 1, items: { type: 'integer', minimum: 0 } },
};

export function completionBodySchema(maxTokensCap: number): Record<string, unknown> {
  return {
    type: 'object',
    required: ['model', 'prompt'],
    properties: {
      ...samplingProps(maxTokensCap),
      max_tokens: { type: ['integer', 'null'], minimum: 0, maximum: maxTokensCap }, // 0 only with echo (checked in the route)
      logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 5 },
      echo: { type: ['boolean', 'null'] },
      prompt: promptSchema,
    },
  };
}

/**
 * POST /v1/responses (responses-request.ts converts it to a chat body; what the schema leaves open, such as input
 * items and tools, is checked there and by the chat path): the sampling fields as chat's, less n and max_tokens.
 */
export function responsesBodySchema(maxTokensCap: number): Record<string, unknown> {
  const { n: _n, max_tokens: maxTokens, stream_options: _s, ...props } = samplingProps(maxTokensCap);
  return {
    type: 'object',
    required: ['model', 'input'],
    properties: {
      ...props,
      max_output_tokens: maxTokens,
      input: { type: ['string', 'array'], minLength: 1, minItems: 1, items: { type: 'object' } },
      instructions: { type: ['string', 'null'] },
      tools: { type: ['array', 'null'] },
      parallel_tool_calls: { type: ['boolean', 'null'] },
      store: { type: ['boolean', 'null'] },
      metadata: { type: ['object', 'null'] },
      top_logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
      chat_template_kwargs: chatRenderProps.chat_template_kwargs,
    },
  };
}

/** vLLM's chat rendering fields (chat-render.ts), on chat and /tokenize. */
export const chatRenderProps = {
  add_generation_prompt: { type: ['boolean', 'null'] },
  continue_final_message: { type: ['boolean', 'null'] },
  chat_template_kwargs: { type: ['object', 'null'] },
};

export function chatBodySchema(maxTokensCap: number): Record<string, unknown> {
  const props = samplingProps(maxTokensCap);
  return {
    type: 'object',
    required: ['model', 'messages'],
    properties: {
      ...props,
      max_completion_tokens: props.max_tokens,
      logprobs: { type: ['boolean', 'null'] },
      top_logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
      messages: messagesSchema,
      ...chatRenderProps,
    },
  };
}

const contentSchema = {
  type: ['string', 'array', 'null'],
  items: {
    type: 'object',
    required: ['type', 'text'],
    properties: { type: { type: 'string', enum: ['text'] }, text: { type: 'string' } },
  },
};

/** An assistant turn's tool calls, as OpenAI writes them (arguments: JSON text). */
const toolCallsSchema = {
  type: ['array', 'null'],
  items: {
    type: 'object',
    required: ['id', 'type', 'function'],
    properties: {
      id: { type: 'string' },
      type: { type: 'string', enum: ['function'] },
      function: { type: 'object', required: ['name', 'arguments'], properties: { name: { type: 'string', minLength: 1 }, arguments: { type: 'string' } } },
    },
  },
};

/**
 * Chat messages, at least one: {role: system|developer|user|assistant|tool, content: string | [{type: 'text', text}] | null,
 * tool_calls? (assistant), tool_call_id? (tool)}; what a schema cannot say (content null only beside tool calls) is
 * checked in chat-messages.ts.
 */
export const messagesSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['role'],
    properties: {
      role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
      content: contentSchema,
      tool_calls: toolCallsSchema,
      tool_call_id: { type: ['string', 'null'] },
    },
  },
};

const nonBlank = { type: 'string', pattern: '\\S' };

/** Edits one request may carry as a JSON array (POST /wise/edits; the body limit bounds them too). */
export const MAX_BATCH_EDITS = 256;

const editItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt', 'target'],
  properties: {
    prompt: nonBlank,
    target: nonBlank,
    rephrase: { type: 'string' },
    locality_prompt: { type: 'string' },
    locality_answer: { type: 'string' },
    subject: { type: 'string' },
  },
};

/** One edit, or an array of 1..MAX_BATCH_EDITS edits applied in order (if/then/else: an error names the item, `[2].target`). */
export const editBodySchema = {
  if: { type: 'array' },
  then: { type: 'array', minItems: 1, maxItems: MAX_BATCH_EDITS, items: editItemSchema },
  else: editItemSchema,
};

export const backupBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['dir'],
  properties: { dir: nonBlank },
};

export const waitQuerySchema = {
  type: 'object',
  properties: { wait: { type: 'string', enum: ['true', 'false', '1', '0'] } },
};

/** Typed views of the validated bodies. */
export interface SamplingBody {
  model: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  repetition_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  stop_token_ids?: number[] | null;
  ignore_eos?: boolean | null;
  skip_special_tokens?: boolean | null;
  min_tokens?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
}

export interface CompletionBody extends SamplingBody {
  prompt: string | (string | number | number[])[];
  logprobs?: number | null;
  echo?: boolean | null;
}

export type ChatContent = string | { type: 'text'; text: string }[];

export interface ChatBody extends SamplingBody {
  messages: BodyMessage[];
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
}

export function contentText(c: ChatContent): string {
  return typeof c === 'string' ? c : c.map((p) => p.text).join('');
}
