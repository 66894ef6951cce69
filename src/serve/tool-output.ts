/**
 * A chat choice's generated text → OpenAI's message fields, streamed (deltas) or whole. One class does
 * both: the whole message is the deltas of the text pushed at once, merged, so a stream assembles to
 * exactly the unstreamed message.
 *
 *   plan mode   streamed                                          message                    finish_reason
 *   none        each piece as content                             {content: text}            as generated
 *   named       each piece as the call's arguments (the first     {content: null,            as generated (OpenAI's and
 *               delta names id, type and function)                 tool_calls: [1]}           vLLM's for a forced function)
 *   required    held; at the end the calls (or, when the text     {content: null,            tool_calls (or as generated)
 *               is no complete array, the text as content)         tool_calls: [k]}
 *   auto        content up to a <tool_call> (a piece that may     {content: text before the  tool_calls when parsed
 *               start one is held, and so is leading whitespace);  first block, null when     (else as generated)
 *               the blocks at the end                              blank, …}
 *
 * Auto parses the prompt format's syntax (tools.ts ToolFormat): Hermes blocks (<tool_call>{"name", "arguments"}
 * </tool_call>, the last one's closing tag optional, as vLLM's hermes parser), Llama 3's reply of JSON objects
 * {"name", "parameters"} (a reply that starts with `{`, held whole; vLLM's llama3_json), or Mistral's calls after
 * [TOOL_CALLS] (streamed as Hermes: content up to the token, the calls at the end; vLLM's mistral). Every call must
 * name a declared function, with arguments an object; otherwise the whole text is content. Pure: no I/O.
 */
import { heldBack } from './stop-strings.js';
import { TOOL_CLOSE, TOOL_OPEN, type ToolCall } from './chat-messages.js';
import type { ToolPlan } from './tools.js';
import { isObject } from '../util/is-object.js';

/** Mistral's tool-call token: the calls follow it (a special token, so the text must keep special tokens). */
export const MISTRAL_OPEN = '[TOOL_CALLS]';

/** One tool call's part of a streamed delta: the first for a call carries id, type and name. */
export interface DeltaToolCall {
  index: number;
  id?: string;
  type?: 'function';
  function: { name?: string; arguments: string };
}

export interface ChatDelta {
  content?: string;
  tool_calls?: DeltaToolCall[];
}

export interface ChatMessageOut {
  role: 'assistant';
  content: string | null;
  tool_calls?: ToolCall[];
}

/** Complete calls as one delta. */
const callsDelta = (calls: readonly ToolCall[]): ChatDelta => ({
  tool_calls: calls.map((c, index) => ({ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: c.function.arguments } })),
});

/** JSON.parse, or undefined when the text is not JSON. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A call of a declared function with object arguments, or null. */
function declaredCall(name: unknown, args: unknown, names: ReadonlySet<string>, newId: () => string): ToolCall | null {
  if (typeof name !== 'string' || !names.has(name) || !isObject(args)) return null;
  return { id: newId(), type: 'function', function: { name, arguments: JSON.stringify(args) } };
}

/** The calls of Hermes blocks in `text` (from its first <tool_call>), or null when one is not a call of a declared function. */
export function parseHermes(text: string, names: ReadonlySet<string>, newId: () => string): ToolCall[] | null {
  const calls: ToolCall[] = [];
  let at = text.indexOf(TOOL_OPEN);
  while (at >= 0) {
    const start = at + TOOL_OPEN.length;
    const end = text.indexOf(TOOL_CLOSE, start);
    const v = parsed(text.slice(start, end < 0 ? undefined : end).trim());
    const call = isObject(v) ? declaredCall(v.name, v.arguments ?? {}, names, newId) : null;
    if (!call) return null;
    calls.push(call);
    if (end < 0) break;
    at = text.indexOf(TOOL_OPEN, end + TOOL_CLOSE.length);
  }
  return calls.length > 0 ? calls : null;
}

