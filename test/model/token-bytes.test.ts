/**
 * Byte-level tokens in constrained decoding: a token that ends inside a multi-byte character (half of 日, one
 * byte of é) is allowed exactly when some character with those bytes keeps the text alive
 * (src/model/constrain/token-constraint.ts, utf8.ts, Recognizer.takesIn), checked against brute force over
 * every code point of the range; the bytes each tokenizer's pieces stand for (src/model/piece-bytes.ts,
 * Tokenizer.tokenBytes) join to what the tokenizer decodes; and on the bundled model, whose 4,096 tokens
 * spell every character past ASCII in single bytes, constrained output writes é, 日本 and 😀.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { choiceNode, compileSchema } from '../../src/model/constrain/json-schema.js';
import { jsonRecognizer } from '../../src/model/constrain/json-recognizer.js';
import { regexRecognizer } from '../../src/model/constrain/regex-dfa.js';
import { grammarRecognizer } from '../../src/model/constrain/grammar.js';
import { buildTrie, constraintFor, TokenConstraint } from '../../src/model/constrain/token-constraint.js';
import { BETWEEN, codePointOf, feedByte, needOf, pendingRanges } from '../../src/model/constrain/utf8.js';
import type { Recognizer } from '../../src/model/constrain/recognizer.js';
import { pieceBytesReader } from '../../src/model/piece-bytes.js';
import { loadTokenizer, type Tokenizer } from '../../src/model/tokenizer.js';
import { Rng } from '../../src/util/rng.js';
import { HF_FIXTURES, describeShared, hfFixtureDir } from '../helpers/shared.js';

const enc = new TextEncoder();
const ALPHABET = [...'abnp1 "{}:,[]-é', 'à', 'ÿ', 'ü', 'Z', 'c', 'f', '日', '本', '東', '京', '一', '龥', '😀', '«', '»', 'x'];

const recognizers: [string, Recognizer<unknown>][] = [
  [
    'schema: pattern, enum, a non-ASCII key, a free string',
    jsonRecognizer(
      compileSchema({
        type: 'object',
        properties: { n: { type: 'string', pattern: '^[à-ÿ]{1,3}$', maxLength: 3 }, p: { type: 'string', pattern: '^([à-ÿ]abc|[一-龥])$', maxLength: 2 }, c: { enum: ['東京', 'Zürich', '😀'] }, 'clé': { type: 'integer' }, f: { type: 'string', maxLength: 2 } },
        required: ['n', 'c'],
        additionalProperties: false,
      }),
    ),
  ],
  ['schema: free keys, string values', jsonRecognizer(compileSchema({ type: 'object', additionalProperties: { type: 'string', maxLength: 3 } }))],
  ['choice', jsonRecognizer(choiceNode(['café', '日本', '😀x', 'naïve', 'ab']), true)],
  ['regex', regexRecognizer('[à-ÿ]+ [一-龥]{1,2}|😀+|é\\d|[^a-z日]{2}')],
  ['grammar', grammarRecognizer('root ::= "«" [^À-ÿ»a]* "»" | [一-龥]+ | "😀" [0-9]')],
].map(([n, r]) => [n as string, r as Recognizer<unknown>]);

/** some code point of the pending bytes' ranges steps `s`: brute force, one code point at a time, memoised per state object */
const memo = new WeakMap<object, Map<string, boolean>>();
function bruteTakes(rec: Recognizer<unknown>, s: unknown, lo: number, hi: number): boolean {
  let m = memo.get(s as object);
  if (!m) memo.set(s as object, (m = new Map()));
  const key = `${lo}-${hi}`;
  let v = m.get(key);
  if (v === undefined) {
    v = false;
    for (let cp = lo; cp <= hi && !v; cp++) v = rec.step(s, String.fromCodePoint(cp)) !== null;
    m.set(key, v);
  }
  return v;
}

