/**
 * The responses a server keeps for the Responses API's `previous_response_id`, GET /v1/responses/{id}, DELETE and
 * GET …/input_items: in memory, the last `capacity` stored (least recently used out first; `serve.responses_store`,
 * 0 = none, as vLLM keeps them in memory behind VLLM_ENABLE_RESPONSES_API_STORE). Lost when the server stops.
 */
import { itemId } from './responses-output.js';

/** An input item as the Responses API lists it: with a type and an id. */
export type InputItem = { type: string; id: string } & Record<string, unknown>;

export interface StoredResponse {
  /** the response object as it was returned */
  response: Record<string, unknown>;
  /** the conversation before this response's own input: the previous responses' inputs and outputs, oldest first */
  before: readonly Record<string, unknown>[];
  /** this response's own input items, ids given */
  input: readonly InputItem[];
}

const ID_PREFIX: Record<string, string> = { message: 'msg', function_call: 'fc', function_call_output: 'fco' };

/** A request's input as items with ids (a text is one user message), as GET …/input_items lists them. */
export function inputItems(input: unknown): InputItem[] {
  const items = typeof input === 'string' ? [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }] : Array.isArray(input) ? (input as Record<string, unknown>[]) : [];
  return items.map((it) => {
    const type = typeof it.type === 'string' ? it.type : 'message';
    const id = typeof it.id === 'string' ? it.id : itemId(ID_PREFIX[type] ?? 'item');
    // a message's text content as parts, as OpenAI lists it (an assistant turn's as output_text)
    const content = type === 'message' && typeof it.content === 'string' ? { content: [{ type: it.role === 'assistant' ? 'output_text' : 'input_text', text: it.content }] } : {};
    return { ...it, type, id, ...content };
  });
}

export class ResponsesStore {
  private readonly entries = new Map<string, StoredResponse>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The stored response, now the most recently used; undefined when unknown (never stored, deleted or evicted). */
  get(id: string): StoredResponse | undefined {
    const e = this.entries.get(id);
    if (e) this.entries.delete(id), this.entries.set(id, e);
    return e;
  }

  put(id: string, e: StoredResponse): void {
    if (this.capacity === 0) return;
    this.entries.delete(id);
    this.entries.set(id, e);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
  }

  delete(id: string): boolean {
    return this.entries.delete(id);
  }

  /** The conversation a response continues from: everything before it, its input, then its output. */
  static conversation(e: StoredResponse): Record<string, unknown>[] {
    return [...e.before, ...e.input, ...((e.response.output as Record<string, unknown>[] | undefined) ?? [])];
  }
}
