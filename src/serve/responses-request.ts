/**
 * OpenAI's Responses API request (POST /v1/responses) → the chat completions body the chat route prepares
 * (routes-openai.ts prepareChat), so both share one path from messages to tokens. Pure: no I/O.
 *
 *   instructions                      a system message before the input (as OpenAI inserts it)
 *   input: string                     one user message
 *   input: [item]                     {role, content: string | [{type: input_text | output_text, text}]} (type "message" or
 *                                     none), {type: "function_call", call_id, name, arguments} (consecutive calls join one
 *                                     assistant turn), {type: "function_call_output", call_id, output}
 *   tools: [{type: "function", name, description?, parameters?, strict?}]   → chat's {type, function: {…}}
 *   tool_choice: "none" | "auto" | "required" | {type: "function", name}
 *   text.format: {type: "text" | "json_object" | "json_schema", name, schema, strict?}   → response_format
 *   max_output_tokens                 → max_completion_tokens
 *   temperature, top_p, seed, parallel_tool_calls, stream, and vLLM's sampling extras (top_k, min_p, penalties,
 *   logit_bias, stop, stop_token_ids, ignore_eos, min_tokens, skip_special_tokens, chat_template_kwargs): as chat's
 *
 * `previous_response_id` continues a stored response (responses-store.ts; the caller passes its conversation as
 * `before`); its instructions are not carried over, as OpenAI's are not.
 *
 * Refused (400 unsupported_field, naming it), because this server keeps no conversations or prompts and runs
 * text-only models: conversation, background, prompt (stored prompts), include (but its
 * "message.output_text.logprobs"), truncation "auto", max_tool_calls, image/file/audio input parts, and hosted tools
 * (web_search, file_search, …). Logprobs: include "message.output_text.logprobs" or top_logprobs > 0 (0..20 alternatives).
 * `reasoning`, `metadata`, `user`, `service_tier` and `text.verbosity` are
 * accepted and do nothing (vLLM does the same for a model without reasoning).
 */
import type { BodyMessage, ToolCall } from './chat-messages.js';
import { ApiError, badValue } from './errors.js';
import { isObject } from '../util/is-object.js';

/** Chat body fields a Responses body passes through unchanged (sampling, vLLM's extras, chat rendering). */
const PASSED = [
  'model', 'temperature', 'top_p', 'seed', 'stream', 'parallel_tool_calls', 'top_k', 'min_p', 'frequency_penalty', 'presence_penalty',
  'repetition_penalty', 'logit_bias', 'stop', 'stop_token_ids', 'ignore_eos', 'min_tokens', 'skip_special_tokens', 'chat_template_kwargs',
] as const;

/** Fields that ask for what this server does not do, with the test of whether a value asks for anything. */
const UNSUPPORTED: Record<string, [(v: unknown) => boolean, string]> = {
  conversation: [() => true, 'conversation objects are not kept: continue with previous_response_id, or send the whole conversation as input'],
  background: [(v) => v !== false, 'responses run in the foreground only'],
  prompt: [() => true, 'stored prompts are not kept: send instructions and input'],
  include: [(v) => !Array.isArray(v) || v.some((x) => x !== LOGPROBS), 'of the extra output data only "message.output_text.logprobs" is produced'],
  truncation: [(v) => v !== 'disabled', 'an input longer than the context is a 400, never truncated'],
  max_tool_calls: [() => true, 'leave it out; parallel_tool_calls: false allows one call'],
};

/** The `include` entry that asks for the output text's token logprobs. */
const LOGPROBS = 'message.output_text.logprobs';

/** Alternatives per token when the body asks for logprobs (include's entry, or top_logprobs > 0), else null. */
export function responseLogprobs(body: Record<string, unknown>): number | null {
  const top = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
  return (Array.isArray(body.include) && body.include.includes(LOGPROBS)) || top > 0 ? top : null;
}

const given = (v: unknown): boolean => v !== undefined && v !== null;

function checkUnsupported(body: Record<string, unknown>): void {
  for (const [k, [asks, why]] of Object.entries(UNSUPPORTED)) {
    if (given(body[k]) && asks(body[k])) throw new ApiError(400, 'unsupported_field', `${k}: not supported by this server (${why}); leave it out`, k);
  }
}

/** A message's content: a string, or parts of text (input_text; output_text and refusal in assistant turns fed back). */
function contentText(v: unknown, at: string): string {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) throw badValue(at, 'expected a string or an array of {"type": "input_text", "text"}');
  return v
    .map((p, i) => {
      const pat = `${at}[${i}]`;
      if (!isObject(p)) throw badValue(pat, 'expected an object {"type": "input_text", "text"}');
      if (p.type === 'input_text' || p.type === 'output_text') {
        if (typeof p.text !== 'string') throw badValue(`${pat}.text`, 'expected a string');
        return p.text;
      }
      if (p.type === 'refusal' && typeof p.refusal === 'string') return p.refusal;
      if (p.type === 'input_image' || p.type === 'input_file' || p.type === 'input_audio') {
        throw new ApiError(400, 'unsupported_value', `${pat}.type: "${p.type}" is not supported (the model reads text only)`, `${pat}.type`);
      }
      throw badValue(`${pat}.type`, 'expected "input_text"');
    })
    .join('');
}

const ROLES = new Set(['user', 'system', 'developer', 'assistant']);

