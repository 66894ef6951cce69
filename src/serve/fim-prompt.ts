/**
 * Fill-in-the-middle prompts for POST /infill, as llama.cpp builds them (format_prompt_infill in its
 * server, FIM token spellings from llama-vocab.cpp). Pure: the tokenizer comes in as functions.
 *
 * The model's FIM tokens are found by their spelling in the vocabulary: prefix, suffix and middle are
 * required; repo and file-separator tokens switch on the repo-level pattern (Qwen2.5-Coder,
 * arXiv 2409.12186); pad, repo and separator tokens also end generation (llama.cpp counts them as
 * end-of-generation tokens). The prompt, PSM order (llama.cpp's default; its --spm-infill is a server flag):
 *
 *   [extra context] [BOS] PRE prefix prompt SUF suffix MID
 *
 * where the extra context is, with repo and separator tokens,
 *   REP "myproject\n" (SEP filename "\n" text)… SEP "filename\n"
 * and without them each chunk's text after "\n\n--- snippet ---\n\n". The request's `prompt` goes after
 * the prefix (the code does this; llama.cpp's README says after MID). The extra context comes before the
 * BOS, as llama.cpp places it.
 */

/** The roles of a model's FIM tokens. */
export type FimRole = 'pre' | 'suf' | 'mid' | 'pad' | 'rep' | 'sep';

/** Each role's spellings, in the order they are tried (llama.cpp's lists; `▁<PRE>` is CodeLlama's piece). */
export const FIM_SPELLINGS: Record<FimRole, readonly string[]> = {
  pre: ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>'],
  suf: ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>'],
  mid: ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>'],
  pad: ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>'],
  rep: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'],
  sep: ['<|file_sep|>'],
};

/** A model's FIM token ids: pre, suf, mid always; the others null when it has none. */
export interface FimTokens {
  pre: number;
  suf: number;
  mid: number;
  pad: number | null;
  rep: number | null;
  sep: number | null;
}

/** llama.cpp's name of each required role in its refusal ("prefix token is missing. "). */
const REQUIRED = [['pre', 'prefix'], ['suf', 'suffix'], ['mid', 'middle']] as const;

/** The model's FIM tokens by their spelling (`tokenId`: a vocabulary lookup), or the required roles it lacks, named as llama.cpp names them. */
export function findFimTokens(tokenId: (piece: string) => number | null): { tokens: FimTokens } | { missing: string[] } {
  const find = (role: FimRole): number | null => {
    for (const piece of FIM_SPELLINGS[role]) {
      const id = tokenId(piece);
      if (id !== null) return id;
    }
    return null;
  };
  const ids = { pre: find('pre'), suf: find('suf'), mid: find('mid') };
  const missing = REQUIRED.filter(([role]) => ids[role] === null).map(([, name]) => name);
  if (missing.length > 0) return { missing };
  return { tokens: { pre: ids.pre!, suf: ids.suf!, mid: ids.mid!, pad: find('pad'), rep: find('rep'), sep: find('sep') } };
}

/** The token ids that end an infill besides the model's EOS: its pad, repo and separator tokens. */
export const fimStopIds = (t: FimTokens): number[] => [t.pad, t.rep, t.sep].filter((x): x is number => x !== null);

/** An infill request's parts: prefix, suffix and prompt already tokenized (no special tokens added), extra chunks as texts. */
export interface InfillParts {
  prefix: readonly number[];
  suffix: readonly number[];
  prompt: readonly number[];
  extra: readonly { filename: string; text: string }[];
}

/** llama.cpp's default n_batch: the FIM part is cut to fit one batch of it */
export const FIM_BATCH = 2048;

/**
 * The infill prompt's ids, at most `limit` long unless `prompt` alone overflows it (the caller refuses that).
 * Cut as llama.cpp cuts it, with its batch n = min(FIM_BATCH, limit − BOS − 1): the prefix keeps its last
 * 3·⌊n/4⌋ tokens, the suffix its first max(0, ⌊n/4⌋ − 2 − |prompt|); the extra context keeps its last tokens,
 * as many as the FIM part leaves of `limit` (llama.cpp: what its batch and 2·n_predict leave of the context).
 */
export function infillIds(t: FimTokens, encode: (text: string) => number[], bos: readonly number[], parts: InfillParts, limit: number): number[] {
  const extra: number[] = [];
  if (t.rep !== null) extra.push(t.rep, ...encode('myproject\n'));
  for (const chunk of parts.extra) {
    if (t.sep !== null) extra.push(t.sep, ...encode(`${chunk.filename}\n`));
    else extra.push(...encode('\n\n--- snippet ---\n\n'));
    extra.push(...encode(chunk.text));
  }
  if (t.sep !== null) extra.push(t.sep, ...encode('filename\n'));

  const quarter = Math.floor(Math.max(0, Math.min(FIM_BATCH, limit - bos.length - 1)) / 4);
  const prefix = parts.prefix.slice(Math.max(0, parts.prefix.length - 3 * quarter));
  const suffix = parts.suffix.slice(0, Math.max(0, quarter - (2 + parts.prompt.length)));
  const fim = [...bos, t.pre, ...prefix, ...parts.prompt, t.suf, ...suffix, t.mid];
  const take = Math.min(extra.length, Math.max(0, limit - fim.length));
  return [...extra.slice(extra.length - take), ...fim];
}
