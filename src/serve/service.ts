/**
 * The contract between the HTTP server and the model/editor behind it. The server only
 * talks to this interface; src/edits provides the real implementation (an Editor over a
 * loaded model and a store).
 *
 * Consistency: `generateBatch` captures the current model state (base + memories + thresholds)
 * when it starts and uses that snapshot until it finishes, so a stream in flight never sees
 * an edit applied meanwhile; an applied edit becomes visible atomically to later calls.
 */
import type { ChatRender } from './chat-render.js';
import type { EditRequest } from '../edits/request.js';
import type { PromptInput } from './prompts.js';
import type { LogitShaping } from '../model/logit-shaping.js';
import type { StructuredOutput } from './structured.js';
import type { ChatMessage, ToolDef } from './chat-messages.js';
import type { ToolFormat } from './tools.js';
import type { Pooling } from '../model/pooling.js';
import type { SlotRow } from '../model/decode-scheduler.js';

export type { PromptInput } from './prompts.js';
export type { SlotRow } from '../model/decode-scheduler.js';

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy */
  temperature: number;
  topP: number;
  /** the k most likely tokens; 0 or absent = all (sampling.ts) */
  topK?: number | undefined;
  /** min-p in [0, 1]; 0 or absent = off (sampling.ts) */
  minP?: number | undefined;
  /** logit bias and penalties, greedy or sampled (src/model/logit-shaping.ts) */
  shaping?: LogitShaping | undefined;
  seed?: number | undefined;
  /** token ids that also end generation (vLLM's stop_token_ids), beside the model's EOS ids unless ignoreEos */
  stopTokenIds?: readonly number[] | undefined;
  /** the model's EOS ids do not end generation (vLLM's and llama.cpp's ignore_eos) */
  ignoreEos?: boolean | undefined;
  /** no EOS or stop token id before this many tokens (vLLM's min_tokens) */
  minTokens?: number | undefined;
  /** special tokens (<|im_start|>, [TOOL_CALLS], an EOS under ignore_eos) left out of the text; default true (vLLM's skip_special_tokens) */
  skipSpecialTokens?: boolean | undefined;
  /** structured output (structured.ts): only text the schema accepts; the generation ends once it is complete */
  structured?: StructuredOutput | undefined;
  /** stop strings: generation ends before the first occurrence; it is not included in the text */
  stop?: string[] | undefined;
  /** aborts generation (client went away) */
  signal?: AbortSignal | undefined;
  /**
   * Called with each new piece of decoded text, in order. With `logprobs`, `tokens` are the
   * generated tokens not reported before (a piece may hold several, or none yet when a character
   * spans tokens; the last call may have an empty piece); over the calls they are exactly
   * GenerateResult.tokens.
   */
  onText?: ((piece: string, tokens?: TokenInfo[]) => void) | undefined;
  /** report each new token's log-probability and this many most likely alternatives (0..20) */
  logprobs?: number | undefined;
  /** also report the prompt's tokens with their log-probabilities (each given the tokens before it) */
  echo?: boolean | undefined;
}

/** One token's text (decoded in context) and log-probability under the model's raw distribution, with its top alternatives. */
export interface TokenInfo {
  /** the token id (llama.cpp's completion_probabilities report it) */
  id?: number;
  token: string;
  /** null for the first prompt token, which nothing predicts */
  logprob: number | null;
  top: { id?: number; token: string; logprob: number }[] | null;
}

export interface GenerateResult {
  text: string;
  ids: number[];
  finishReason: 'stop' | 'length';
  /** the stop string that ended the text, if one did (llama.cpp's stopping_word) */
  stopString?: string;
  promptTokens: number;
  completionTokens: number;
  /** which memory answered: 'main', or the id of a side memory (e.g. 'active', 'merged', 'mem-3') */
  memory: string;
  /** the edit sequence number of the state this generation ran on */
  editSeq: number;
  /** the generated tokens (ids) with their logprobs, when `logprobs` was asked for */
  tokens?: TokenInfo[] | undefined;
  /** the prompt's tokens with their logprobs, when `echo` was asked for */
  promptTokenInfo?: TokenInfo[] | undefined;
  /** seconds from the prompt's arrival to its first token (null: none) and to its end, where the service measures them (GET /metrics) */
  timing?: { firstToken: number | null; total: number } | undefined;
}

