/**
 * Thin adapter over @huggingface/transformers' AutoTokenizer, loaded from a local checkpoint folder
 * (needs tokenizer.json + tokenizer_config.json; remote loading off). The package is imported lazily on the first
 * load (it pulls in onnxruntime, ~0.6 s), so importing this module is cheap. This is the only file that imports it.
 * Reference: ecosystem-notes.md §4.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { WiseError } from '../util/errors.js';
import { pieceBytesReader } from './piece-bytes.js';
import { readJsonFile, requireFiles } from './weights.js';

type HF = typeof import('@huggingface/transformers');
type HFTokenizer = InstanceType<HF['PreTrainedTokenizer']>;

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * One chat message as a template reads it (transformers' convention): an assistant turn may carry
 * `tool_calls` (arguments as an object, as HF templates expect), a tool result its `tool_call_id`.
 */
export interface ChatMessage {
  role: string;
  content: string;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: unknown } }[];
  tool_call_id?: string;
}

export interface DecodeOptions {
  /** drop special tokens such as <|endoftext|> (default false) */
  skipSpecialTokens?: boolean;
}

let hfModule: Promise<HF> | null = null;

/** Imports @huggingface/transformers once, with remote loading disabled. */
function loadHF(): Promise<HF> {
  hfModule ??= import('@huggingface/transformers').then((m) => {
    m.env.allowRemoteModels = false;
    m.env.allowLocalModels = true;
    return m;
  });
  return hfModule;
}

/**
 * Throws WISE_TOKEN_OUT_OF_RANGE unless every id is an integer in [0, vocab); the error names the id and position.
 */
export function checkIds(ids: ArrayLike<number>, vocab: number, what = 'token ids'): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new WiseError('WISE_TOKEN_OUT_OF_RANGE', `${what}: id ${id} at position ${i} is outside the vocabulary [0, ${vocab})`, { id, position: i, vocabSize: vocab });
    }
  }
}

export class Tokenizer {
  /** ids are < vocabSize (largest id + 1, added tokens included) */
  readonly vocabSize: number;
  readonly eosId: number | null;
  readonly bosId: number | null;
  /** null unless tokenizer_config.json declares a pad token (callers usually fall back to eos) */
  readonly padId: number | null;
  readonly unkId: number | null;
  /**
   * The special tokens the tokenizer puts before a sequence (its post-processor: BOS for Llama and Mistral, none
   * for GPT-2 and Qwen2), as transformers' `tokenizer(text)` and llama.cpp add them. `encodePrompt` prepends them.
   */
  readonly prefixIds: readonly number[];
  /** Jinja chat template, null when the checkpoint has none */
  readonly chatTemplate: string | null;