/** The end (exclusive) of the JSON object or array starting at text[from] ('{' or '['), or -1 when it does not close. */
function jsonEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * The calls of a Llama 3 JSON reply: one or more {"name": …, "parameters" (or "arguments"): {…}} objects, `;` between
 * them (vLLM's llama3_json parser); null when the reply is anything else.
 */
export function parseLlama3Json(text: string, names: ReadonlySet<string>, newId: () => string): ToolCall[] | null {
  const calls: ToolCall[] = [];
  let at = text.search(/\S/);
  while (at >= 0 && at < text.length) {
    if (text[at] !== '{') return null;
    const end = jsonEnd(text, at);
    if (end < 0) return null;
    const v = parsed(text.slice(at, end));
    const call = isObject(v) ? declaredCall(v.name, v.parameters ?? v.arguments ?? {}, names, newId) : null;
    if (!call) return null;
    calls.push(call);
    const rest = /^\s*;?\s*/.exec(text.slice(end))![0].length;
    at = end + rest;
  }
  return calls.length > 0 ? calls : null;
}

/**
 * The calls after Mistral's [TOOL_CALLS] tokens, or null when one is not a call of a declared function. Each
 * token is followed by a JSON array of {"name", "arguments"} (tokenizers before v11; what follows the array is
 * ignored, as vLLM's raw_decode) or by name{arguments}, [ARGS] between them in v11+ text (vLLM's mistral parser).
 */
export function parseMistral(text: string, names: ReadonlySet<string>, newId: () => string): ToolCall[] | null {
  const calls: ToolCall[] = [];
  for (const part of text.split(MISTRAL_OPEN).slice(1)) {
    const at = part.search(/\S/);
    if (at >= 0 && part[at] === '[') {
      const end = jsonEnd(part, at);
      const list = end < 0 ? undefined : parsed(part.slice(at, end));
      if (!Array.isArray(list) || list.length === 0) return null;
      for (const c of list) {
        const call = isObject(c) ? declaredCall(c.name, c.arguments ?? {}, names, newId) : null;
        if (!call) return null;
        calls.push(call);
      }
      continue;
    }
    const brace = part.indexOf('{');
    const end = brace < 0 ? -1 : jsonEnd(part, brace);
    if (end < 0 || part.slice(end).trim() !== '') return null;
    const call = declaredCall(part.slice(0, brace).replace('[ARGS]', '').trim(), parsed(part.slice(brace, end)), names, newId);
    if (!call) return null;
    calls.push(call);
  }
  return calls.length > 0 ? calls : null;
}

/** The calls of "required"'s array [{name, parameters}], or null when the text is not one (cut short). */
function parseRequired(text: string, names: ReadonlySet<string>, newId: () => string): ToolCall[] | null {
  const v = parsed(text);
  if (!Array.isArray(v) || v.length === 0) return null;
  const calls: ToolCall[] = [];
  for (const c of v) {
    const call = isObject(c) ? declaredCall(c.name, c.parameters ?? {}, names, newId) : null;
    if (!call) return null;
    calls.push(call);
  }
  return calls;
}

export class ChoiceOutput {
  private text = '';
  /** characters of `text` sent as content (auto) or as arguments (named) */
  private sent = 0;
  private inCall = false;
  private callId: string | null = null;

  constructor(
    private readonly plan: ToolPlan,
    private readonly newId: () => string,
  ) {}

  /** The delta for a new piece of text, or null when nothing is to be sent yet. */
  push(piece: string): ChatDelta | null {
    this.text += piece;
    switch (this.plan.mode) {
      case 'none':
        return piece === '' ? null : { content: piece };
      case 'named':
        return piece === '' ? null : this.argumentsDelta(piece);
      case 'required':
        return null;
      case 'auto': {
        if (this.inCall) return null;
        if (this.plan.format === 'llama3_json') {
          // a reply that starts with { is a call (held to the end); any other is content
          const first = this.text.search(/\S/);
          if (first < 0) return null;
          if (this.sent === 0 && this.text[first] === '{') {
            this.inCall = true;
            return null;
          }
          return this.content(this.text.length);
        }
        const opener = this.plan.format === 'mistral' ? MISTRAL_OPEN : TOOL_OPEN;
        const open = this.text.indexOf(opener, this.sent); // none starts before `sent`: a possible start is held back
        if (open >= 0) this.inCall = true;
        const upTo = open >= 0 ? open : this.text.length - heldBack(this.text, [opener]);
        // leading whitespace waits: before a call it is dropped (content null), before text it is sent with it
        if (this.sent === 0 && this.text.slice(0, upTo).trim() === '') return null;
        return this.content(upTo);
      }
    }
  }

  /** The last delta (null: none) and the finish reason, given the generation's. */
  finish(generated: string): { delta: ChatDelta | null; finishReason: string } {
    const names = this.plan.names;
    switch (this.plan.mode) {
      case 'none':
        return { delta: null, finishReason: generated };
      case 'named':
        return { delta: this.callId === null ? this.argumentsDelta('') : null, finishReason: generated };
      case 'required': {
        const calls = parseRequired(this.text, names, this.newId);
        return calls ? { delta: callsDelta(calls), finishReason: 'tool_calls' } : { delta: this.content(this.text.length), finishReason: generated };
      }
      case 'auto': {
        const parse = this.plan.format === 'llama3_json' ? parseLlama3Json : this.plan.format === 'mistral' ? parseMistral : parseHermes;
        const calls = this.inCall ? parse(this.text, names, this.newId) : null;
        if (!calls) return { delta: this.content(this.text.length), finishReason: generated };
        return { delta: callsDelta(this.plan.single ? calls.slice(0, 1) : calls), finishReason: 'tool_calls' }; // parallel_tool_calls false: the first
      }
    }
  }

  /** content text[sent, upTo) as a delta, or null when empty */
  private content(upTo: number): ChatDelta | null {
    if (upTo <= this.sent) return null;
    const piece = this.text.slice(this.sent, upTo);
    this.sent = upTo;
    return { content: piece };
  }

  private argumentsDelta(piece: string): ChatDelta {
    if (this.callId !== null) return { tool_calls: [{ index: 0, function: { arguments: piece } }] };
    this.callId = this.newId();
    return { tool_calls: [{ index: 0, id: this.callId, type: 'function', function: { name: this.plan.name!, arguments: piece } }] };
  }
}

/** Deltas merged into a message: content joined (null when there is none and calls are), calls assembled by index. */
export function mergeDeltas(deltas: readonly (ChatDelta | null)[], plan: ToolPlan): ChatMessageOut {
  let content: string | null = null;
  const calls: ToolCall[] = [];
  for (const d of deltas) {
    if (!d) continue;
    if (d.content !== undefined) content = (content ?? '') + d.content;
    for (const c of d.tool_calls ?? []) {
      const at = calls[c.index];
      if (at) at.function.arguments += c.function.arguments;
      else calls[c.index] = { id: c.id!, type: 'function', function: { name: c.function.name!, arguments: c.function.arguments } };
    }
  }
  if (plan.mode === 'none') return { role: 'assistant', content: content ?? '' };
  return calls.length > 0 ? { role: 'assistant', content, tool_calls: calls } : { role: 'assistant', content: content ?? '' };
}

/** The whole message of a choice's text, and its finish reason. */
export function choiceMessage(plan: ToolPlan, text: string, generated: string, newId: () => string): { message: ChatMessageOut; finishReason: string } {
  const out = new ChoiceOutput(plan, newId);
  const first = out.push(text);
  const { delta, finishReason } = out.finish(generated);
  return { message: mergeDeltas([first, delta], plan), finishReason };
}
