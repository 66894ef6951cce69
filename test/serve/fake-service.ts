/**
 * FakeService: a TEST DOUBLE for ModelService, with no neural network in it. It exists to
 * test the HTTP layer deterministically and fast:
 *   - tokens are Unicode code points (encode = code points, one "token" per character; a
 *     token-id prompt is its code points);
 *   - its knowledge is a Map prompt → answer. The base knows nothing and babbles a fixed
 *     sentence (" the quick brown fox ..." cycled; temperature > 0 with a seed only shifts
 *     where in the cycle it starts); an applied edit adds a fact, answered by memory `mem-ID`
 *     and ended with EOS (finish 'stop');
 *   - `applyEdit` "trains" for `editDelayMs`, then swaps the state atomically;
 *   - `generateBatch` snapshots the state when it starts and emits one character per tick
 *     (`tickMs`, awaited), so an edit can be applied while a stream is running;
 *   - with `slots: n` it reports n decode slots (GET /slots), the first n generations in flight
 *     holding them; `specialTokens` spells vocabulary entries for `tokenId` (/infill's FIM tokens).
 * The chat template is the plain one: "System: …\nUser: …\nAssistant:" lines (src/serve/chat-messages.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WiseError } from '../../src/util/errors.js';
import { firstStop, heldBack } from '../../src/serve/stop-strings.js';
import type { EditRequest } from '../../src/edits/request.js';
import { plainChatPrompt, type ChatMessage, type ToolDef } from '../../src/serve/chat-messages.js';
import type { ToolFormat } from '../../src/serve/tools.js';
import type { ChatRender } from '../../src/serve/chat-render.js';
import type { EditSummary, GenerateOptions, GenerateResult, ModelService, PromptInput, SlotRow } from '../../src/serve/service.js';

const BABBLE = ' the quick brown fox jumps over the lazy dog.';

export interface FakeServiceOptions {
  baseName?: string;
  /** delay per emitted character; default 1 ms */
  tickMs?: number;
  /** how long an edit "trains"; default 20 ms */
  editDelayMs?: number;
  /** the prompt format's tool-call syntax; default 'hermes' (the plain prompt's); null: tool_choice auto is refused */
  toolFormat?: ToolFormat;
  /** decode slots for GET /slots; absent: the fake keeps none (a 501) */
  slots?: number;
  /** vocabulary spellings → ids (code points) for `tokenId`; default none */
  specialTokens?: Record<string, number>;
}

interface State {
  seq: number;
  facts: Map<string, { answer: string; editId: number }>;
}

export class FakeService implements ModelService {
  readonly baseName: string;
  readonly tickMs: number;
  readonly editDelayMs: number;
  private state: State = { seq: 0, facts: new Map() };
  private readonly edits: EditSummary[] = [];
  /** dirs passed to backup(), in order */
  readonly backups: string[] = [];
  /** how many generations ran (for tests) */
  generations = 0;
  /** how many generations were aborted (for tests) */
  aborted = 0;
  /** the options of the last generation (for tests) */
  lastOptions: GenerateOptions | undefined;
  /** the prompt of the last generation, as its code points (for tests) */
  lastPrompt: string | undefined;
  /** generations in flight, in the order they started */
  private readonly inflight = new Set<SlotRow>();
  readonly slots?: () => readonly (SlotRow | null)[];
  private readonly specialTokens: Record<string, number>;

  constructor(opts: FakeServiceOptions = {}) {
    this.baseName = opts.baseName ?? 'fake-base';
    this.tickMs = opts.tickMs ?? 1;
    this.editDelayMs = opts.editDelayMs ?? 20;
    this.toolFormat = opts.toolFormat === undefined ? 'hermes' : opts.toolFormat;
    this.specialTokens = opts.specialTokens ?? {};
    const n = opts.slots;
    if (n !== undefined) {
      this.slots = () => {
        const busy = [...this.inflight].slice(0, n);
        return Array.from({ length: n }, (_, i) => busy[i] ?? null);
      };
    }
  }

  tokenId(piece: string): number | null {
    return this.specialTokens[piece] ?? null;
  }

  editSeq(): number {
    return this.state.seq;
  }

  /**
   * token ids are code points; U+0002 (STX) stands for BOS, the prefix /tokenize's add_special prepends
   * (generation, a string-level fake, counts a prompt's code points without it)
   */
  readonly vocabSize = 0x110000;
  readonly prefixIds = [2];
  /** the fake has no context limit of its own; this is what /tokenize reports */
  readonly contextLength = 4096;

  encode(text: string): number[] {
    return Array.from(text, (c) => c.codePointAt(0) as number);
  }

  decode(ids: readonly number[]): string {
    return String.fromCodePoint(...ids);
  }

  chatPrompt(messages: readonly ChatMessage[], tools: readonly ToolDef[] = [], render?: ChatRender): string {
    return plainChatPrompt(messages, tools, render);
  }

  readonly toolFormat: ToolFormat;

