/**
 * ROME's fact lookup position (`fact_token: subject_last`): the last token of the subject inside a
 * templated prompt. Pure: takes the encoder the rows are tokenized with.
 *
 * EasyEdit tokenizes the prefix, the subject and the suffix separately and adds their lengths
 * (repr_tools.get_words_idxs_in_templates); with a BOS tokenizer every piece gets its own BOS, so on
 * Llama its index lands one token past the subject. Here the text up to the end of the subject is
 * tokenized as the row's own prefix, so the index is the subject's last token for every tokenizer.
 */

export interface SubjectSpan {
  /** the prompt up to the end of the subject */
  through: string;
  /** how the subject was found: verbatim, ignoring case, or not at all (the prompt's last token is used) */
  match: 'exact' | 'case' | 'none';
}

/** Where `subject` ends in `prompt` (its last occurrence, as a question usually names it once). */
export function subjectSpan(prompt: string, subject: string | undefined): SubjectSpan {
  const s = (subject ?? '').trim();
  if (s.length > 0) {
    let i = prompt.lastIndexOf(s);
    if (i >= 0) return { through: prompt.slice(0, i + s.length), match: 'exact' };
    i = prompt.toLowerCase().lastIndexOf(s.toLowerCase());
    if (i >= 0) return { through: prompt.slice(0, i + s.length), match: 'case' };
  }
  return { through: prompt, match: 'none' };
}

/**
 * The lookup index in the row `encode(template.replace('{}', prompt))`: the last token of
 * `encode(template.replace('{}', span.through))`, capped at the prompt row's last token.
 */
export function subjectLastIndex(encode: (text: string) => number[], template: string, prompt: string, span: SubjectSpan): number {
  const rowLen = encode(template.replace('{}', () => prompt)).length;
  const upTo = encode(template.replace('{}', () => span.through)).length;
  return Math.max(0, Math.min(upTo, rowLen) - 1);
}
