/**
 * WiseModelService: the real ModelService, a loaded CausalLM plus a WiseEditor over a store.
 * `wise serve` builds one; tests run the server suite on it (test/serve/real-model.test.ts).
 *
 * Generation (also used by `wise generate`, see `generateText`):
 *  - the routing state is captured once when a call starts (`editor.variant()` of the current
 *    immutable editor state), so an edit applied meanwhile never reaches a call in flight;
 *  - every call's prompts (a request's prompts × its n choices) decode on one DecodeScheduler:
 *    up to `batchSize` rows at a time, from one request or several (continuous batching), each
 *    as it would alone up to float rounding (decode-texts.ts, model/decode-scheduler.ts);
 *  - text decoding, stop strings and echo: text-decode.ts;
 *  - the signal aborts between tokens (the call then rejects with WISE_INTERNAL 'generation aborted').
 *
 * Chat prompts use the checkpoint's chat template when it has one (tools passed to it as `tools`), else
 * the plain fallback "System: …\nUser: …\nAssistant:" (chat-messages.ts; tools in the Hermes format).
 */
import * as path from 'node:path';
import type { CausalLM } from '../model/causal-lm.js';
import type { WiseEditor } from '../edits/editor.js';
import type { EditRequest } from '../edits/request.js';
import { backupStore, type EditRecord } from '../shards/index.js';
import type { EditSummary, EmbedOptions, EmbedResult, GenerateOptions, GenerateResult, ModelService, PromptInput, SlotRow } from './service.js';
import { routeNames } from '../router/router.js';
import { TextDecode, promptVocab, type GenerateTextResult, type Routing } from './text-decode.js';
import { chunks, decodeTexts } from './decode-texts.js';
import { plainChatPrompt, type ChatMessage, type ToolDef } from './chat-messages.js';
import { callIdsFor, templateToolFormat, type ToolFormat } from './tools.js';
import { continueFinal, DEFAULT_RENDER, type ChatRender } from './chat-render.js';
import { DecodeScheduler } from '../model/decode-scheduler.js';
import { ApiError } from './errors.js';
import { isWiseError } from '../util/errors.js';

export { promptVocab, type GenerateTextResult, type Routing } from './text-decode.js';

/** inputs per embedding pass */
const EMBED_BATCH = 16;

/**
 * Generates a continuation of `prompt` (text, or token ids) with `lm` (routed through `routing`
 * when given; a routing without memories runs the plain model). Decoding rules: text-decode.ts.
 */
export async function generateText(lm: CausalLM, prompt: PromptInput, opts: GenerateOptions, routing?: Routing): Promise<GenerateTextResult> {
  return (await decodeTexts(lm, [new TextDecode(lm, prompt, opts, routing)], { batchSize: 1 }))[0]!;
}

export function editSummary(e: EditRecord): EditSummary {
  const req = e.request as EditRequest;
  return { id: e.id, prompt: req.prompt, target: req.target, status: e.status, shardId: e.shardId, createdAt: e.createdAt };
}

export interface WiseModelServiceOptions {
  lm: CausalLM;
  editor: WiseEditor;
  /** default: the model folder's name (e.g. 'wise-base') */
  baseName?: string;
  /** rows decoded together, from one request or several (config serve.batch_size; 1 = one after another); default 8 */
  batchSize?: number;
}

export class WiseModelService implements ModelService {
  readonly baseName: string;
  readonly lm: CausalLM;
  readonly editor: WiseEditor;
  readonly batchSize: number;
  /** every request's rows decode on this one loop (continuous batching, decode-scheduler.ts) */
  readonly scheduler: DecodeScheduler;

  load(): { running: number; waiting: number } {
    return this.scheduler.load;
  }

  /** the scheduler's slots: `batchSize` of them, each held by a row from its prefill until it ends */
  slots(): readonly (SlotRow | null)[] {
    return this.scheduler.slots();
  }

  tokenId(piece: string): number | null {
    return this.lm.tokenizer.tokenId(piece);
  }

  constructor(o: WiseModelServiceOptions) {
    this.lm = o.lm;
    this.batchSize = o.batchSize ?? 8;
    this.scheduler = new DecodeScheduler(o.lm, this.batchSize);
    this.editor = o.editor;
    this.baseName = o.baseName ?? path.basename(o.lm.tokenizer.dir);
  }

  editSeq(): number {
    return this.editor.state.applied;
  }

  get vocabSize(): number {
    return promptVocab(this.lm);
  }

  get prefixIds(): readonly number[] {
    return this.lm.tokenizer.prefixIds;
  }

  get contextLength(): number {
    return this.lm.contextLength;
  }

  encode(text: string): number[] {
    return this.lm.tokenizer.encode(text);
  }

  decode(ids: readonly number[]): string {
    return this.lm.tokenizer.decode(ids, { skipSpecialTokens: false }); // special tokens kept: the echoed text is the tokens joined
  }

