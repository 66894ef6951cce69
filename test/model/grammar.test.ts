/**
 * GBNF grammars (src/model/constrain/gbnf.ts, grammar.ts): regular grammars agree with the equivalent regular
 * expression (whole matches against JavaScript's RegExp, and live prefixes against the regex recogniser) on
 * random texts; context-free ones (balanced brackets, JSON) against direct checks; bad grammars name line and column.
 */
import { describe, expect, it } from 'vitest';
import { grammarRecognizer } from '../../src/model/constrain/grammar.js';
import { regexRecognizer } from '../../src/model/constrain/regex-dfa.js';
import { Rng } from '../../src/util/rng.js';
import { buildTrie, TokenConstraint, type VocabTrie } from '../../src/model/constrain/token-constraint.js';
import { thrownMessage } from '../helpers/thrown.js';
import { accepts, run } from '../helpers/recognize.js';


function randomText(rng: Rng, alphabet: string, maxLen: number): string {
  let t = '';
  const n = rng.int(maxLen + 1);
  for (let i = 0; i < n; i++) t += alphabet[rng.int(alphabet.length)];
  return t;
}

/** `text` with one character replaced, inserted or deleted, or cut short. */
function mutate(rng: Rng, text: string, alphabet: string): string {
  const cs = [...text];
  const at = rng.int(cs.length + 1);
  const c = alphabet[rng.int(alphabet.length)]!;
  switch (rng.int(4)) {
    case 0: cs[Math.min(at, cs.length - 1)] = c; break;
    case 1: cs.splice(at, 0, c); break;
    case 2: cs.splice(at, 1); break;
    default: return cs.slice(0, at).join('');
  }
  return cs.join('');
}

/** [GBNF, the same language as a regular expression, the alphabet random texts are drawn from, a text in the language] */
const REGULAR: [string, string, string, string][] = [
  ['root ::= "ab" | "c"', 'ab|c', 'abc', 'ab'],
  ['root ::= [a-c]+ ("x" | "yz")* "d"{2,3}', '[a-c]+(x|yz)*d{2,3}', 'abcxyzd', 'cayzxddd'],
  ['root ::= "a"? "b"{,2} [^ab]', 'a?b{0,2}[^ab]', 'abc', 'abbc'],
  ['root ::= word (" " word)*\nword ::= [a-z]{1,3}', '[a-z]{1,3}( [a-z]{1,3})*', 'ab z', 'abz a zz'],
  ['root ::= "(" digits ") " digits "-" digits\ndigits ::= [0-9]{2}', '\\(\\d{2}\\) \\d{2}-\\d{2}', '()0 1-9', '(01) 99-10'],
  ['# a comment\nroot ::= (\n  "x" |\n  "y" "z"\n)+ # groups over lines\n', '(x|yz)+', 'xyz', 'xyzx'],
  ['root ::= item\n     | item "," root\nitem ::= "a" | "b"', '[ab](,[ab])*', 'ab,', 'a,b,a'],
  ['root ::= . "\\n" [\\x41-\\x43]', '(.|\\n)\\n[A-C]', 'aA\nB', 'a\nC'], // . is any character, a newline too (llama.cpp's)
  ['root ::= "é" [\\u00e0-\\u00ff]{1,2} "\\t"?', 'é[à-ÿ]{1,2}\\t?', 'éàa\t', 'éàà\t'],
  ['root ::= ("ab"){2} "c"{2,}', '(ab){2}c{2,}', 'abc', 'ababccc'],
];

describe('GBNF: regular grammars = their regular expressions', () => {
  it.each(REGULAR)('%s', (gbnf, regex, alphabet, example) => {
    const g = grammarRecognizer(gbnf);
    const re = new RegExp(`^(?:${regex})$`);
    const live = regexRecognizer(regex);
    const rng = new Rng(`gbnf:${gbnf}`);
    expect([re.test(example), accepts(g, example)]).toEqual([true, true]);
    for (let i = 0; i < 400; i++) {
      // random texts, and random edits of the example (closer to the language)
      const t = i % 2 === 0 ? randomText(rng, alphabet, 10) : mutate(rng, example, alphabet);
      expect(accepts(g, t), JSON.stringify(t)).toBe(re.test(t));
      expect(run(g, t) !== null, `live prefix ${JSON.stringify(t)}`).toBe(run(live, t) !== null);
    }
  });
});

