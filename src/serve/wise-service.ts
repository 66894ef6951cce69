/**
 * WiseModelService: the real ModelService, a loaded CausalLM plus a WiseEditor over a store.
 * `wise serve` builds one; tests run the server suite on it (test/serve/real-model.test.ts).
 *
 * Generation (also used by `wise generate`, see `generateText`):
 *  - the routing state is captured once when a call starts (`editor.variant()` of the current
 *    immutable editor state), so an edit applied meanwhile never reaches a call in flight;
 *  - text is decoded incrementally: the new ids are decoded together with a few preceding ids
 *    (the last prompt tokens at first), and the suffix beyond the text already produced is
 *    appended, so word-initial spaces survive SentencePiece-style decoders; a piece ending in
 *    U+FFFD (an incomplete UTF-8 sequence) is held back until the next token completes it.
 *    The result text is exactly the concatenation of the streamed pieces;
 *  - stop strings end generation before their first occurrence (not included); text that could
 *    be the start of a stop string is held back from the stream until it is decided;
 *  - the signal aborts between tokens (the call then rejects with WISE_INTERNAL 'generation aborted').
 *
 * Chat prompts use the checkpoint's chat template when it has one, else the plain fallback
 * "System: …\nUser: …\nAssistant:" (one "Role: content" line per message, then "Assistant:").
 */
import * as path from 'node:path';
import { WiseError } from '../util/errors.js';
import type { CausalLM, Variant } from '../model/causal-lm.js';
import { routeNames, type RoutedMemory } from '../router/router.js';
import type { WiseEditor } from '../edits/editor.js';
import type { EditRequest } from '../edits/request.js';
import { backupStore, type EditRecord } from '../shards/index.js';
import { logprobOf, logSumExp, topLogprobs } from '../model/logprobs.js';
import type { EditSummary, GenerateOptions, GenerateResult, ModelService, PromptInput, TokenInfo } from './service.js';
import { checkIds } from '../model/tokenizer.js';

/** Prompt tokens decoded before the first generated one (keeps a leading space of the completion). */
const PROMPT_CONTEXT = 4;

export interface Routing {
  variant: Variant;
  memories: readonly RoutedMemory[];
}

export interface GenerateTextResult {
  text: string;
  ids: number[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
  /** 'main' or the id of the side memory the router chose for the prompt */
  memory: string;
  /** with opts.logprobs: each generated id's TokenInfo */
  tokens?: TokenInfo[];
  /** with opts.echo: each prompt token's TokenInfo (the first has no logprob) */
  promptTokenInfo?: TokenInfo[];
}

/**
 * The text token `id` adds after ids[..at] (the few ids before it decoded with and without it), so
 * word-initial spaces survive SentencePiece-style decoders; a token that ends inside a UTF-8
 * sequence shows U+FFFD.
 */
function textAfter(lm: CausalLM, ids: readonly number[], at: number, id: number): string {
  const w = ids.slice(Math.max(0, at - PROMPT_CONTEXT), at);
  const before = lm.tokenizer.decode(w, { skipSpecialTokens: false });
  const after = lm.tokenizer.decode([...w, id], { skipSpecialTokens: false });
  return addedText(before, after);
}

/** TokenInfo of ids[at] under the logits row that predicts it, with its `k` most likely alternatives (in the same context). */
function tokenInfo(lm: CausalLM, row: Float32Array, ids: readonly number[], at: number, k: number): TokenInfo {
  const lse = logSumExp(row);
  const top = topLogprobs(row, k, lse).map((t) => ({ token: textAfter(lm, ids, at, t.id), logprob: t.logprob }));
  return { token: textAfter(lm, ids, at, ids[at]!), logprob: logprobOf(row, ids[at]!, lse), top };
}

/** The plain chat fallback: "Role: content" lines, then "Assistant:". */
export function plainChatPrompt(messages: readonly { role: string; content: string }[]): string {
  const name = (r: string): string => r.charAt(0).toUpperCase() + r.slice(1);
  return messages.map((m) => `${name(m.role)}: ${m.content}`).join('\n') + '\nAssistant:';
}

/** Index of the earliest occurrence of any stop string in `text` (at or after `from`), or -1. */
function firstStop(text: string, stops: readonly string[], from: number): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s, from);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function heldBack(text: string, stops: readonly string[]): number {
  let n = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > n; k--) {
      if (text.endsWith(s.slice(0, k))) {
        n = k;
        break;
      }
    }
  }
  return n;
}

/** Token ids a prompt may hold: below both the embedding's rows and the tokenizer's vocabulary (ids are decoded too). */
export const promptVocab = (lm: CausalLM): number => Math.min(lm.config.vocabSize, lm.tokenizer.vocabSize);

/**
 * Generates a continuation of `prompt` (text, or token ids) with `lm` (routed through `routing`
 * when given; a routing without memories runs the plain model). See the file comment for decoding rules.
 */