/** (state, pending bytes) after `bytes`, or null: the text cannot go on (the reference TokenConstraint is checked against) */
function bruteFeed(rec: Recognizer<unknown>, at: { s: unknown; p: number }, bytes: Uint8Array): { s: unknown; p: number } | null {
  let { s, p } = at;
  for (const b of bytes) {
    p = feedByte(p, b);
    if (p < 0) return null;
    if (needOf(p) === 0) {
      s = rec.step(s, String.fromCodePoint(codePointOf(p)));
      p = BETWEEN;
      if (s === null) return null;
    }
  }
  if (p !== BETWEEN && !pendingRanges(p).some(([lo, hi]) => bruteTakes(rec, s, lo, hi))) return null;
  return { s, p };
}

describe('takesIn (pure)', () => {
  /** ranges a byte-level token can leave pending: each alphabet character's lead byte and longer prefixes */
  const ranges = [...new Set(ALPHABET.filter((c) => c.codePointAt(0)! >= 0x80).flatMap((c) => {
    const b = enc.encode(c);
    const out: string[] = [];
    let p = BETWEEN;
    for (let i = 0; i < b.length - 1; i++) {
      p = feedByte(p, b[i]!);
      if (b.length === 4 && i === 0) continue; // a 4-byte lead alone spans 196,608 code points: too many to brute-force at every state
      for (const r of pendingRanges(p)) out.push(r.join(','));
    }
    return out;
  }))].map((r) => r.split(',').map(Number) as [number, number]);

  it.each(recognizers)('%s: some code point of a range steps the state exactly when takesIn says so', (_, rec) => {
    const rng = new Rng(7);
    let checked = 0;
    for (let run = 0; run < 24; run++) {
      let s: unknown = rec.initial();
      for (let k = 0; k < 10; k++) {
        for (const [lo, hi] of ranges) {
          expect(rec.takesIn(s, lo, hi), `${lo}-${hi} after run ${run} step ${k}`).toBe(bruteTakes(rec, s, lo, hi));
          checked++;
        }
        const next = ALPHABET.map((c) => rec.step(s, c)).filter((x) => x !== null);
        if (next.length === 0) break;
        s = next[rng.int(next.length)];
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('TokenConstraint over byte-level tokens (pure)', () => {
  // whole characters, their single bytes, and pieces that start or finish a character; invalid ones never allowed
  const vocab: (string | Uint8Array | null)[] = [...ALPHABET, '"c', '":', '"n":"', '"p":"', 'é"', '日本', 'ab', null];
  for (const ch of ALPHABET.filter((c) => c.codePointAt(0)! >= 0x80)) {
    const b = enc.encode(ch);
    for (let i = 1; i < b.length; i++) vocab.push(b.slice(0, i), b.slice(i));
    for (const x of b) vocab.push(Uint8Array.of(x));
  }
  vocab.push(Uint8Array.of(0xa9, 0x22), Uint8Array.of(0x97, 0xa5, 0xe6), Uint8Array.of(0xff), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0x61, 0xe6));
  const bytesOf = vocab.map((t) => (t === null ? null : typeof t === 'string' ? enc.encode(t) : t));

  it.each(recognizers)('%s: allows exactly the tokens whose bytes keep a text alive (brute force), along random paths', (_, rec) => {
    const trie = buildTrie(vocab);
    const rng = new Rng(13);
    let partial = 0;
    for (let run = 0; run < 15; run++) {
      const c = new TokenConstraint(trie, rec);
      let at: { s: unknown; p: number } = { s: rec.initial(), p: BETWEEN };
      for (let step = 0; step < 14 && !c.finished; step++) {
        const brute = bytesOf.flatMap((b, id) => (b && b.length > 0 && bruteFeed(rec, at, b) !== null ? [id] : []));
        expect(c.allowed().sort((a, b) => a - b)).toEqual(brute);
        expect(c.accepting).toBe(at.p === BETWEEN && rec.accepting(at.s));
        if (brute.length === 0) break;
        const id = brute[rng.int(brute.length)]!;
        c.advance(id);
        at = bruteFeed(rec, at, bytesOf[id]!)!;
        if (at.p !== BETWEEN) partial++;
      }
    }
    expect(partial).toBeGreaterThan(0); // some paths stopped inside a character
  });

  it('a token that cannot be valid UTF-8 anywhere is left out; one starting with a continuation byte waits for a character to finish', () => {
    const trie = buildTrie(vocab);
    const ff = vocab.findIndex((t) => t instanceof Uint8Array && t.length === 1 && t[0] === 0xff);
    expect(trie.bytes[ff]).toBeNull();
    const c = new TokenConstraint(trie, regexRecognizer('é+'));
    const cont = vocab.findIndex((t) => t instanceof Uint8Array && t.length === 1 && t[0] === 0xa9);
    const lead = vocab.findIndex((t) => t instanceof Uint8Array && t.length === 1 && t[0] === 0xc3);
    expect(c.allowed()).not.toContain(cont);
    expect(c.allowed()).toContain(lead);
    c.advance(lead);
    expect([c.accepting, c.finished]).toEqual([false, false]);
    expect(c.allowed()).toContain(cont);
    expect(c.allowed()).not.toContain(lead);
    c.advance(cont);
    expect(c.accepting).toBe(true);
  });
});

describe('pieceBytesReader (pure)', () => {
  it('byte-level pieces are their stand-in characters bytes; SentencePiece <0xNN> pieces are one byte; other tokenizers none', () => {
    const bl = pieceBytesReader({ decoder: { type: 'ByteLevel' } })!;
    expect(Array.from(bl('Ġthe')!)).toEqual([0x20, 0x74, 0x68, 0x65]);
    expect(Array.from(bl('Ã©')!)).toEqual([0xc3, 0xa9]); // é
    expect(Array.from(bl('æĹ')!)).toEqual([0xe6, 0x97]); // two bytes of 日
    expect(Array.from(bl('Ċ')!)).toEqual([0x0a]);
    expect(bl('日')).toBeNull(); // not a stand-in character
    expect(pieceBytesReader({ decoder: { type: 'Sequence', decoders: [{ type: 'Replace' }, { type: 'ByteLevel' }] } })).not.toBeNull();
    const sp = pieceBytesReader({ model: { type: 'BPE', byte_fallback: true }, decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }] } })!;
    expect(Array.from(sp('<0xE6>')!)).toEqual([0xe6]);
    expect(sp('▁the')).toBeNull();
    expect(pieceBytesReader({ model: { type: 'WordPiece' }, decoder: { type: 'WordPiece' } })).toBeNull();
  });
});

/** random ids (special ones left out): their bytes joined decode to what the tokenizer decodes after an anchor token */
function checkBytes(tok: Tokenizer, seed: number): void {
  const bytes = tok.tokenBytes();
  const texts = tok.tokenTexts();
  const usable = bytes.flatMap((b, id) => (b ? [id] : []));
  // a token with a whole text is that text's bytes; the ones without are pieces of characters
  texts.forEach((t, id) => {
    if (t !== null) expect(new TextDecoder().decode(bytes[id]!)).toBe(t);
  });
  const anchor = tok.encode('a').at(-1)!;
  const rng = new Rng(seed);
  const dec = new TextDecoder();
  for (let run = 0; run < 200; run++) {
    const ids = Array.from({ length: 1 + rng.int(8) }, () => usable[rng.int(usable.length)]!);
    const joined = Uint8Array.from(ids.flatMap((id) => Array.from(bytes[id]!)));
    expect(dec.decode(joined), ids.join(',')).toBe(tok.decode([anchor, ...ids], { skipSpecialTokens: true }).slice(tok.decode([anchor]).length));
  }
}

describeShared('Tokenizer.tokenBytes on the HF fixtures (byte-level BPE)', () => {
  it.each(HF_FIXTURES)('%s: every non-special piece has bytes, and random sequences join to the decoded text', async (name) => {
    const tok = await loadTokenizer(hfFixtureDir(name));
    const bytes = tok.tokenBytes();
    const partial = bytes.filter((b, id) => b !== null && tok.tokenTexts()[id] === null).length;
    expect(partial).toBeGreaterThan(0); // the byte tokens past ASCII
    for (let b = 0; b < 256; b++) expect(bytes.some((x) => x?.length === 1 && x[0] === b), `byte ${b}`).toBe(true);
    checkBytes(tok, 1);
  });
}, ['fixtures/hf']);

describe('Tokenizer.tokenBytes on a SentencePiece vocabulary with byte fallback', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wise-spm-'));
    const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), '▁', 'a', 'b', '▁a', 'é', '▁é'];
    const json = {
      version: '1.0',
      added_tokens: [0, 1, 2].map((id) => ({ id, content: pieces[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab: Object.fromEntries(pieces.map((p, i) => [p, i])), merges: [['▁', 'a'], ['▁', 'é']] },
    };
    await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'LlamaTokenizer', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: false }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('<0xNN> pieces are their byte; 日 falls back to three of them, and they join to the decoded text', async () => {
    const tok = await loadTokenizer(dir);
    const ids = tok.encode('a 日');
    const bytes = tok.tokenBytes();
    expect(ids.map((id) => Array.from(bytes[id]!))).toEqual([[0x20, 0x61], [0x20], [0xe6], [0x97], [0xa5]]); // ▁a ▁ <0xE6> <0x97> <0xA5>
    checkBytes(tok, 2);
  });
});

describe('non-ASCII constrained output on the bundled model (its vocabulary spells é, 日 and 😀 byte by byte)', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await CausalLM.load(bundledModelDir());
  });

  it('the bundled vocabulary has no whole token for these characters: only bytes can spell them', () => {
    const texts = lm.tokenizer.tokenTexts();
    for (const ch of ['é', '日', '😀']) expect(texts.some((t) => t?.includes(ch))).toBe(false);
    expect(lm.tokenizer.encode('日').length).toBe(3);
  });

  it('a choice, a regular expression, a schema enum and pattern, a grammar: greedy and sampled texts hold, ending stop', async () => {
    const prompt = lm.tokenizer.encodePrompt('Q: What is the capital of Japan? A:');
    const cases: [Recognizer<unknown>, (t: string) => void][] = [
      [jsonRecognizer(choiceNode(['café', '日本', '😀 ok']), true) as Recognizer<unknown>, (t) => expect(['café', '日本', '😀 ok']).toContain(t)],
      [regexRecognizer('[à-ÿ]{2,4} [一-龥]{2}') as Recognizer<unknown>, (t) => expect(t).toMatch(/^[à-ÿ]{2,4} [一-龥]{2}$/u)],
      [
        jsonRecognizer(compileSchema({ type: 'object', properties: { city: { type: 'string', pattern: '^[À-ÿ]{1,3}$' }, k: { enum: ['東京', 'Zürich'] } }, required: ['city', 'k'], additionalProperties: false })) as Recognizer<unknown>,
        (t) => {
          const v = JSON.parse(t) as { city: string; k: string };
          expect(v.city).toMatch(/^[À-ÿ]{1,3}$/u);
          expect(['東京', 'Zürich']).toContain(v.k);
        },
      ],
      [grammarRecognizer('root ::= "«" [一-龥]{1,3} "»"') as Recognizer<unknown>, (t) => expect(t).toMatch(/^«[一-龥]{1,3}»$/u)],
    ];
    for (const [rec, check] of cases) {
      const c = constraintFor(lm.tokenizer, rec);
      for (const seed of [0, 1, 2]) {
        const out = await lm.generate(prompt, { maxTokens: 80, temperature: seed === 0 ? 0 : 1.5, seed, constraint: c });
        const text = lm.tokenizer.decode(out.ids);
        expect(out.finishReason, text).toBe('stop');
        expect(text).not.toContain('\uFFFD');
        check(text);
      }
    }
  });
});

