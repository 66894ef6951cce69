/**
 * A small byte-level BPE trainer and encoder that writes the Hugging Face `tokenizer.json`
 * layout (model.type "BPE", ByteLevel pre-tokenizer / decoder / post-processor), which
 * `@huggingface/transformers` and the Rust `tokenizers` loader read.
 *
 * Layout of the vocabulary this trainer produces:
 * - ids 0 .. S-1: the special tokens, in the order given (e.g. `<|endoftext|>` = 0, `<|pad|>` = 1);
 * - ids S .. S+255: the 256 byte symbols, in byte order (byte b has id S + b), so every byte
 *   is representable and no input can fall outside the vocabulary;
 * - then one id per merge, in merge order, until the vocabulary reaches `vocabSize`
 *   (or no pair occurs at least `minFrequency` times).
 *
 * Pre-tokenization is GPT-2's regex (the one transformers.js' ByteLevel pre-tokenizer uses,
 * `use_regex: true`, `add_prefix_space: false`), and bytes map to printable characters with
 * GPT-2's `bytes_to_unicode` table. Training is deterministic: ties between pairs of equal
 * count go to the pair with the smaller (left id, right id).
 */
import { WiseError } from '../util/errors.js';

/** GPT-2's pre-tokenizer regex, exactly as transformers.js' ByteLevel pre-tokenizer has it. */
export const GPT2_PRETOKENIZE_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2 `bytes_to_unicode`: byte value → printable character. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out: string[] = new Array<string>(256).fill('');
  for (let i = 0; i < bs.length; i++) out[bs[i] as number] = String.fromCharCode(cs[i] as number);
  return out;
})();

/** Inverse of BYTE_TO_UNICODE. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

const utf8 = new TextEncoder();

/** Splits text with GPT-2's regex and maps each piece's UTF-8 bytes to byte-level characters. */
export function preTokenize(text: string): string[] {
  const pieces = text.match(GPT2_PRETOKENIZE_REGEX) ?? [];
  return pieces.map((p) => {
    let s = '';
    for (const b of utf8.encode(p)) s += BYTE_TO_UNICODE[b];
    return s;
  });
}

export interface BpeTrainOptions {
  /** Total vocabulary size, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  /** Special tokens, given the first ids in this order. */
  specialTokens: string[];
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
}

export interface BpeModel {
  /** token string (byte-level characters, or a special token) → id */
  vocab: Map<string, number>;
  /** merges in rank order, as [left, right] token strings */
  merges: Array<[string, string]>;
  specialTokens: string[];
}

/**
 * Trains byte-level BPE on `texts` (each text is pre-tokenized on its own; texts never merge
 * across their boundaries). Deterministic for a given input order and options.
 */
export function trainBpe(texts: Iterable<string>, opts: BpeTrainOptions): BpeModel {
  const minFrequency = opts.minFrequency ?? 2;
  const specials = opts.specialTokens;
  const base = specials.length + 256;
  if (opts.vocabSize < base) {
    throw new WiseError('WISE_TOKENIZER', `vocabSize ${opts.vocabSize} is below the ${base} special and byte tokens`, {
      vocabSize: opts.vocabSize,
    });
  }
  if (new Set(specials).size !== specials.length) throw new WiseError('WISE_TOKENIZER', 'duplicate special tokens', { specials });

  // token id → string; ids are < 65536 so a pair packs into one number: left * 65536 + right.
  const idToToken: string[] = [...specials, ...BYTE_TO_UNICODE];
  const vocab = new Map<string, number>(idToToken.map((t, i) => [t, i]));
  if (vocab.size !== idToToken.length) {
    throw new WiseError('WISE_TOKENIZER', 'a special token collides with a byte symbol', { specials });
  }
  if (opts.vocabSize > 65536) throw new WiseError('WISE_TOKENIZER', 'vocabSize above 65536 is not supported', {});

  // Word frequencies (first-seen order keeps everything deterministic).
  const wordFreq = new Map<string, number>();
  for (const text of texts) {
    for (const w of preTokenize(text)) wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
  }
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of wordFreq) {
    const ids: number[] = [];
    for (const ch of w) ids.push(vocab.get(ch) as number);
    words.push(ids);
    freqs.push(f);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1): void => {
    const w = words[wi] as number[];
    const f = (freqs[wi] as number) * sign;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = (w[i] as number) * 65536 + (w[i + 1] as number);
      const c = (pairCount.get(key) ?? 0) + f;
      if (c === 0) pairCount.delete(key);
      else pairCount.set(key, c);
      if (sign === 1) {
        let s = pairWords.get(key);
        if (!s) pairWords.set(key, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const merges: Array<[string, string]> = [];
  while (idToToken.length < opts.vocabSize) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, c] of pairCount) {
      if (c > bestCount || (c === bestCount && key < bestKey)) {
        bestKey = key;
        bestCount = c;
      }
    }
    if (bestKey < 0 || bestCount < minFrequency) break;
    const left = Math.floor(bestKey / 65536);
    const right = bestKey % 65536;
    const merged = (idToToken[left] as string) + (idToToken[right] as string);
    merges.push([idToToken[left] as string, idToToken[right] as string]);
    let newId = vocab.get(merged);
    if (newId === undefined) {
      newId = idToToken.length;
      idToToken.push(merged);
      vocab.set(merged, newId);
    }
    const affected = [...(pairWords.get(bestKey) ?? [])].sort((a, b) => a - b);
    pairWords.delete(bestKey);
    for (const wi of affected) {
      const w = words[wi] as number[];
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) {
        if (w[i] === left && w[i + 1] === right) {
          has = true;
          break;
        }
      }
      if (!has) continue;
      addPairs(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === left && w[i + 1] === right) {
          out.push(newId);
          i++;
        } else out.push(w[i] as number);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    pairCount.delete(bestKey);
  }
  return { vocab, merges, specialTokens: specials.slice() };
}