  private answer(state: State, prompt: string, opts: GenerateOptions): { text: string; memory: string; eos: boolean } {
    const key = prompt.trim();
    for (const [p, f] of state.facts) {
      if (key.endsWith(p)) return { text: f.answer, memory: `mem-${f.editId}`, eos: true };
    }
    let offset = 0;
    if (opts.temperature > 0 && opts.seed !== undefined) offset = opts.seed % BABBLE.length;
    let text = '';
    for (let i = 0; text.length < opts.maxTokens; i++) text += BABBLE[(offset + i) % BABBLE.length];
    return { text, memory: 'main', eos: false };
  }

  async generateBatch(prompts: readonly PromptInput[], optsFor: (i: number) => GenerateOptions, onResult?: (i: number, r: GenerateResult) => void): Promise<GenerateResult[]> {
    const state = this.state; // the snapshot: a later edit replaces this.state, never mutates it
    const out: GenerateResult[] = [];
    for (let i = 0; i < prompts.length; i++) {
      const p = prompts[i]!;
      out.push(await this.generateOn(state, typeof p === 'string' ? p : this.decode(p), optsFor(i)));
      onResult?.(i, out[i]!);
    }
    return out;
  }

  private async generateOn(state: State, prompt: string, opts: GenerateOptions): Promise<GenerateResult> {
    this.generations++;
    this.lastOptions = opts;
    this.lastPrompt = prompt;
    const plan = this.answer(state, prompt, opts);
    const full = Array.from(plan.text);
    const chars = full.slice(0, opts.maxTokens);
    const row: SlotRow = { promptTokens: this.encode(prompt).length, decoded: 0, budget: chars.length };
    this.inflight.add(row);
    try {
      return await this.emit(state, prompt, opts, plan, chars, full.length, row);
    } finally {
      this.inflight.delete(row);
    }
  }

  private async emit(state: State, prompt: string, opts: GenerateOptions, plan: { memory: string; eos: boolean }, chars: string[], fullLength: number, row: SlotRow): Promise<GenerateResult> {
    const stops = opts.stop ?? [];
    let text = '';
    let emitted = 0;
    let finish: 'stop' | 'length' = plan.eos && chars.length === fullLength ? 'stop' : 'length';
    let count = 0;
    let stopString: string | undefined;
    for (const c of chars) {
      if (opts.signal?.aborted) {
        this.aborted++;
        throw new WiseError('WISE_INTERNAL', 'generation aborted');
      }
      if (this.tickMs > 0) await sleep(this.tickMs);
      text += c;
      count++;
      row.decoded = count;
      const hit = firstStop(text, stops);
      if (hit >= 0) {
        stopString = stops.find((w) => text.startsWith(w, hit));
        text = text.slice(0, hit);
        finish = 'stop';
        break;
      }
      const safe = text.length - heldBack(text, stops);
      if (safe > emitted) {
        opts.onText?.(text.slice(emitted, safe));
        emitted = safe;
      }
    }
    if (text.length > emitted) opts.onText?.(text.slice(emitted));
    return {
      text,
      ids: this.encode(text),
      finishReason: finish,
      ...(stopString !== undefined ? { stopString } : {}),
      promptTokens: this.encode(prompt).length,
      completionTokens: count,
      memory: plan.memory,
      editSeq: state.seq,
    };
  }

  async applyEdit(req: EditRequest): Promise<EditSummary> {
    await sleep(this.editDelayMs);
    const id = this.edits.length + 1;
    const target = req.target.startsWith(' ') ? req.target : ` ${req.target}`;
    const summary: EditSummary = { id, prompt: req.prompt, target, status: 'active', shardId: null, createdAt: new Date().toISOString() };
    this.edits.push(summary);
    this.swap();
    return { ...summary };
  }

  async listEdits(): Promise<EditSummary[]> {
    return this.edits.map((e) => ({ ...e }));
  }

  async getEdit(id: number): Promise<EditSummary | undefined> {
    const e = this.edits.find((x) => x.id === id);
    return e ? { ...e } : undefined;
  }

  async revertEdit(id: number): Promise<EditSummary> {
    const e = this.edits.find((x) => x.id === id);
    if (!e) throw new WiseError('WISE_NOT_FOUND', `no edit ${id}`, { field: 'id' });
    if (e.status === 'reverted') throw new WiseError('WISE_BAD_REQUEST', `edit ${id} is already reverted`, { field: 'id' });
    await sleep(this.editDelayMs);
    e.status = 'reverted';
    this.swap();
    return { ...e };
  }

  async mergeNow(): Promise<{ merged: boolean; memory: string | null }> {
    return { merged: false, memory: null };
  }

  /** The fake has no store: it reports the copy it would make (the real one: test/serve/real-model.test.ts). */
  async backup(dir: string): Promise<{ records: number; blobs: number; blobBytes: number }> {
    this.backups.push(dir);
    return { records: this.edits.length, blobs: 0, blobBytes: 0 };
  }

  /** Builds the next state from the active edits and publishes it in one assignment. */
  private swap(): void {
    const facts = new Map<string, { answer: string; editId: number }>();
    for (const e of this.edits) if (e.status === 'active') facts.set(e.prompt.trim(), { answer: e.target, editId: e.id });
    this.state = { seq: this.edits.filter((e) => e.status === 'active').length, facts };
  }
}