describe('GBNF: context-free grammars', () => {
  it('balanced brackets: accepted iff balanced; a prefix is live iff it never closes more than it opened', () => {
    const g = grammarRecognizer('root ::= ( "(" root ")" | "[" root "]" )*');
    const rng = new Rng(3);
    const check = (t: string): { ok: boolean; live: boolean } => {
      const st: string[] = [];
      for (const c of t) {
        if (c === '(' || c === '[') st.push(c);
        else if (st.pop() !== (c === ')' ? '(' : '[')) return { ok: false, live: false };
      }
      return { ok: st.length === 0, live: true };
    };
    let balanced = 0;
    for (let i = 0; i < 2000; i++) {
      const t = randomText(rng, '()[]', 12);
      const want = check(t);
      expect(accepts(g, t), t).toBe(want.ok);
      expect(run(g, t) !== null, t).toBe(want.live);
      if (want.ok) balanced++;
    }
    expect(balanced).toBeGreaterThan(20);
    expect(accepts(g, '(((([[[[]]]]))))'.repeat(3))).toBe(true); // nesting grows the stack, not the state
  });

  const JSON_GBNF = String.raw`
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= "-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [-+]? [0-9]+)? ws

# optional space, as llama.cpp's json.gbnf
ws ::= | " " | "\n" [ \t]{0,20}
`;

  it("llama.cpp's JSON grammar: JSON.stringify of random objects (compact and indented) is accepted, broken JSON refused", () => {
    const g = grammarRecognizer(JSON_GBNF);
    const rng = new Rng(11);
    const value = (depth: number): unknown => {
      const k = rng.int(depth > 2 ? 4 : 6);
      if (k === 0) return rng.int(3) === 0 ? null : rng.int(2) === 0;
      if (k === 1) return (rng.next() - 0.5) * 10 ** rng.int(8);
      if (k === 2) return randomText(rng, 'ab"\\\n\u00e9\u0001 ', 6);
      if (k === 3) return rng.int(1000) - 500;
      if (k === 4) return Array.from({ length: rng.int(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [`k${i}${randomText(rng, 'x"', 2)}`, value(depth + 1)]));
    };
    for (let i = 0; i < 60; i++) {
      const v = Object.fromEntries([['a', value(0)], ['b', value(0)]]);
      for (const text of [JSON.stringify(v), JSON.stringify(v, null, 2)]) expect(accepts(g, text), text).toBe(true);
    }
    for (const bad of ['{"a":}', '{"a" 1}', '{"a":[1,]}', '{"a":01}', '{"a":"\u0001"}', '{"a":tru}', '{,}', '{"a":1}}', '[1]', '{"a":1', '{"a":"\\x"}']) {
      expect(accepts(g, bad), bad).toBe(false);
    }
    expect(run(g, '{"a":[1,2')).not.toBeNull(); // a live prefix
  });

  it('room: inside a string loop the plain tokens come from the list; allowed() equals a walk of the whole trie at every point', () => {
    const g = grammarRecognizer(JSON_GBNF);
    const vocab = ['{', '}', '"', ':', ',', '[', ']', ' ', '\n', '\\', 'n', 'u', '0', '1', '12', 'a', 'ab', 'abc', 'é', ' x', '{"', '":', '", "', '"}', 'a"', 'b\\', '\u007f', 'x\u007fy', '\t', 'true', 'tr', '\\n', '\\u00', '-', '.5', 'e'];
    const text = '{"ab": "a\\n\\u00e9 x", "é": [1, -0.5e1, true], "": "b"}';
    for (const ch of text) if (!vocab.includes(ch)) vocab.push(ch); // every character has its own token
    const trie = buildTrie(vocab);
    const whole: VocabTrie = { ...trie, plainIds: new Int32Array(0), plainLens: new Int32Array(0), special: trie.root };
    const fast = new TokenConstraint(trie, g);
    const slow = new TokenConstraint(whole, g);
    const chars = [...text];
    let listed = 0;
    chars.forEach((ch, i) => {
      expect(fast.allowed().sort((x, y) => x - y), `after ${JSON.stringify(chars.slice(0, i).join(''))}`).toEqual(slow.allowed().sort((x, y) => x - y));
      if (g.room(run(g, chars.slice(0, i).join(''))!) !== null) listed++;
      fast.advance(vocab.indexOf(ch));
      slow.advance(vocab.indexOf(ch));
    });
    expect(fast.accepting).toBe(true);
    expect(listed).toBeGreaterThan(0);
    const inString = run(g, '{"ab": "hel')!;
    expect(g.room(inString)).toBe(Infinity);
    expect(g.room(run(g, '{"ab": ')!)).toBeNull();
    expect(g.room(run(g, '{"ab": "h\\')!)).toBeNull(); // in an escape
  });

  it('finished: accepted and nothing may follow', () => {
    const yes = grammarRecognizer('root ::= "yes" | "no"');
    expect(yes.finished(run(yes, 'yes')!)).toBe(true);
    expect(yes.finished(run(yes, 'n')!)).toBe(false);
    const many = grammarRecognizer('root ::= "a"+');
    const s = run(many, 'aaa')!;
    expect([many.accepting(s), many.finished(s)]).toEqual([true, false]);
  });
});

describe('GBNF: bad grammars are WISE_BAD_SCHEMA naming where', () => {
  const cases: [string, RegExp][] = [
    ['root ::= "a" b', /line 1, column 14: rule b is used but not defined/],
    ['start ::= "a"', /no root rule/],
    ['root ::= "a\\q"', /line 1, column 12: unknown escape \\q/],
    ['root ::= "abc', /line 1, column 10: unclosed literal/],
    ['root ::= ("a" | "b"', /expected \) to close the group/],
    ['root ::= [a-', /unclosed character class/],
    ['root ::= * "a"', /\* with nothing before it to repeat/],
    ['root ::= "a"{3,1}', /the most is below the least/],
    ['root ::= "a"\nroot ::= "b"', /line 2, column 1: rule root is defined twice/],
    ['root ::= expr\nexpr ::= expr "+" term | term\nterm ::= [0-9]', /rule expr is left-recursive \(expr → expr\)/],
    ['root ::= a\na ::= b? a "x"\nb ::= "y"', /rule a is left-recursive/],
    ['root ::= "a"{99999}"b"{9}', /expands past 100000 elements/],
    ['root "a"', /expected ::= after root/],
    ['root ::= [\\x4]', /\\x needs 2 hex digits/],
  ];
  it.each(cases)('%s', (text, want) => {
    expect(thrownMessage(() => grammarRecognizer(text), 'WISE_BAD_SCHEMA')).toMatch(want);
  });
});
