/**
 * Fluency as EasyEdit reports it (`test_generation_quality` → `ngram_entropy`, from ROME's evaluation): a text is
 * generated from the edit prompt, and its weighted n-gram entropy measures how repetitive it is (a model broken by
 * edits repeats itself: low entropy). Pure: the generation is the caller's (Scorer.generate).
 *
 *   generation   ROME's generate_fast: top-5 sampling at temperature 1 until the sequence (prompt included) is
 *                100 tokens long, EOS not stopping it; the decoded text of the whole sequence (prompt first),
 *                special tokens left out, NFKD-normalized, "\n\n" → " "
 *   entropy      for n = 2, 3: the Shannon entropy (bits) of the n-gram frequencies of the text's word tokens,
 *                weighted 2/3 and 4/3, then their mean (compute_n_gram_entropy; n_gram_entropy averages texts)
 *
 * Deviation, documented: nltk.word_tokenize (the Treebank tokenizer) splits "don't" into "do" "n't" and keeps "..."
 * as one token; `wordTokens` takes runs of letters, digits and underscores, and every other non-space character as a
 * token of its own. EasyEdit's KnowEdit summary prints the mean × 100.
 */

/** ROME's generate_fast settings: the sequence length the sampling stops at (prompt included) and its top-k. */
export const FLUENCY_GENERATION = { maxLength: 100, topK: 5 } as const;

/** The generated text as generate_fast returns it: NFKD, blank lines joined by a space. */
export function fluencyText(decoded: string): string {
  return decoded.normalize('NFKD').replaceAll('\n\n', ' ');
}

/** Word tokens: letter/digit/underscore runs, and each other non-space character (approximates nltk.word_tokenize). */
export function wordTokens(text: string): string[] {
  return text.match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

/** Entropy in bits of the frequencies of the n-grams of `tokens` (0 when there are none). */
function ngramBits(tokens: readonly string[], n: number): number {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const g = tokens.slice(i, i + n).join('\u0000');
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  const total = tokens.length - n + 1;
  let h = 0;
  for (const c of counts.values()) h -= (c / total) * Math.log2(c / total);
  return total > 0 ? h : 0;
}

/** compute_n_gram_entropy: mean over n ∈ {2, 3} of the n-gram entropy × its weight (2/3, 4/3). */
export function ngramEntropy(text: string, ns: readonly number[] = [2, 3], weights: readonly number[] = [2 / 3, 4 / 3]): number {
  const tokens = wordTokens(text);
  return ns.reduce((a, n, i) => a + ngramBits(tokens, n) * weights[i]!, 0) / ns.length;
}