/** Input items → chat messages; `field` names them in errors (`input`, or the stored conversation before it). */
function inputMessages(input: readonly unknown[], field: string): BodyMessage[] {
  const out: BodyMessage[] = [];
  input.forEach((item, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(item)) throw badValue(at, 'expected an object (a message, a function_call or a function_call_output)');
    const type = item.type ?? 'message';
    if (type === 'message') {
      if (typeof item.role !== 'string' || !ROLES.has(item.role)) throw badValue(`${at}.role`, 'expected "user", "system", "developer" or "assistant"');
      out.push({ role: item.role as BodyMessage['role'], content: contentText(item.content, `${at}.content`) });
    } else if (type === 'function_call') {
      for (const k of ['call_id', 'name', 'arguments']) if (typeof item[k] !== 'string') throw badValue(`${at}.${k}`, 'expected a string');
      const call: ToolCall = { id: item.call_id as string, type: 'function', function: { name: item.name as string, arguments: item.arguments as string } };
      const last = out[out.length - 1];
      // a turn's calls follow its text (or each other): one assistant message, as chat writes it
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw badValue(`${at}.call_id`, 'expected a string');
      out.push({ role: 'tool', tool_call_id: item.call_id, content: contentText(item.output, `${at}.output`) });
    } else {
      throw new ApiError(400, 'unsupported_value', `${at}.type: "${String(type)}" is not supported (messages, function_call and function_call_output are)`, `${at}.type`);
    }
  });
  return out;
}

/** Responses' flat function tools → chat's; hosted tools are refused by name. */
function chatTools(tools: unknown): unknown {
  if (!Array.isArray(tools)) return tools; // toolPlan names the field
  return tools.map((t, i) => {
    if (!isObject(t)) throw badValue(`tools[${i}]`, 'expected an object {"type": "function", "name", "parameters"}');
    if (t.type !== 'function') throw new ApiError(400, 'unsupported_value', `tools[${i}].type: "${String(t.type)}" is not supported (function tools are)`, `tools[${i}].type`);
    // the SDK sends parameters, description and strict as null when unset: chat's tools leave them out
    const fn = Object.fromEntries(Object.entries(t).filter(([k, v]) => k !== 'type' && v !== null));
    return { type: 'function', function: fn };
  });
}

function chatToolChoice(v: unknown): unknown {
  if (isObject(v)) {
    if (v.type !== 'function' || typeof v.name !== 'string') throw badValue('tool_choice', 'expected "none", "auto", "required" or {"type": "function", "name": …}');
    return { type: 'function', function: { name: v.name } };
  }
  return v;
}

/** text.format → chat's response_format (undefined for plain text). */
function responseFormat(text: unknown): unknown {
  if (!given(text)) return undefined;
  if (!isObject(text)) throw badValue('text', 'expected an object {"format": {…}}');
  const f = text.format;
  if (!given(f)) return undefined;
  if (!isObject(f)) throw badValue('text.format', 'expected an object {"type": "text" | "json_object" | "json_schema", …}');
  if (f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  if (f.type === 'json_schema') {
    const { type: _, ...jsonSchema } = f;
    return { type: 'json_schema', json_schema: jsonSchema };
  }
  throw badValue('text.format.type', 'expected "text", "json_object" or "json_schema"');
}

/**
 * A Responses body → the chat completions body it asks for; 400 naming the Responses field for what cannot map.
 * `before`: the stored conversation it continues (previous_response_id: inputs and outputs, oldest first).
 */
export function responsesToChat(body: Record<string, unknown>, before: readonly Record<string, unknown>[] = []): Record<string, unknown> {
  checkUnsupported(body);
  const input = body.input;
  if (typeof input !== 'string' && (!Array.isArray(input) || input.length === 0)) throw badValue('input', 'expected a string or a non-empty array of input items');
  const messages = [...inputMessages(before, 'previous_response_id'), ...(typeof input === 'string' ? [{ role: 'user' as const, content: input }] : inputMessages(input, 'input'))];
  if (given(body.instructions)) {
    if (typeof body.instructions !== 'string') throw badValue('instructions', 'expected a string');
    messages.unshift({ role: 'system', content: body.instructions });
  }
  const chat: Record<string, unknown> = { messages };
  for (const k of PASSED) if (given(body[k])) chat[k] = body[k];
  if (given(body.max_output_tokens)) chat.max_completion_tokens = body.max_output_tokens;
  if (given(body.tools)) chat.tools = chatTools(body.tools);
  if (given(body.tool_choice)) chat.tool_choice = chatToolChoice(body.tool_choice);
  const format = responseFormat(body.text);
  if (format !== undefined) chat.response_format = format;
  return chat;
}

/** Chat field paths as the Responses body names them: [pattern, replacement], tried in order. */
const RENAMES: [RegExp, string][] = [
  [/^messages(\[\d+\])?/, 'input'],
  [/^tools\[(\d+)\]\.function/, 'tools[$1]'],
  [/^tool_choice\.function/, 'tool_choice'],
  [/^response_format\.json_schema/, 'text.format'],
  [/^response_format/, 'text.format'],
  [/^max_completion_tokens/, 'max_output_tokens'],
];

/** An error the chat path raised, with its field named as the Responses body has it (message prefix too). */
export function responsesError(e: unknown): unknown {
  if (!(e instanceof ApiError) || e.param === null) return e;
  const rule = RENAMES.find(([re]) => re.test(e.param!));
  if (!rule) return e;
  const param = e.param.replace(rule[0], rule[1]);
  const message = e.message.startsWith(e.param) ? param + e.message.slice(e.param.length) : e.message;
  return new ApiError(e.status, e.code, message, param, e.type);
}
