/**
 * guided_regex's recogniser (src/model/constrain/regex.ts): whole-text matches against
 * JavaScript's RegExp on the same patterns (the subset where the two syntaxes agree), prefixes
 * that may go on, texts that cannot, and the refusals, with their positions.
 */
import { describe, expect, it } from 'vitest';
import { thrownMessage } from '../helpers/thrown.js';
import { compileRegex, regexAccepting, regexFinished, regexStep } from '../../src/model/constrain/regex.js';
import { regexRecognizer } from '../../src/model/constrain/regex-dfa.js';

/** 'done' (matches, nothing may follow), 'accept' (matches, may go on), 'open' (a prefix), 'dead' */
function verdict(pattern: string, text: string): 'done' | 'accept' | 'open' | 'dead' {
  const re = compileRegex(pattern);
  let s: Int32Array | null = re.start;
  for (const ch of text) {
    s = regexStep(re, s, ch);
    if (s === null) return 'dead';
  }
  if (regexAccepting(re, s) && regexFinished(re, s)) return 'done';
  return regexAccepting(re, s) ? 'accept' : 'open';
}

const PATTERNS = [
  '\\d{3}-\\d{4}', '(yes|no)', '[A-Z][a-z]+( [A-Z][a-z]+)*', 'a{2,3}b?', '(?:ab|a)*c', '[^,]+,[^,]+', '\\w+@\\w+\\.(com|org)',
  '-?(0|[1-9]\\d*)(\\.\\d+)?', '[a-c-]{1,2}x', '\\s*\\S+', '(a|b)*abb', 'x{0}y', '[\\d.]+', 'colou?r', '.{2}',
  '[\\t ]+x', '\\n?a\\.', '[^\\n]{1,3}', '\\{a\\}', 'a{}', 'x{1,}',
];
const TEXTS = ['555-1234', '55-1234', 'yes', 'no', 'maybe', 'New York', 'new york', 'aa', 'aaab', 'aab', 'ababac', 'c', 'ab', 'one,two', 'one,two,three',
  'me@site.com', 'me@site.net', '-12.50', '012', '0', 'a-x', '-x', 'abcx', '  word', ' ', 'aababb', 'abb', 'y', '1.2.3', 'color', 'colour', 'ab\n', 'é!', '', '\t x', '  x', 'tx', '\na.', 'a.', 'a', '{a}', 'a{,2}'];

describe('regex recogniser', () => {
  it.each(PATTERNS)('%s: accepts exactly what RegExp matches whole, and every prefix of a match stays alive', (p) => {
    const js = new RegExp(`^(?:${p})$`); // no u flag: Annex B reads a brace that is no quantifier as a literal, as Python does
    for (const t of TEXTS) {
      const v = verdict(p, t);
      expect(v === 'done' || v === 'accept', `${p} on ${JSON.stringify(t)}`).toBe(js.test(t));
      if (js.test(t)) for (let k = 0; k < t.length; k++) expect(verdict(p, t.slice(0, k)), `${p}: prefix ${JSON.stringify(t.slice(0, k))}`).not.toBe('dead');
    }
  });

  it('knows when nothing may follow', () => {
    expect(verdict('(yes|no)', 'no')).toBe('done');
    expect(verdict('a{2,3}', 'aa')).toBe('accept');
    expect(verdict('a{2,3}', 'aaa')).toBe('done');
    expect(verdict('\\d+', '12')).toBe('accept');
    expect(verdict('^\\d{2}$', '12')).toBe('done'); // anchors at the ends are allowed
    expect(verdict('.', '\n')).toBe('dead');
    expect([verdict('a{,2}', ''), verdict('a{,2}', 'aa'), verdict('a{,2}', 'aaa')]).toEqual(['accept', 'done', 'dead']); // Python's {,n}
    const r = regexRecognizer('ab|ac');
    const a = r.step(r.initial(), 'a')!;
    expect([r.accepting(a), r.finished(a)]).toEqual([false, false]);
    expect(r.step(a, 'd')).toBeNull();
  });

  it('refuses what the subset does not cover, naming the position', () => {
    const err = (p: string): string => thrownMessage(() => compileRegex(p), 'WISE_BAD_SCHEMA');
    expect(err('(a)\\1')).toMatch(/at 3: \\1 is not supported/);
    expect(err('a(?=b)')).toMatch(/at 1: only \(\?: \) groups/);
    expect(err('\\bword')).toMatch(/\\b is not supported/);
    expect(err('(ab')).toMatch(/unclosed "\("/);
    expect(err('ab)')).toMatch(/unbalanced "\)"/);
    expect(err('[ab')).toMatch(/unclosed "\["/);
    expect(err('*a')).toMatch(/nothing to repeat/);
    expect(err('a{3,2}')).toMatch(/maximum is below the minimum/);
    expect(err('[z-a]')).toMatch(/reversed/);
    expect(err('a++')).toMatch(/possessive/);
    expect(err('(a{100}){100}{100}')).toMatch(/expands past 20000 states/);
    expect(err('a\\q')).toMatch(/unknown escape/);
  });
});
