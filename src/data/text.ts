/**
 * Text normalization for dataset strings: names from the source packages are folded to
 * plain ASCII ("Brasília" → "Brasilia", "Türkiye" → "Turkiye") so that one entity has one
 * spelling everywhere in the corpus and benchmarks. Strings that still hold non-ASCII
 * characters after folding are rejected by the extractors.
 */

const SPECIAL_FOLDS: Record<string, string> = {
  ß: 'ss',
  ø: 'o',
  Ø: 'O',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  đ: 'd',
  Đ: 'D',
  ł: 'l',
  Ł: 'L',
  þ: 'th',
  Þ: 'Th',
  ð: 'd',
  Ð: 'D',
  ı: 'i',
  ħ: 'h',
  Ħ: 'H',
  '\u2019': "'",
  '\u2018': "'",
  '\u02bb': "'",
  '\u02bc': "'",
  '\u2013': '-',
  '\u2014': '-',
  '\u00a0': ' ',
};

/** Folds diacritics and a few letters to ASCII and collapses whitespace. */
export function foldAscii(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFD')) {
    if (/\p{M}/u.test(ch)) continue;
    out += SPECIAL_FOLDS[ch] ?? ch;
  }
  return out.replace(/\s+/g, ' ').trim();
}

export function isPlainAscii(s: string): boolean {
  return /^[\x20-\x7e]+$/.test(s);
}

export function wordCount(s: string): number {
  return s.split(' ').filter((w) => w.length > 0).length;
}

/** Strips a trailing or embedded parenthetical: "Monarchy (Emirate)" → "Monarchy". */
export function stripParens(s: string): string {
  return s.replace(/\s*\([^)]*\)\s*/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Fills a template's single `{}` with the subject. */
export function fillTemplate(template: string, subject: string): string {
  return template.replace('{}', subject);
}

/** The corpus sentence for a prompt and its object: `prompt + " " + object + "."`. */
export function factSentence(prompt: string, object: string): string {
  return `${prompt} ${object}${object.endsWith('.') ? '' : '.'}`;
}