  /**
   * The checkpoint's template over the messages (call ids as its format takes them, tools.ts callIdsFor), or the
   * plain fallback. A template that raises (Mistral's on roles that do not alternate, say) is a 400 naming messages,
   * as vLLM answers it: the messages are what it refused.
   */
  chatPrompt(messages: readonly ChatMessage[], tools: readonly ToolDef[] = [], render: ChatRender = DEFAULT_RENDER): PromptInput {
    let rendered: string | null;
    try {
      rendered = this.lm.tokenizer.applyChatTemplate(callIdsFor(messages, this.toolFormat), { addGenerationPrompt: render.addGenerationPrompt, tools: tools as unknown as Record<string, unknown>[], kwargs: render.kwargs });
    } catch (e) {
      if (isWiseError(e) && e.code === 'WISE_TOKENIZER') throw new ApiError(400, 'invalid_value', `messages: ${e.message}`, 'messages');
      throw e;
    }
    if (rendered === null) return plainChatPrompt(messages, tools, render);
    return this.lm.tokenizer.encode(render.continueFinal ? continueFinal(rendered, messages) : rendered);
  }

  get chatTemplate(): string | null {
    return this.lm.tokenizer.chatTemplate;
  }

  /** Hermes when the fallback writes the prompt; else what the checkpoint's template writes (tools.ts templateToolFormat). */
  get toolFormat(): ToolFormat {
    const t = this.lm.tokenizer.chatTemplate;
    return t === null ? 'hermes' : templateToolFormat(t);
  }

  async generateBatch(prompts: readonly PromptInput[], optsFor: (i: number) => GenerateOptions, onResult?: (i: number, r: GenerateResult) => void): Promise<GenerateResult[]> {
    // The snapshot: the editor replaces `state` as a whole after each commit, never mutates it.
    const state = this.editor.state;
    const routing = this.editor.variant(state);
    const result = (r: GenerateTextResult): GenerateResult => ({
      text: r.text,
      ids: r.ids,
      finishReason: r.finishReason,
      ...(r.stopString !== undefined ? { stopString: r.stopString } : {}),
      promptTokens: r.promptTokens,
      completionTokens: r.ids.length,
      memory: r.memory,
      editSeq: state.applied,
      tokens: r.tokens,
      promptTokenInfo: r.promptTokenInfo,
      timing: r.timing,
    });
    // every prompt is checked (and tokenized) before any starts: a bad one fails the call with nothing generated
    const decs = prompts.map((p, i) => new TextDecode(this.lm, p, optsFor(i), routing));
    const rs = await decodeTexts(this.lm, decs, { batchSize: this.batchSize, scheduler: this.scheduler }, onResult ? (i, r) => onResult(i, result(r)) : undefined);
    return rs.map(result);
  }

  async embed(inputs: readonly PromptInput[], o: EmbedOptions): Promise<EmbedResult[]> {
    const state = this.editor.state;
    const routing = this.editor.variant(state);
    const seqs = inputs.map((p) => (typeof p === 'string' ? this.lm.tokenizer.encodePrompt(p) : [...p]));
    const out: EmbedResult[] = new Array(seqs.length);
    // routed passes carry at most the variant's token cap (router.ts), as the echo forwards do
    for (const chunk of chunks(seqs.map((_, i) => i), EMBED_BATCH, (i) => seqs[i]!.length, routing?.variant.maxTokens ?? Infinity)) {
      const r = await this.lm.embed(chunk.map((i) => seqs[i]!), { ...(routing ? { variant: routing.variant } : {}), pooling: o.pooling, normalize: o.normalize });
      const names = routing ? routeNames(r.extra.route, routing.memories) : [];
      chunk.forEach((i, j) => (out[i] = { vector: r.vectors[j]!, tokens: seqs[i]!.length, memory: names[j] ?? 'main', editSeq: state.applied }));
    }
    return out;
  }

  async applyEdit(req: EditRequest): Promise<EditSummary> {
    return editSummary((await this.editor.applyEdit(req)).record);
  }

  async listEdits(): Promise<EditSummary[]> {
    return (await this.editor.store.listEdits()).map(editSummary);
  }

  async getEdit(id: number): Promise<EditSummary | undefined> {
    const e = await this.editor.store.getEdit(id);
    return e ? editSummary(e) : undefined;
  }

  async revertEdit(id: number): Promise<EditSummary> {
    return editSummary(await this.editor.revert(id));
  }

  mergeNow(): Promise<{ merged: boolean; memory: string | null }> {
    return this.editor.mergeNow();
  }

  async backup(dir: string): Promise<{ records: number; blobs: number; blobBytes: number }> {
    const r = await backupStore(this.editor.store, dir);
    return { records: r.records, blobs: r.blobs, blobBytes: r.blobBytes };
  }

  /** Closes the editor (and its store). */
  close(): Promise<void> {
    return this.editor.close();
  }
}
