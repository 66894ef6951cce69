/**
 * TextDecode: one prompt's generation as text, around the token decoding of CausalLM
 * (`generate` alone, or one row of `generateMany`). It turns the prompt into ids, gives the
 * decoder its options (with an onToken that follows the text), and assembles the result.
 *
 *  - text is decoded incrementally: the new ids are decoded together with a few preceding ids
 *    (the last prompt tokens at first), and the suffix beyond the text already produced is
 *    appended, so word-initial spaces survive SentencePiece-style decoders; a piece ending in
 *    U+FFFD (an incomplete UTF-8 sequence) is held back until the next token completes it.
 *    The result text is exactly the concatenation of the streamed pieces;
 *  - stop strings end generation before their first occurrence (not included), counting only
 *    occurrences that end in text decoded after the first min_tokens tokens (vLLM); text that could
 *    be the start of a stop string is held back from the stream until it is decided;
 *  - with echo, the prompt's own tokens get their logprobs from a teacher-forced forward of the
 *    prompt through the same routing (its route is the generation's: both decide on the prompt).
 */
import { WiseError } from '../util/errors.js';
import type { CausalLM, GenerateOpts, GenerateOutput, Variant } from '../model/causal-lm.js';
import type { TensorData } from '../graph/index.js';
import { routeNames, type RoutedMemory } from '../router/router.js';
import { logprobOf, logSumExp, topLogprobs } from '../model/logprobs.js';
import { checkIds } from '../model/tokenizer.js';
import { constraintFor } from '../model/constrain/token-constraint.js';
import type { GenerateOptions, PromptInput, TokenInfo } from './service.js';
import { firstStop, heldBack } from './stop-strings.js';

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
  /** the stop string that ended the text, if one did (llama.cpp's stopping_word) */
  stopString?: string;
  promptTokens: number;
  /** 'main' or the id of the side memory the router chose for the prompt */
  memory: string;
  /** with opts.logprobs: each generated id's TokenInfo */
  tokens?: TokenInfo[];
  /** with opts.echo: each prompt token's TokenInfo (the first has no logprob) */
  promptTokenInfo?: TokenInfo[];
  /** seconds from this prompt's arrival (queueing included) to its first token (null: none) and to its end */
  timing: DecodeTiming;
}

export interface DecodeTiming {
  firstToken: number | null;
  total: number;
}

/** Token ids a prompt may hold: below both the embedding's rows and the tokenizer's vocabulary (ids are decoded too). */
export const promptVocab = (lm: CausalLM): number => Math.min(lm.config.vocabSize, lm.tokenizer.vocabSize);

export class TextDecode {
  readonly promptIds: number[];
  /** the routed variant, or none when the routing has no memories (the plain model) */
  readonly variant: Variant | undefined;
  private readonly stops: string[];
  private readonly k: number;
  private readonly wantLogprobs: boolean;
  /** incremental decoding over ctx = (last prompt tokens) + generated ids */
  private readonly ctx: number[];
  private prefix = 0;
  private read: number;
  private text = ''; // decided text (complete characters)
  private emitted = 0; // chars of `text` passed to onText
  private checked = 0; // chars of `text` searched for stop strings: a stop must end beyond them
  private generated = 0; // tokens decoded so far
  private stopAt = -1;
  private stopString: string | undefined;
  /** with logprobs: the prompt and every generated id, each generated token's info, and those not yet passed to onText */
  private readonly all: number[];
  private readonly tokens: TokenInfo[] = [];
  private readonly pending: TokenInfo[] = [];
  private promptTokenInfo: TokenInfo[] | undefined;
  private echoRoute: TensorData | undefined;
  /** performance.now() at construction (the request's arrival at the service) and at the first token */
  private readonly startedAt = performance.now();
  private firstTokenAt: number | undefined;

  constructor(
    private readonly lm: CausalLM,
    prompt: PromptInput,
    readonly opts: GenerateOptions,
    private readonly routing?: Routing,
  ) {
    if (typeof prompt === 'string') this.promptIds = lm.tokenizer.encodePrompt(prompt);
    else {
      checkIds(prompt, promptVocab(lm), 'prompt');
      this.promptIds = [...prompt];
    }
    if (this.promptIds.length === 0) throw new WiseError('WISE_BAD_REQUEST', 'prompt must have at least one token', { field: 'prompt' });
    this.stops = (opts.stop ?? []).filter((s) => s.length > 0);
    this.variant = routing && routing.memories.length > 0 ? routing.variant : undefined;
    this.ctx = this.promptIds.slice(-PROMPT_CONTEXT);
    this.read = this.ctx.length;
    this.wantLogprobs = opts.logprobs !== undefined;
    this.k = opts.logprobs ?? 0;
    this.all = [...this.promptIds];
  }

  /** Whether the prompt's own logprobs were asked for: `setEcho` must be called before `finish`. */
  get wantsEcho(): boolean {
    return this.opts.echo === true;
  }

