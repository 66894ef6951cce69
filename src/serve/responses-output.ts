/**
 * A generation's chat deltas (tool-output.ts ChoiceOutput) → OpenAI Responses output items and stream events. One
 * class does both: the unstreamed response is the items of the deltas pushed at once, so a stream assembles to
 * exactly the unstreamed output. Pure: events go to the `emit` callback.
 *
 *   content deltas       an output item {type: "message", role: "assistant", content: [{type: "output_text", text}]}:
 *                        response.output_item.added, response.content_part.added, response.output_text.delta…,
 *                        then response.output_text.done, response.content_part.done, response.output_item.done
 *   a tool call's deltas an output item {type: "function_call", call_id, name, arguments}:
 *                        response.output_item.added, response.function_call_arguments.delta…, then
 *                        response.function_call_arguments.done, response.output_item.done
 *
 * Items are numbered by output_index in the order they open; an item closes when the next one opens or at the end.
 * Every event carries `type` and `sequence_number` (counted by the caller's emit).
 */
import { randomBytes } from 'node:crypto';
import type { ChatDelta } from './tool-output.js';

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: never[];
  /** the text's tokens with their alternatives when logprobs were asked for (routes-openai.ts logprobEntries) */
  logprobs: Record<string, unknown>[];
}

export interface MessageItem {
  id: string;
  type: 'message';
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: OutputText[];
}

export interface CallItem {
  id: string;
  type: 'function_call';
  status: 'in_progress' | 'completed' | 'incomplete';
  call_id: string;
  name: string;
  arguments: string;
}

export type OutputItem = MessageItem | CallItem;

/** An event without its sequence number (the emitter numbers them). */
export type ResponseEvent = { type: string } & Record<string, unknown>;

/** A new item id: `msg_…` for messages, `fc_…` for function calls, `fco_…` for their outputs (GET …/input_items). */
export const itemId = (prefix: string): string => `${prefix}_${randomBytes(16).toString('hex')}`;

const textPart = (text: string): OutputText => ({ type: 'output_text', text, annotations: [], logprobs: [] });

export class ResponseItems {
  readonly items: OutputItem[] = [];
  private open: OutputItem | null = null;
  /** logprob entries of tokens whose text has not come out as content yet (held back, or a call's) */
  private pending: Record<string, unknown>[] = [];

  constructor(private readonly emit: (e: ResponseEvent) => void = () => {}) {}

  /**
   * The events and item growth of one delta; `logprobs`: the entries of the tokens that produced it, which go with
   * the next content (the text's logprobs: every generated token's, as chat's are).
   */
  push(d: ChatDelta | null, logprobs: readonly Record<string, unknown>[] = []): void {
    this.pending.push(...logprobs);
    if (!d) return;
    if (d.content !== undefined && d.content !== '') {
      const m = this.open?.type === 'message' ? this.open : this.openMessage();
      const lp = this.pending;
      this.pending = [];
      m.content[0]!.text += d.content;
      m.content[0]!.logprobs.push(...lp);
      this.emit({ type: 'response.output_text.delta', item_id: m.id, output_index: this.items.length - 1, content_index: 0, delta: d.content, logprobs: lp });
    }
    for (const tc of d.tool_calls ?? []) {
      // a delta that names a call starts it (tool-output.ts: the first delta of each call carries id and name)
      const call = tc.id !== undefined ? this.openCall(tc.id, tc.function.name ?? '') : this.open?.type === 'function_call' ? this.open : null;
      if (!call || tc.function.arguments === '') continue;
      call.arguments += tc.function.arguments;
      this.emit({ type: 'response.function_call_arguments.delta', item_id: call.id, output_index: this.items.length - 1, delta: tc.function.arguments });
    }
  }

  /** Closes the open item with `status` (incomplete when the output was cut there; earlier items were completed). */
  finish(status: 'completed' | 'incomplete'): OutputItem[] {
    // tokens after the last content (a tool call's) count with the text, as chat's logprobs do
    const m = this.items.find((it): it is MessageItem => it.type === 'message');
    if (m) m.content[0]!.logprobs.push(...this.pending);
    this.pending = [];
    this.close(status);
    return this.items;
  }

  private openMessage(): MessageItem {
    this.close('completed');
    const m: MessageItem = { id: itemId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    this.add(m);
    m.content.push(textPart(''));
    this.emit({ type: 'response.content_part.added', item_id: m.id, output_index: this.items.length - 1, content_index: 0, part: textPart('') });
    return m;
  }

  private openCall(callId: string, name: string): CallItem {
    this.close('completed');
    const c: CallItem = { id: itemId('fc'), type: 'function_call', status: 'in_progress', call_id: callId, name, arguments: '' };
    this.add(c);
    return c;
  }

  private add(item: OutputItem): void {
    this.items.push(item);
    this.open = item;
    this.emit({ type: 'response.output_item.added', output_index: this.items.length - 1, item: structuredClone(item) });
  }

  private close(status: 'completed' | 'incomplete'): void {
    const it = this.open;
    if (!it) return;
    this.open = null;
    const index = this.items.indexOf(it);
    if (it.type === 'message') {
      const part = it.content[0]!;
      this.emit({ type: 'response.output_text.done', item_id: it.id, output_index: index, content_index: 0, text: part.text, logprobs: part.logprobs });
      this.emit({ type: 'response.content_part.done', item_id: it.id, output_index: index, content_index: 0, part: structuredClone(part) });
    } else {
      this.emit({ type: 'response.function_call_arguments.done', item_id: it.id, output_index: index, name: it.name, arguments: it.arguments });
    }
    it.status = status;
    this.emit({ type: 'response.output_item.done', output_index: index, item: structuredClone(it) });
  }
}