  constructor(
    readonly dir: string,
    private readonly tok: HFTokenizer,
    declaresPad: boolean,
  ) {
    const vocab = tok.get_vocab();
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id);
    this.vocabSize = Math.max(vocab.size, maxId + 1);
    const id = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);
    this.eosId = id(tok.eos_token_id);
    this.bosId = id(tok.bos_token_id);
    this.padId = declaresPad ? id(tok.pad_token_id) : null;
    this.unkId = id(tok.unk_token_id);
    this.chatTemplate = typeof tok.chat_template === 'string' ? tok.chat_template : null;
    this.prefixIds = specialPrefix(tok);
  }

  /**
   * Ids of `text` as the start of a sequence: prefixIds, then encode(text). Prompts, edit rows and evaluated
   * texts use this; pieces appended to a sequence (a target after its prompt) use encode.
   */
  encodePrompt(text: string): number[] {
    return [...this.prefixIds, ...this.encode(text)];
  }

  /** Token ids of `text`, no special tokens added. */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    const ids = this.tok.encode(text, { add_special_tokens: false });
    const badAt = ids.findIndex((x) => !Number.isInteger(x));
    if (badAt >= 0) {
      throw new WiseError('WISE_TOKENIZER', `tokenizer in ${this.dir} produced a non-id (${String(ids[badAt])}) at position ${badAt}; its vocabulary probably lacks a byte of the input`, { dir: this.dir, position: badAt, text });
    }
    return ids;
  }

  /** Text of `ids`; ids outside the vocabulary → WISE_TOKEN_OUT_OF_RANGE. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    checkIds(ids, this.vocabSize, 'decode');
    if (ids.length === 0) return '';
    return this.tok.decode(Array.from(ids), { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  checkIds(ids: ArrayLike<number>, what?: string): void {
    checkIds(ids, this.vocabSize, what);
  }

  /**
   * The id of the vocabulary entry spelled exactly `piece` (added and special tokens included, such as
   * `<|fim_prefix|>`), or null: how llama.cpp finds a model's FIM tokens (the server's /infill).
   */
  tokenId(piece: string): number | null {
    // get_vocab builds a new Map of the whole vocabulary on every call: built once here
    this.vocabMap ??= this.tok.get_vocab() as Map<string, number>;
    return this.vocabMap.get(piece) ?? null;
  }

  private vocabMap: Map<string, number> | null = null;

  private texts: (string | null)[] | null = null;

  /**
   * Each id's text as it reads inside a sequence (after another token: a SentencePiece "▁x" reads " x",
   * which decoding it alone would strip), or null for special tokens, ids that decode to nothing, and
   * pieces that are not whole characters (U+FFFD). Computed once (one decode per id), for constrained
   * decoding (constrain/token-constraint.ts).
   */
  tokenTexts(): readonly (string | null)[] {
    if (this.texts) return this.texts;
    const anchor = this.encode('a').at(-1);
    const dec = (ids: number[]): string | null => {
      try {
        return this.tok.decode(ids, { skip_special_tokens: true });
      } catch {
        return null;
      }
    };
    const base = anchor === undefined ? '' : (dec([anchor]) ?? '');
    const texts: (string | null)[] = [];
    for (let id = 0; id < this.vocabSize; id++) {
      const full = dec(anchor === undefined ? [id] : [anchor, id]);
      const t = full !== null && full.startsWith(base) ? full.slice(base.length) : null;
      texts.push(t && !t.includes('\uFFFD') ? t : null);
    }
    return (this.texts = texts);
  }

  private bytes: (Uint8Array | null)[] | null = null;

  /**
   * Each id's UTF-8 bytes as it reads inside a sequence, or null for special tokens, ids that decode to nothing
   * and pieces whose bytes cannot be known. A whole-character token is its text's bytes (tokenTexts); a piece
   * of a character (byte-level BPE, SentencePiece <0xNN>) is read from its vocabulary piece (piece-bytes.ts,
   * tokenizer.json read once). For constrained decoding (constrain/token-constraint.ts).
   */
  tokenBytes(): readonly (Uint8Array | null)[] {
    if (this.bytes) return this.bytes;
    const texts = this.tokenTexts();
    const enc = new TextEncoder();
    const special = new Set<number>((this.tok.all_special_ids as unknown[]).filter((x): x is number => typeof x === 'number'));
    let byId: (string | undefined)[] | null = null;
    let read: ((piece: string) => Uint8Array | null) | null | undefined;
    return (this.bytes = texts.map((t, id) => {
      if (t !== null) return enc.encode(t);
      if (special.has(id)) return null;
      if (read === undefined) {
        const file = path.join(this.dir, 'tokenizer.json');
        try {
          read = pieceBytesReader(JSON.parse(readFileSync(file, 'utf8')));
        } catch (e) {
          throw new WiseError('WISE_TOKENIZER', `cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
        }
        byId = [];
        for (const [piece, i] of this.tok.get_vocab()) byId[i] = piece;
      }
      const piece = byId![id];
      const b = read && piece !== undefined ? read(piece) : null;
      return b && b.length > 0 ? b : null;
    }));
  }

  /** The prompt text for `messages` per the chat template, or null when the checkpoint has no template. */
  applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean; tools?: readonly Record<string, unknown>[]; kwargs?: Record<string, unknown> } = {}): string | null {
    if (this.chatTemplate === null) return null;
    const msgs = messages.map((m) => ({
      role: m.role,
      content: m.content,
      ...(m.tool_calls ? { tool_calls: m.tool_calls } : {}),
      ...(m.tool_call_id !== undefined ? { tool_call_id: m.tool_call_id } : {}),
    }));
    try {
      return this.tok.apply_chat_template(msgs as { role: string; content: string }[], {
        ...opts.kwargs, // template variables (Qwen3's enable_thinking); the renderer's own names are refused upstream
        tokenize: false,
        add_generation_prompt: opts.addGenerationPrompt ?? true,
        ...(opts.tools && opts.tools.length > 0 ? { tools: opts.tools as unknown as Record<string, unknown>[] } : {}),
      }) as string;
    } catch (e) {
      throw new WiseError('WISE_TOKENIZER', `chat template of ${this.dir} failed: ${(e as Error).message}`, { dir: this.dir }, { cause: e });
    }
  }
}

/**
 * What the post-processor adds before a text: a probe encoded with and without special tokens; the ids in front
 * of the plain encoding. Ids it appends (an EOS some configs add) are not a prompt's business and are ignored.
 */
function specialPrefix(tok: HFTokenizer): number[] {
  const probe = 'a b';
  const plain = tok.encode(probe, { add_special_tokens: false });
  const full = tok.encode(probe, { add_special_tokens: true });
  for (let k = 0; k + plain.length <= full.length; k++) {
    if (plain.every((id, i) => full[k + i] === id)) return full.slice(0, k);
  }
  return [];
}

/** Loads the tokenizer of a local checkpoint folder. */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const abs = path.resolve(dir);
  await requireFiles(abs, TOKENIZER_FILES, 'tokenizer file');
  const tcfg = await readJsonFile(path.join(abs, 'tokenizer_config.json'), 'WISE_TOKENIZER');
  const declaresPad = tcfg !== null && typeof tcfg === 'object' && (tcfg as Record<string, unknown>).pad_token != null;
  const hf = await loadHF();
  let tok: HFTokenizer;
  try {
    tok = await hf.AutoTokenizer.from_pretrained(abs, { local_files_only: true });
  } catch (e) {
    throw new WiseError('WISE_TOKENIZER', `cannot load the tokenizer in ${abs}: ${(e as Error).message}`, { dir: abs }, { cause: e });
  }
  return new Tokenizer(abs, tok, declaresPad);
}