  /** Whether there is anything to decode (max_tokens 0 with echo: only the prompt's logprobs). */
  get decodes(): boolean {
    return this.opts.maxTokens > 0;
  }

  /**
   * The teacher-forced logits of the prompt (P, V) through this row's routing, and the route
   * that forward chose (dims [1]), when routed.
   */
  setEcho(logits: Float32Array, route?: TensorData): void {
    const V = this.lm.config.vocabSize;
    const ids = this.promptIds;
    this.promptTokenInfo = ids.map((id, t) => (t === 0 ? { id, token: textAfter(this.lm, ids, 0, id), logprob: null, top: null } : tokenInfo(this.lm, logits.subarray((t - 1) * V, t * V), ids, t, this.k)));
    this.echoRoute = route;
  }

  /** The decoder's options for this row (its onToken follows the text, and ends the row at a stop string). */
  decodeOpts(): GenerateOpts {
    const o = this.opts;
    return {
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      topP: o.topP,
      ...(o.topK ? { topK: o.topK } : {}),
      ...(o.minP ? { minP: o.minP } : {}),
      ...(o.shaping ? { shaping: o.shaping } : {}),
      ...(o.ignoreEos || o.stopTokenIds ? { stopIds: [...(o.ignoreEos ? [] : this.lm.eosIds), ...(o.stopTokenIds ?? [])] } : {}),
      ...(o.minTokens ? { minTokens: o.minTokens } : {}),
      ...(o.structured ? { constraint: constraintFor(this.lm.tokenizer, o.structured.recognizer) } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(this.variant ? { variant: this.variant } : {}),
      onToken: (id, row) => {
        this.firstTokenAt ??= performance.now();
        if (this.wantLogprobs) {
          this.all.push(id);
          const info = tokenInfo(this.lm, row, this.all, this.all.length - 1, this.k);
          this.tokens.push(info);
          this.pending.push(info);
        }
        this.ctx.push(id);
        this.generated++;
        this.advance(false);
        return this.stopAt >= 0;
      },
    };
  }

  /** The result, from the decoder's output (none when nothing was decoded: max_tokens 0). */
  finish(r: GenerateOutput | null): GenerateTextResult {
    const now = performance.now();
    const timing = { firstToken: this.firstTokenAt === undefined ? null : (this.firstTokenAt - this.startedAt) / 1000, total: (now - this.startedAt) / 1000 };
    const base = { promptTokens: this.promptIds.length, timing, ...(this.wantLogprobs ? { tokens: this.tokens } : {}), ...(this.promptTokenInfo ? { promptTokenInfo: this.promptTokenInfo } : {}) };
    if (r === null) return { text: '', ids: [], finishReason: 'length', memory: this.memoryOf(this.echoRoute), ...base };
    if (this.stopAt < 0) this.advance(true);
    if (this.pending.length > 0) this.opts.onText?.('', this.pending.splice(0)); // tokens whose text was cut by a stop string, or decoded to nothing
    return { text: this.text, ids: r.ids, finishReason: this.stopAt >= 0 ? 'stop' : r.finishReason, ...(this.stopString !== undefined ? { stopString: this.stopString } : {}), memory: this.memoryOf(r.prefill.route), ...base };
  }

  private memoryOf(route: TensorData | undefined): string {
    return this.variant && route ? (routeNames(route, this.routing!.memories)[0] ?? 'main') : 'main';
  }

  private dec(a: number, b?: number): string {
    return this.lm.tokenizer.decode(this.ctx.slice(a, b), { skipSpecialTokens: this.opts.skipSpecialTokens ?? true });
  }

  private advance(final: boolean): void {
    const before = this.dec(this.prefix, this.read);
    const after = this.dec(this.prefix);
    if (after.length > before.length && (final || !after.endsWith('\uFFFD'))) {
      this.text += addedText(before, after);
      this.prefix = this.read;
      this.read = this.ctx.length;
    }
    // vLLM's min_tokens holds stop strings off too: only text after the first min_tokens tokens' can stop
    if (this.stops.length > 0 && this.generated > (this.opts.minTokens ?? 0)) {
      const hit = firstStop(this.text, this.stops, this.checked);
      if (hit >= 0) {
        this.stopAt = hit;
        this.stopString = this.stops.find((s) => this.text.startsWith(s, hit));
        this.text = this.text.slice(0, hit);
      }
    }
    this.checked = this.text.length;
    const safe = this.stopAt >= 0 || final ? this.text.length : this.text.length - heldBack(this.text, this.stops);
    if (safe > this.emitted) {
      this.opts.onText?.(this.text.slice(this.emitted, safe), this.wantLogprobs ? this.pending.splice(0) : undefined);
      this.emitted = safe;
    }
  }
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
  const top = topLogprobs(row, k, lse).map((t) => ({ id: t.id, token: textAfter(lm, ids, at, t.id), logprob: t.logprob }));
  return { id: ids[at]!, token: textAfter(lm, ids, at, ids[at]!), logprob: logprobOf(row, ids[at]!, lse), top };
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