/** /v1/embeddings and /embedding: how the last hidden state becomes one vector, or one per token (src/model/pooling.ts). */
export interface EmbedOptions {
  pooling: Pooling;
  normalize: boolean;
}

export interface EmbedResult {
  /** (d); with pooling 'none', (tokens, d) row-major */
  vector: Float32Array;
  /** the input's tokens (BOS included for a text input, as prompts get it) */
  tokens: number;
  /** which memory the router chose for the input: 'main' or a side memory's id */
  memory: string;
  editSeq: number;
}

export interface EditSummary {
  id: number;
  prompt: string;
  target: string;
  status: 'active' | 'reverted';
  shardId: string | null;
  createdAt: string;
}

export interface ModelService {
  /** base model name, e.g. 'wise-base' */
  readonly baseName: string;
  /** the number of applied (non-reverted) edits: part of the model id 'base+edits@N' */
  editSeq(): number;
  /** token ids a token-id prompt may hold: [0, vocabSize) (the model's and the tokenizer's, whichever is smaller) */
  readonly vocabSize: number;
  encode(text: string): number[];
  /** the text of token ids (an echoed token-id prompt) */
  decode(ids: readonly number[]): string;
  /** the special tokens that start a text prompt (BOS for Llama, none for GPT-2 / Qwen2; POST /tokenize with add_special) */
  readonly prefixIds: readonly number[];
  /** the model's context in tokens (max_position_embeddings): prompt plus new tokens */
  readonly contextLength: number;
  /**
   * chat messages → the prompt: the checkpoint's chat template rendered and tokenized as it stands (token ids; the
   * template writes its own BOS, as transformers' apply_chat_template(tokenize=True) has it), or the documented
   * fallback text (which generation encodes as any text prompt)
   */
  chatPrompt(messages: readonly ChatMessage[], tools?: readonly ToolDef[], render?: ChatRender): PromptInput;
  /** the checkpoint's chat template (GET /props), or null / absent: none (the plain fallback) */
  readonly chatTemplate?: string | null;
  /** how the chat prompt's format writes tool calls ('hermes': <tool_call> JSON </tool_call>); null or absent: it has no such syntax, and tool_choice "auto" is refused */
  readonly toolFormat?: ToolFormat;
  /**
   * Several prompts, all on the one state current when the call starts (an edit applied meanwhile
   * reaches none of them); `optsFor(i)` gives prompt i's options, and `onResult(i, r)`, when given,
   * is called as soon as prompt i is done. Prompts may decode together (a batch), so their onText
   * calls and results can interleave; each prompt's result is what it gets alone, up to float rounding.
   */
  generateBatch(prompts: readonly PromptInput[], optsFor: (i: number) => GenerateOptions, onResult?: (i: number, r: GenerateResult) => void): Promise<GenerateResult[]>;
  /** one embedding per input, all on the state current when the call starts; absent: no /v1/embeddings */
  embed?(inputs: readonly PromptInput[], o: EmbedOptions): Promise<EmbedResult[]>;
  /** applies one edit (trains it) and makes it visible atomically */
  applyEdit(req: EditRequest): Promise<EditSummary>;
  listEdits(): Promise<EditSummary[]>;
  getEdit(id: number): Promise<EditSummary | undefined>;
  revertEdit(id: number): Promise<EditSummary>;
  /** rows decoding now and rows waiting for a slot (GET /metrics); absent when the service does not batch */
  load?(): { running: number; waiting: number };
  /** every decode slot: the row holding it, or null when free (GET /slots); absent when the service keeps no slots */
  slots?(): readonly (SlotRow | null)[];
  /** the id of the vocabulary entry spelled exactly `piece` (special tokens included), or null (/infill's FIM tokens); absent: none known */
  tokenId?(piece: string): number | null;
  /** forces a merge of pending shards now */
  mergeNow(): Promise<{ merged: boolean; memory: string | null }>;
  /** writes a consistent copy of the store into `dir` (absolute; new or empty), as `wise db backup` does */
  backup(dir: string): Promise<{ records: number; blobs: number; blobBytes: number }>;
}
