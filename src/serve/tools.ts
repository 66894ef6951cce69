/**
 * Function calling on /v1/chat/completions: `tools`, `tool_choice` and `parallel_tool_calls` (OpenAI's
 * fields) → a plan for the prompt and the decoder.
 *
 *   tool_choice                      the tools reach the prompt   the output is
 *   "none"                           no                           text
 *   {"type":"function","function":   yes                          the named function's arguments, constrained to its
 *     {"name": N}}                                                parameters schema (vLLM's named tool choice)
 *   "required"                       yes                          a JSON array of {"name", "parameters"}, at least one
 *                                                                 (one with parallel_tool_calls false), each constrained to
 *                                                                 its function's schema (vLLM's schema for "required")
 *   "auto" (the default with tools)  yes                          free text, parsed for the calls of the prompt format's
 *                                                                 syntax (service.toolFormat: Hermes blocks, Llama 3 JSON
 *                                                                 or Mistral's [TOOL_CALLS]); with parallel_tool_calls false,
 *                                                                 the first call only
 *
 * Parameters schemas follow structured output's subset (src/model/constrain/json-schema.ts) where they constrain
 * (named, required): another keyword is a 400 naming `tools[i].function.parameters`. A function without parameters
 * takes an object. Pure: no I/O.
 */
import { compileSchema, type SchemaNode } from '../model/constrain/json-schema.js';
import { jsonRecognizer } from '../model/constrain/json-recognizer.js';
import type { Recognizer } from '../model/constrain/recognizer.js';
import { isWiseError } from '../util/errors.js';
import type { ChatMessage, ToolDef } from './chat-messages.js';
import { ApiError, badValue } from './errors.js';
import type { StructuredOutput } from './structured.js';
import { isObject } from '../util/is-object.js';

export type ToolMode = 'none' | 'named' | 'required' | 'auto';

export interface ToolPlan {
  mode: ToolMode;
  /** the tools the prompt shows ([] for none) */
  tools: ToolDef[];
  /** the function names the request declared */
  names: ReadonlySet<string>;
  /** named: the function */
  name?: string;
  /** how the prompt format writes calls: auto parses the reply by it; every mode takes its call ids' form from it */
  format?: ToolFormat;
  /** auto with parallel_tool_calls false: only the first call the reply writes is returned */
  single?: boolean;
  /** named and required: what the output is held to */
  structured?: StructuredOutput;
}

/**
 * A prompt format's way of writing tool calls, or null when it has none:
 *   hermes       <tool_call>{"name": …, "arguments": {…}}</tool_call> blocks (Qwen2.5's, Hermes', the plain fallback)
 *   llama3_json  the reply is {"name": …, "parameters": {…}} objects, `;`-separated (Llama 3.1 / 3.2's templates)
 *   mistral      [TOOL_CALLS] [{"name": …, "arguments": {…}}, …] (Mistral 7B v0.3's tokenizer and earlier), or
 *                [TOOL_CALLS]name[ARGS]{…} per call (v11 and later); [TOOL_CALLS] is a special token, so the text keeps
 *                special tokens (vLLM's mistral parser), and call ids are 9 letters or digits (its template refuses others)
 */
export type ToolFormat = 'hermes' | 'llama3_json' | 'mistral' | null;

/** The format a chat template writes tool calls in: <tool_call> tags, Mistral's [TOOL_CALLS], or Llama 3's "parameters" JSON; else null. */
export function templateToolFormat(template: string): ToolFormat {
  if (template.includes('<tool_call>')) return 'hermes';
  if (template.includes('[TOOL_CALLS]')) return 'mistral';
  if (template.includes('<|python_tag|>') || template.includes('"parameters"')) return 'llama3_json';
  return null;
}

/** Mistral's call ids: 9 letters or digits (mistral-common's rule, which its chat templates raise on). */
export const MISTRAL_ID_LENGTH = 9;

/**
 * The messages with call ids the format's template takes: for Mistral, an id longer than 9 characters keeps its
 * last 9 (vLLM's truncate_tool_call_ids), in assistant tool_calls and in tool results alike, so "call_…" ids a
 * client made itself still pair up. Other formats take any id.
 */
