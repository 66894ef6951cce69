/**
 * Lark grammars (src/model/constrain/lark.ts, vLLM's other guided_grammar syntax): regular ones agree with the
 * equivalent JavaScript RegExp on random and mutated texts; vLLM's documented SQL and JSON examples; a rule
 * left-recursive in its own alternatives is rewritten without changing its language; bad grammars name line and
 * column; Lark is told from GBNF as vLLM tells it.
 */
import { describe, expect, it } from 'vitest';
import { isLikelyLark, larkOrGbnfRecognizer, larkToGbnf } from '../../src/model/constrain/lark.js';
import { Rng } from '../../src/util/rng.js';
import { thrownMessage } from '../helpers/thrown.js';
import { sampleTexts } from '../helpers/sample-text.js';
import { accepts } from '../helpers/recognize.js';


/** [Lark, the same language as a JavaScript regular expression (flags u), the alphabet of random texts, a text in the language] */
const REGULAR: [string, string, string, string][] = [
  ['start: "ab" | "c"', 'ab|c', 'abc', 'ab'],
  ['start: A+ ("x" | "yz")* "d"~2..3\nA: "a".."c"', '[a-c]+(x|yz)*d{2,3}', 'abcxyzd', 'cayzxddd'],
  ['?start: ["a"] "b"~0..2 /[^ab]/', 'a?b{0,2}[^ab]', 'abc', 'abbc'],
  ['start: word (" " word)*\nword: /[a-z]{1,3}/', '[a-z]{1,3}( [a-z]{1,3})*', 'ab z', 'abz a zz'],
  ['start: "hello"i "!"~1', '[hH][eE][lL][lL][oO]!', 'hHeElLoO!x', 'HeLLo!'],
  ['start: /ab+c/i | /x.y/s', '[aA][bB]+[cC]|x(.|\\n)y', 'abcABCx\ny', 'x\ny'],
  ['start:\n    | item\n    | start "," item -> more\n!item.2: "a" | "b"  // items', '[ab](,[ab])*', 'ab,', 'a,b,a'],
  ['start: INT ("+" INT)*\n%import common.INT', '\\d+(\\+\\d+)*', '12+x', '1+22'],
  ['start: WORD ("," WORD)*\n%import common (WORD)', '[A-Za-z]+(,[A-Za-z]+)*', 'aB,1', 'ab,Cd'],
  ['start: NUM\n%import common.SIGNED_NUMBER -> NUM', '[+-]?(\\d+([eE][+-]?\\d+)|(\\d+\\.\\d*|\\.\\d+)([eE][+-]?\\d+)?|\\d+)', '1.e+-5', '-1.5e3'],
  ['start: ESCAPED_STRING\n%import common.ESCAPED_STRING', '"([^"\\\\\\n]|\\\\[^\\n])*"', 'a"\\\n', '"a\\"b"'],
  ['expr: expr "+" term | expr "-" term | term\nterm: /[0-9]/', '\\d([+-]\\d)*', '1+-', '1+2-3'],
  ['start: "é" /[à-ÿ]{1,2}/ "\\t"? "😀"*', 'é[à-ÿ]{1,2}\\t?(😀)*', 'éàa\t😀', 'éàà\t😀😀'],
];

describe('Lark: regular grammars = their regular expressions', () => {
  it.each(REGULAR)('%s', (lark, regex, alphabet, example) => {
    const g = larkOrGbnfRecognizer(lark);
    const re = new RegExp(`^(?:${regex})$`, 'u');
    const rng = new Rng(`lark:${lark}`);
    expect([re.test(example), accepts(g, example)]).toEqual([true, true]);
    const chars = [...alphabet];
    const wrong: string[] = [];
    for (let i = 0; i < 400; i++) {
      let t = example;
      if (i % 2 === 0) t = Array.from({ length: rng.int(9) }, () => chars[rng.int(chars.length)]).join('');
      else for (let k = 0; k <= rng.int(3); k++) {
        const cs = [...t];
        const at = rng.int(cs.length + 1);
        if (rng.int(2) === 0) cs.splice(at, 0, chars[rng.int(chars.length)]!);
        else cs.splice(at, 1);
        t = cs.join('');
      }
      if (re.test(t) !== accepts(g, t)) wrong.push(t);
    }
    expect(wrong).toEqual([]);
    // and what the recogniser writes, the expression matches
    for (const t of sampleTexts(g, { alphabet, closers: alphabet, n: 30, seed: 3, soft: 8 })) expect(re.test(t), t).toBe(true);
  });
});