describe('plainWalk: the plain tokens from a regex or patterned-string state, priced once per key and kept (pure)', () => {
  const long = 'a'.repeat(300);
  const vocab = ['a', 'aa', 'b', 'ab', 'ba', 'bab', '"', 'é', 'aé', 'éa', long, Uint8Array.of(0xc3), Uint8Array.of(0xa9), 'x', ...Array.from({ length: 200 }, (_, i) => `a${'b'.repeat(i % 7)}${i}`), ...Array.from({ length: 512 }, (_, i) => `b${i.toString(2).padStart(9, '0').replace(/0/g, 'a').replace(/1/g, 'b')}`)];
  const trie = buildTrie(vocab);
  const ids = (c: TokenConstraint<unknown>): number[] => c.allowed().sort((x, y) => x - y);
  // every state met along `text`, from every prefix (one byte-level token per byte: pending characters too)
  const prefixes = (text: string): Uint8Array[] => {
    const bytes = new TextEncoder().encode(text);
    return Array.from({ length: bytes.length + 1 }, (_, i) => bytes.slice(0, i));
  };
  const cases: [string, Recognizer<unknown>, string][] = [
    ['regex (a|b|é)*', regexRecognizer('(a|b|é)*') as Recognizer<unknown>, 'abéba'],
    ['regex [ab]{1,3}é?', regexRecognizer('[ab]{1,3}é?') as Recognizer<unknown>, 'abé'],
    ['pattern ^[abé]*$, maxLength 4', jsonRecognizer(compileSchema({ type: 'string', pattern: '^[abé]*$', maxLength: 4 })) as Recognizer<unknown>, '"abéb'],
    ['pattern ^(ab|é)+$, maxLength 5', jsonRecognizer(compileSchema({ type: 'string', pattern: '^(ab|é)+$', maxLength: 5 })) as Recognizer<unknown>, '"abéab'],
    ['pattern ^a*bx?$, no maxLength', jsonRecognizer(compileSchema({ type: 'string', pattern: '^a*bx?$' })) as Recognizer<unknown>, '"aab'],
  ];

  it('allows exactly what stepping the recogniser through the whole trie allows, maxLength binding and characters split across tokens included', () => {
    for (const [name, rec, text] of cases) {
      const { plainWalk: _, ...stepped } = rec; // the same recogniser walked state by state
      let checked = 0;
      for (const bytes of prefixes(text)) {
        const [fast, slow] = [new TokenConstraint(trie, rec), new TokenConstraint(trie, stepped as Recognizer<unknown>)];
        for (const b of bytes) {
          const id = trie.bytes.findIndex((t) => t !== null && t.length === 1 && t[0] === b);
          fast.advance(id);
          slow.advance(id);
        }
        const want = ids(slow);
        expect(ids(fast), `${name} after ${JSON.stringify(new TextDecoder().decode(bytes))}`).toEqual(want);
        checked += want.length;
      }
      expect(checked, name).toBeGreaterThan(15);
    }
  });

  it('a key is priced once: another sequence at the same state, with another room, steps nothing; a plain token past MAX_PLAIN_CHARS is still walked', () => {
    const inner = cases[2]![1];
    let steps = 0;
    const counting: Recognizer<unknown> = {
      ...inner,
      plainWalk: (s) => {
        const pw = inner.plainWalk!(s);
        return pw && { ...pw, step: (q, cp) => (steps++, pw.step(q, cp)) };
      },
    };
    const at = (text: string): TokenConstraint<unknown> => {
      const c = new TokenConstraint(trie, counting);
      for (const ch of text) c.advance(vocab.indexOf(ch));
      return c;
    };
    const first = ids(at('"'));
    const firstSteps = steps;
    steps = 0;
    const second = ids(at('"'));
    expect(second).toEqual(first);
    expect([firstSteps > 1000, steps]).toEqual([true, 0]); // 1,023 trie nodes of a/b tokens priced once
    // after "ab" the pattern's states are those after "" again, with 2 characters of room left: the same key, no walk
    const later = ids(at('"ab'));
    expect(steps).toBe(0);
    expect(later).toContain(vocab.indexOf('ab'));
    expect(later).not.toContain(vocab.indexOf('bab')); // 3 characters: past maxLength
    expect(first).toContain(vocab.indexOf('bab'));
    expect(first).not.toContain(vocab.indexOf(long)); // 300 characters, walked with the others: past maxLength 4
    const free = ids(new TokenConstraint(trie, regexRecognizer('(a|b|é)*') as Recognizer<unknown>));
    expect(free).toContain(vocab.indexOf(long));
    expect(free).not.toContain(vocab.indexOf('a0')); // a digit the pattern refuses
  });
});