export function callIdsFor(messages: readonly ChatMessage[], format: ToolFormat): ChatMessage[] {
  if (format !== 'mistral') return [...messages];
  const cut = (id: string): string => (id.length > MISTRAL_ID_LENGTH ? id.slice(-MISTRAL_ID_LENGTH) : id);
  return messages.map((m) => ({
    ...m,
    ...(m.tool_calls ? { tool_calls: m.tool_calls.map((c) => ({ ...c, id: cut(c.id) })) } : {}),
    ...(m.tool_call_id !== undefined ? { tool_call_id: cut(m.tool_call_id) } : {}),
  }));
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** `tools`: each {type: 'function', function: {name, description?, parameters?, strict?}}, names unique; 400 naming the entry. */
export function parseTools(v: unknown): ToolDef[] {
  if (!Array.isArray(v)) throw badValue('tools', 'expected an array of {"type": "function", "function": {"name", "parameters"}}');
  const seen = new Set<string>();
  return v.map((t, i) => {
    const at = `tools[${i}]`;
    if (!isObject(t) || t.type !== 'function') throw badValue(`${at}.type`, 'expected "function" (the only tool type)');
    const f = t.function;
    if (!isObject(f)) throw badValue(`${at}.function`, 'expected an object {"name", "description"?, "parameters"?}');
    if (typeof f.name !== 'string' || !NAME.test(f.name)) throw badValue(`${at}.function.name`, 'required: 1–64 letters, digits, _ or -');
    if (seen.has(f.name)) throw badValue(`${at}.function.name`, `"${f.name}" is declared twice`);
    seen.add(f.name);
    if (f.description !== undefined && typeof f.description !== 'string') throw badValue(`${at}.function.description`, 'expected a string');
    if (f.parameters !== undefined && !isObject(f.parameters)) throw badValue(`${at}.function.parameters`, 'expected a JSON schema object');
    return { type: 'function', function: f as ToolDef['function'] };
  });
}

function parseChoice(v: unknown, names: ReadonlySet<string>): { mode: ToolMode; name?: string } {
  if (v === 'none' || v === 'auto' || v === 'required') return { mode: v };
  if (isObject(v) && v.type === 'function' && isObject(v.function) && typeof v.function.name === 'string') {
    const name = v.function.name;
    if (!names.has(name)) throw badValue('tool_choice.function.name', `"${name}" is not one of the tools (${[...names].join(', ')})`);
    return { mode: 'named', name };
  }
  throw badValue('tool_choice', 'expected "none", "auto", "required" or {"type": "function", "function": {"name": …}}');
}

/** A function's arguments schema ({} / absent: an object), compiled where it constrains; 400 naming its path. */
function parametersSchema(tools: readonly ToolDef[], name: string): Record<string, unknown> {
  return tools.find((t) => t.function.name === name)?.function.parameters ?? { type: 'object' };
}

/** A parameters schema compiled on its own (its $refs point into itself); 400 naming `param` when outside the subset. */
function compiled(schema: unknown, param: string): SchemaNode {
  try {
    return compileSchema(schema);
  } catch (e) {
    if (isWiseError(e) && e.code === 'WISE_BAD_SCHEMA') throw badValue(param, e.message);
    throw e;
  }
}

const recognizer = (node: SchemaNode): Recognizer<unknown> => jsonRecognizer(node) as Recognizer<unknown>;

/**
 * The request's plan. `format` is the prompt format's tool-call syntax (null: "auto" is a 400, as vLLM's
 * without a tool parser); the body's parallel_tool_calls (default true) false allows one call.
 */
export function toolPlan(body: Record<string, unknown>, format: ToolFormat): ToolPlan {
  const given = (k: string): boolean => body[k] !== undefined && body[k] !== null;
  const tools = given('tools') ? parseTools(body.tools) : [];
  const names = new Set(tools.map((t) => t.function.name));
  if (given('parallel_tool_calls') && typeof body.parallel_tool_calls !== 'boolean') throw badValue('parallel_tool_calls', 'expected a boolean');
  if (tools.length === 0) {
    if (given('tool_choice') && body.tool_choice !== 'none') throw badValue('tool_choice', 'needs tools (none are given)');
    return { mode: 'none', tools: [], names };
  }
  const choice = given('tool_choice') ? parseChoice(body.tool_choice, names) : { mode: 'auto' as const };
  switch (choice.mode) {
    case 'none':
      return { mode: 'none', tools: [], names };
    case 'auto':
      if (format === null) {
        throw new ApiError(400, 'unsupported_value', 'tool_choice: "auto" (the default when tools are given) needs a prompt format that writes tool calls; this checkpoint\'s chat template has none (no <tool_call> tags, no [TOOL_CALLS], no Llama 3 "parameters" JSON): ask for tool_choice "required" or a named function, or "none"', 'tool_choice');
      }
      return { mode: 'auto', tools, names, format, ...(body.parallel_tool_calls === false ? { single: true } : {}) };
    case 'named': {
      const name = choice.name!;
      const i = tools.findIndex((t) => t.function.name === name);
      const node = compiled(parametersSchema(tools, name), `tools[${i}].function.parameters`);
      return { mode: 'named', tools, names, name, format, structured: { recognizer: recognizer(node), field: 'tool_choice' } };
    }
    case 'required': {
      // vLLM's array of {"name", "parameters"}, built from each function's compiled parameters (each keeps its own $refs)
      const params = tools.map((t, i) => compiled(parametersSchema(tools, t.function.name), `tools[${i}].function.parameters`));
      const calls: SchemaNode = {
        kind: 'array',
        prefix: [],
        min: 1,
        max: body.parallel_tool_calls === false ? 1 : Infinity,
        items: {
          kind: 'union',
          of: tools.map((t, i) => ({
            kind: 'object',
            props: new Map<string, SchemaNode>([['name', { kind: 'literal', texts: [JSON.stringify(t.function.name)] }], ['parameters', params[i]!]]),
            required: new Set(['name', 'parameters']),
            extra: null,
          })),
        },
      };
      return { mode: 'required', tools, names, format, structured: { recognizer: recognizer(calls), field: 'tool_choice' } };
    }
  }
}
