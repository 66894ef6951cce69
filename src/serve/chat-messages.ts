/**
 * Chat messages as the OpenAI routes take them, and the plain prompt of a checkpoint without a chat template.
 *
 *   {role: system|developer|user, content}                      developer is read as system (OpenAI's newer name)
 *   {role: assistant, content?, tool_calls?: [{id, type: 'function', function: {name, arguments}}]}
 *   {role: tool, tool_call_id, content}                          a tool's result, answering an earlier call
 *
 * content is a string or [{type: 'text', text}] parts; it may be null or absent only on an assistant turn
 * that carries tool calls. A template reads tool calls' arguments as an object (transformers' convention,
 * and what vLLM hands its templates), so a JSON text is parsed for it; a text that is not JSON stays a string.
 *
 * The plain fallback ("Role: content" lines, then "Assistant:") writes tools and tool calls in the Hermes
 * format that tool-output.ts parses (Qwen2.5's and Hermes' templates write the same tags):
 *   System: {system text}\nFunctions, called as <tool_call>{"name": …, "arguments": {…}}</tool_call>:\n{one signature per line}
 *   Assistant: {content}<tool_call>{"name": …, "arguments": {…}}</tool_call>
 *   Tool: {content}
 * Pure: no I/O.
 */
import { continueFinal, DEFAULT_RENDER, type ChatRender } from './chat-render.js';
import type { ChatMessage } from '../model/tokenizer.js';
import { ApiError } from './errors.js';
import { contentText, type ChatContent } from './schemas.js';
import { isObject } from '../util/is-object.js';

export type { ChatMessage } from '../model/tokenizer.js';

/** A tool call as OpenAI writes it: arguments are JSON text. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** One entry of `tools`: a function the model may call; parameters is a JSON schema of its arguments. */
export interface ToolDef {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

/** A message of a schema-valid body (schemas.ts messagesSchema). */
export interface BodyMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: ChatContent | null;
  tool_calls?: ToolCall[] | null;
  tool_call_id?: string | null;
}

export const TOOL_OPEN = '<tool_call>';
export const TOOL_CLOSE = '</tool_call>';
const TOOLS_PREAMBLE = `Functions, called as ${TOOL_OPEN}{"name": …, "arguments": {…}}${TOOL_CLOSE}:`;

/** A schema's type in a signature: its enum values (a|b), its type or types (string|null), else "any". */
function typeText(s: unknown): string {
  if (!isObject(s)) return 'any';
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join('|');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.type)) return s.type.join('|');
  return typeof s.type === 'string' ? s.type : 'any';
}

/**
 * A function as one line: name(param: type, optional?: type) — description. Compact on purpose: a JSON
 * schema per tool would fill a small model's context (the bundled model's is 256 tokens).
 */
export function signature(t: ToolDef): string {
  const p = t.function.parameters;
  const props = isObject(p) && isObject(p.properties) ? p.properties : {};
  const required = new Set(isObject(p) && Array.isArray(p.required) ? (p.required as unknown[]) : []);
  const params = Object.entries(props).map(([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${typeText(v)}`);
  const d = t.function.description;
  return `${t.function.name}(${params.join(', ')})${d ? ` — ${d}` : ''}`;
}

/** arguments JSON text → the value a template reads: the parsed object, or the text when it is not JSON */
function argumentsValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The messages a template or the fallback renders. Throws 400 naming `messages[i].field` for what a
 * schema cannot say: content missing on a turn without tool calls, tool calls off an assistant turn, a
 * tool result without its tool_call_id.
 */
export function chatMessages(body: readonly BodyMessage[]): ChatMessage[] {
  return body.map((m, i) => {
    const calls = m.tool_calls ?? [];
    if (calls.length > 0 && m.role !== 'assistant') throw new ApiError(400, 'invalid_value', `messages[${i}].tool_calls: only an assistant message carries tool calls (this one is ${m.role})`, `messages[${i}].tool_calls`);
    if (m.content == null && calls.length === 0) throw new ApiError(400, 'missing_field', `messages[${i}].content: is required (it may be null only on an assistant message with tool_calls)`, `messages[${i}].content`);
    if (m.role === 'tool' && (m.tool_call_id == null || m.tool_call_id === '')) throw new ApiError(400, 'missing_field', `messages[${i}].tool_call_id: a tool message names the call it answers`, `messages[${i}].tool_call_id`);
    return {
      role: m.role === 'developer' ? 'system' : m.role,
      content: m.content == null ? '' : contentText(m.content),
      ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.function.name, arguments: argumentsValue(c.function.arguments) } })) } : {}),
      ...(m.role === 'tool' ? { tool_call_id: m.tool_call_id as string } : {}),
    };
  });
}

/** One call in the Hermes format: <tool_call>{"name": …, "arguments": …}</tool_call> (arguments as given when not JSON). */
export function hermesCall(name: string, args: unknown): string {
  return `${TOOL_OPEN}${JSON.stringify({ name, arguments: args })}${TOOL_CLOSE}`;
}

/**
 * The plain chat fallback: "Role: content" lines, then "Assistant:" (with add_generation_prompt; continue_final_message
 * ends inside the final message instead); tools and tool calls as the file header says.
 */
export function plainChatPrompt(messages: readonly ChatMessage[], tools: readonly ToolDef[] = [], render: ChatRender = DEFAULT_RENDER): string {
  const name = (r: string): string => r.charAt(0).toUpperCase() + r.slice(1);
  const lines = messages.map((m) => `${name(m.role)}: ${m.content}${(m.tool_calls ?? []).map((c) => hermesCall(c.function.name, c.function.arguments)).join('')}`);
  if (tools.length > 0) {
    const block = `${TOOLS_PREAMBLE}\n${tools.map(signature).join('\n')}`;
    if (messages[0]?.role === 'system') lines[0] = `${lines[0]}\n${block}`;
    else lines.unshift(`System: ${block}`);
  }
  const text = lines.join('\n');
  if (render.continueFinal) return continueFinal(text, messages);
  return render.addGenerationPrompt ? `${text}\nAssistant:` : text;
}