describe('Lark: vLLM documentation examples', () => {
  it("the SQL grammar of vLLM's guided_grammar example", () => {
    const g = larkOrGbnfRecognizer(`
      ?start: select_statement
      ?select_statement: "SELECT " column_list " FROM " table_name
      ?column_list: column_name ("," column_name)*
      ?table_name: identifier
      ?column_name: identifier
      ?identifier: /[a-zA-Z_][a-zA-Z0-9_]*/
    `);
    for (const t of ['SELECT a FROM t', 'SELECT col_1,b2 FROM users']) expect(accepts(g, t), t).toBe(true);
    for (const t of ['SELECT FROM t', 'SELECT a FROM', 'select a FROM t', 'SELECT 1a FROM t', 'SELECT a, b FROM t']) expect(accepts(g, t), t).toBe(false);
  });

  it('the JSON grammar (%import common, %ignore WS): compact JSON of random values is accepted; what it writes parses as JSON once Lark number forms are set aside', () => {
    const g = larkOrGbnfRecognizer(String.raw`
      ?value: dict
            | list
            | string
            | SIGNED_NUMBER      -> number
            | "true"             -> true
            | "false"            -> false
            | "null"             -> null

      list : "[" [value ("," value)*] "]"

      dict : "{" [pair ("," pair)*] "}"
      pair : string ":" value

      string : ESCAPED_STRING

      %import common.ESCAPED_STRING
      %import common.SIGNED_NUMBER
      %import common.WS
      %ignore WS
    `);
    const rng = new Rng(9);
    const value = (d: number): unknown => {
      const k = rng.int(d > 2 ? 4 : 7);
      if (k === 0) return rng.int(2000) - 1000 + (rng.int(2) ? 0.25 : 0);
      if (k === 1) return ['a', 'é"\\', 'x\ny', ''][rng.int(4)];
      if (k === 2) return [true, false, null][rng.int(3)];
      if (k === 3) return rng.int(3) - 1;
      if (k < 6) return Array.from({ length: rng.int(3) }, () => value(d + 1));
      return Object.fromEntries(Array.from({ length: rng.int(3) }, (_, i) => [`k${i}`, value(d + 1)]));
    };
    for (let i = 0; i < 200; i++) {
      const text = JSON.stringify(value(0));
      expect(accepts(g, text), text).toBe(true);
    }
    for (const t of ['[1,]', '{"a"}', '{a:1}', '[1 2]', '"unclosed', 'tru']) expect(accepts(g, t), t).toBe(false);
    const texts = sampleTexts(g, { alphabet: '{}[]":,0123456789-.abtrufelsn', closers: '"}]', n: 60, seed: 4, soft: 20 });
    expect(texts.length).toBeGreaterThan(30);
    // SIGNED_NUMBER also takes +1, 02, 1. and .5, which JSON does not: each number rewritten as JavaScript reads it, JSON reads every text
    const asJson = (t: string): string => t.replace(/"(?:[^"\\]|\\.)*"|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/g, (tok) => (tok.startsWith('"') ? tok : String(Number.isFinite(Number(tok)) ? Number(tok) : 0)));
    for (const t of texts) expect(() => JSON.parse(asJson(t)), t).not.toThrow();
  });
});

describe('Lark: errors and detection', () => {
  it('bad grammars are WISE_BAD_SCHEMA naming line and column', () => {
    const cases: [string, RegExp][] = [
      ['start: a b\na: "x"', /line 1, column 10: b is used but not defined/],
      ['start: "a"\nstart: "b"', /line 2, column 1: start is defined twice/],
      ['start: "a\n', /line 1, column 8: unclosed literal/],
      ['start: /a(?=b)/', /line 1, column 8: .*only \(\?: \) groups/],
      ['start: ("a" | "b"', /line 1, column 8: expected \) to close the group/],
      ['start: x\n%declare x', /line 2, column 1: %declare is not supported/],
      ['start: X\n%import other.X', /line 2, column 1: %import from "other"/],
      ['start: X\n%import common.NOPE', /line 2, column 16: common has no terminal NOPE/],
      ['start: _sep{x}\n_sep{x}: x', /templates/],
      ['start: "z".."a"', /end comes before its start/],
      ['start: start "a"', /left-recursive in every alternative/],
      ['start: /a/x', /flag x is not supported/],
      ['start: "a" ~ 3..1', /the most is below the least/],
    ];
    for (const [g, re] of cases) expect(thrownMessage(() => larkToGbnf(g), 'WISE_BAD_SCHEMA'), g).toMatch(re);
    // left recursion through another rule is grammar.ts's refusal, named with its cycle
    expect(thrownMessage(() => larkOrGbnfRecognizer('start: a "x" | "y"\na: start "z"'), 'WISE_BAD_SCHEMA')).toMatch(/left-recursive \(start → a → start\)/);
  });

  it('told apart as vLLM tells them: ::= on any line means GBNF; a Lark rule named root does not clash', () => {
    expect(isLikelyLark('start: "a"')).toBe(true);
    expect(isLikelyLark('root ::= "a"')).toBe(false);
    expect(isLikelyLark('// a ::= comment\nstart: "a"')).toBe(true);
    const g = larkOrGbnfRecognizer('root: "x" other\nother: "y"');
    expect(accepts(g, 'xy')).toBe(true);
    expect(accepts(larkOrGbnfRecognizer('root ::= "q"'), 'q')).toBe(true);
  });
});