export async function generateText(lm: CausalLM, prompt: PromptInput, opts: GenerateOptions, routing?: Routing): Promise<GenerateTextResult> {
  const tok = lm.tokenizer;
  let promptIds: number[];
  if (typeof prompt === 'string') promptIds = tok.encodePrompt(prompt);
  else {
    checkIds(prompt, promptVocab(lm), 'prompt');
    promptIds = [...prompt];
  }
  if (promptIds.length === 0) throw new WiseError('WISE_BAD_REQUEST', 'prompt must have at least one token', { field: 'prompt' });
  const stops = (opts.stop ?? []).filter((s) => s.length > 0);
  const maxStop = stops.reduce((m, s) => Math.max(m, s.length), 0);
  const variant = routing && routing.memories.length > 0 ? routing.variant : undefined;

  // Incremental decoding over ctx = (last prompt tokens) + generated ids.
  const ctx = promptIds.slice(-PROMPT_CONTEXT);
  let prefix = 0;
  let read = ctx.length;
  let text = ''; // decided text (complete characters)
  let emitted = 0; // chars of `text` passed to onText
  let searched = 0; // stop strings cannot start before this index of `text`
  let stopAt = -1;
  const dec = (a: number, b?: number): string => tok.decode(ctx.slice(a, b), { skipSpecialTokens: true });

  const wantLogprobs = opts.logprobs !== undefined;
  const k = opts.logprobs ?? 0;
  // with logprobs: every generated token's info, and those not yet passed to onText with a piece
  const all = [...promptIds];
  const tokens: TokenInfo[] = [];
  const pending: TokenInfo[] = [];

  const advance = (final: boolean): void => {
    const before = dec(prefix, read);
    const after = dec(prefix);
    if (after.length > before.length && (final || !after.endsWith('\uFFFD'))) {
      text += addedText(before, after);
      prefix = read;
      read = ctx.length;
    }
    if (stops.length > 0) {
      const hit = firstStop(text, stops, searched);
      if (hit >= 0) {
        stopAt = hit;
        text = text.slice(0, hit);
      } else searched = Math.max(0, text.length - maxStop + 1);
    }
    const safe = stopAt >= 0 || final ? text.length : text.length - heldBack(text, stops);
    if (safe > emitted) {
      opts.onText?.(text.slice(emitted, safe), wantLogprobs ? pending.splice(0) : undefined);
      emitted = safe;
    }
  };

  // echo: the prompt through the same routed forward (its route is the generation's: both decide on the prompt)
  const echo = opts.echo ? await lm.forward([promptIds], variant ? { variant } : {}) : undefined;
  const promptTokenInfo = echo ? echoInfo(lm, promptIds, echo.logits, k) : undefined;
  if (opts.maxTokens === 0) {
    const memory = variant && echo ? (routeNames(echo.extra.route, routing!.memories)[0] ?? 'main') : 'main';
    return { text: '', ids: [], finishReason: 'length', promptTokens: promptIds.length, memory, ...(wantLogprobs ? { tokens: [] } : {}), ...(promptTokenInfo ? { promptTokenInfo } : {}) };
  }
  const r = await lm.generate(promptIds, {
    maxTokens: opts.maxTokens,
    temperature: opts.temperature,
    topP: opts.topP,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(variant ? { variant } : {}),
    onToken: (id, row) => {
      if (wantLogprobs) {
        all.push(id);
        const info = tokenInfo(lm, row, all, all.length - 1, k);
        tokens.push(info);
        pending.push(info);
      }
      ctx.push(id);
      advance(false);
      return stopAt >= 0;
    },
  });
  if (opts.signal?.aborted) throw new WiseError('WISE_INTERNAL', 'generation aborted');
  if (stopAt < 0) advance(true);
  if (pending.length > 0) opts.onText?.('', pending.splice(0)); // tokens whose text was cut by a stop string, or decoded to nothing
  const memory = variant ? (routeNames(r.prefill.route, routing!.memories)[0] ?? 'main') : 'main';
  return { text, ids: r.ids, finishReason: stopAt >= 0 ? 'stop' : r.finishReason, promptTokens: promptIds.length, memory, ...(wantLogprobs ? { tokens } : {}), ...(promptTokenInfo ? { promptTokenInfo } : {}) };
}

/** TokenInfo of every prompt token from the teacher-forced logits (1, P, V): token t under row t − 1. */
function echoInfo(lm: CausalLM, ids: readonly number[], logits: Float32Array, k: number): TokenInfo[] {
  const V = lm.config.vocabSize;
  return ids.map((id, t) => (t === 0 ? { token: textAfter(lm, ids, 0, id), logprob: null, top: null } : tokenInfo(lm, logits.subarray((t - 1) * V, t * V), ids, t, k)));
}

/** What decoding one more token added: `after` beyond `before` (beyond their common prefix when a decoder rewrote the end). */
function addedText(before: string, after: string): string {
  return after.startsWith(before) ? after.slice(before.length) : after.slice(commonPrefix(before, after));
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
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
}

export class WiseModelService implements ModelService {
  readonly baseName: string;
  readonly lm: CausalLM;
  readonly editor: WiseEditor;

  constructor(o: WiseModelServiceOptions) {
    this.lm = o.lm;
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

  chatPrompt(messages: { role: string; content: string }[]): PromptInput {
    const rendered = this.lm.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    return rendered === null ? plainChatPrompt(messages) : this.lm.tokenizer.encode(rendered);
  }

  async generateBatch(prompts: readonly PromptInput[], optsFor: (i: number) => GenerateOptions, onResult?: (i: number, r: GenerateResult) => void): Promise<GenerateResult[]> {
    // The snapshot: the editor replaces `state` as a whole after each commit, never mutates it.
    const state = this.editor.state;
    const routing = this.editor.variant(state);
    const out: GenerateResult[] = [];
    for (let i = 0; i < prompts.length; i++) {
      const r = await generateText(this.lm, prompts[i]!, optsFor(i), routing);
      out.push({
        text: r.text,
        ids: r.ids,
        finishReason: r.finishReason,
        promptTokens: r.promptTokens,
        completionTokens: r.ids.length,
        memory: r.memory,
        editSeq: state.applied,
        tokens: r.tokens,
        promptTokenInfo: r.promptTokenInfo,
      });
      onResult?.(i, out[i]!);
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