/** The `tokenizer.json` object for a trained model (layout checked against transformers.js 4.3.1). */
export function bpeToTokenizerJson(model: BpeModel): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const [t, id] of [...model.vocab.entries()].sort((a, b) => a[1] - b[1])) vocab[t] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: model.specialTokens.map((content) => ({
      id: model.vocab.get(content) as number,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: model.merges.map(([a, b]) => [a, b]),
    },
  };
}

/** Rebuilds a BpeModel from a `tokenizer.json` object written by bpeToTokenizerJson. */
export function bpeFromTokenizerJson(json: unknown): BpeModel {
  const j = json as {
    model?: { type?: string; vocab?: Record<string, number>; merges?: Array<[string, string] | string> };
    added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  };
  if (j.model?.type !== 'BPE' || !j.model.vocab || !j.model.merges) {
    throw new WiseError('WISE_TOKENIZER', 'tokenizer.json is not a BPE model', {});
  }
  const merges: Array<[string, string]> = j.model.merges.map((m) => {
    if (typeof m === 'string') {
      const i = m.indexOf(' ');
      return [m.slice(0, i), m.slice(i + 1)];
    }
    return [m[0], m[1]];
  });
  return {
    vocab: new Map(Object.entries(j.model.vocab)),
    merges,
    specialTokens: (j.added_tokens ?? []).filter((t) => t.special !== false).map((t) => t.content),
  };
}

/** Encoder/decoder for a BpeModel; gives the same ids as transformers.js for this layout. */
export class BpeTokenizer {
  private readonly ranks = new Map<string, number>();
  private readonly idToToken: string[] = [];
  private readonly cache = new Map<string, number[]>();
  private readonly specialRe: RegExp | null;

  constructor(readonly model: BpeModel) {
    model.merges.forEach(([a, b], i) => {
      const k = a + ' ' + b;
      if (!this.ranks.has(k)) this.ranks.set(k, i);
    });
    for (const [t, id] of model.vocab) this.idToToken[id] = t;
    const esc = model.specialTokens
      .slice()
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.specialRe = esc.length ? new RegExp(`(${esc.join('|')})`) : null;
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  /** Token ids of `text`; special-token strings in the text map to their ids. No BOS/EOS added. */
  encode(text: string): number[] {
    const out: number[] = [];
    const parts = this.specialRe ? text.split(this.specialRe) : [text];
    parts.forEach((part, i) => {
      if (part === '') return;
      if (this.specialRe && i % 2 === 1) {
        out.push(this.model.vocab.get(part) as number);
        return;
      }
      for (const w of preTokenize(part)) {
        for (const id of this.encodeWord(w)) out.push(id);
      }
    });
    return out;
  }

  /** Decodes ids to text (special tokens included as their strings unless skipped). */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const specials = new Set(this.model.specialTokens);
    let text = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length) text += new TextDecoder().decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const t = this.idToToken[id];
      if (t === undefined) throw new WiseError('WISE_TOKEN_OUT_OF_RANGE', `token id ${id} is not in the vocabulary`, { id });
      if (specials.has(t)) {
        flush();
        if (!opts.skipSpecialTokens) text += t;
        continue;
      }
      for (const ch of t) bytes.push(UNICODE_TO_BYTE.get(ch) as number);
    }
    flush();
    return text;
  }

  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let parts = Array.from(word);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get((parts[i] as string) + ' ' + (parts[i + 1] as string));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = parts[best] as string;
      const b = parts[best + 1] as string;
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(parts[i] as string);
      }
      parts = next;
    }
    const ids = parts.map((p) => {
      const id = this.model.vocab.get(p);
      if (id === undefined) throw new WiseError('WISE_TOKENIZER', `token ${JSON.stringify(p)} is missing from the vocabulary`, {});
      return id;
    });
    if (this.cache.size < 100_000) this.cache.set(word, ids);
    return ids;
  }
}
