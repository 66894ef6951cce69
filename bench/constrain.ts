/**
 * Structured output's cost (docs/serve.md "Structured output"), as ratios within one run:
 *  1. `TokenConstraint.allowed()` at five points of a JSON text, on the bundled model's vocabulary
 *     and on a synthetic larger one (the bundled corpus's words and word pieces, with and without a
 *     leading space), with the plain-token list against a walk of the whole trie;
 *  2. the bundled model's decoding: ms per token under a schema against unconstrained (EOS ignored,
 *     the same number of tokens), interleaved rounds, ratio of the minima;
 *  for the JSON-schema recogniser, and for the GBNF recogniser: llama.cpp's JSON grammar in 1, the schema written
 *  as GBNF in 2.
 *
 * and on a 150,000-token vocabulary (largeVocab), with a schema whose string has a pattern (walked token by token).
 *
 *   npm run bench:constrain [-- --rounds N]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CausalLM } from '../src/model/causal-lm.js';
import { bundledModelDir } from '../src/config/paths.js';
import { compileSchema } from '../src/model/constrain/json-schema.js';
import { jsonRecognizer } from '../src/model/constrain/json-recognizer.js';
import { buildTrie, constraintFor, TokenConstraint, vocabTrie, type VocabTrie } from '../src/model/constrain/token-constraint.js';
import { grammarRecognizer } from '../src/model/constrain/grammar.js';
import { regexRecognizer } from '../src/model/constrain/regex-dfa.js';
import { compileRegex, regexStep } from '../src/model/constrain/regex.js';
import type { Recognizer } from '../src/model/constrain/recognizer.js';
import { Rng } from '../src/util/rng.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 9) || 9;
const REPO = path.join(import.meta.dirname, '..');

const SCHEMA = compileSchema({
  type: 'object',
  properties: { answer: { type: 'string', maxLength: 24 }, n: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
  required: ['answer', 'n'],
  additionalProperties: false,
});
/** SCHEMA with a pattern on the answer: inside it no token list serves, every token is walked */
const PATTERN_SCHEMA = compileSchema({
  type: 'object',
  properties: { answer: { type: 'string', maxLength: 24, pattern: '^[A-Za-z ]*$' }, n: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
  required: ['answer', 'n'],
  additionalProperties: false,
});
const POINTS: [string, string][] = [['start', ''], ['key', '{"'], ['in string', 'answer": "hello'], ['after string', '"'], ['in number', ', "n": 12']];

/** llama.cpp's json.gbnf (strings, numbers, objects, arrays; optional whitespace), the GBNF recogniser's case */
const JSON_GBNF = String.raw`root ::= object
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}`;

/** SCHEMA as GBNF (keys in the schema's order; the answer's 24 characters as a counted repetition) */
const SCHEMA_GBNF = String.raw`root ::= "{" ws "\"answer\"" ws ":" ws "\"" char{0,24} "\"" ws "," ws "\"n\"" ws ":" ws int ("," ws "\"tags\"" ws ":" ws "[" ws (str ("," ws str)*)? "]" ws)? "}"
char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
str ::= "\"" char* "\"" ws
int ::= "-"? ([0-9] | [1-9] [0-9]{0,15}) ws
ws ::= | " " | "\n" [ \t]{0,20}`;

const recognizers: [string, () => Recognizer<unknown>][] = [
  ['JSON schema', () => jsonRecognizer(SCHEMA) as Recognizer<unknown>],
  ['JSON GBNF', () => grammarRecognizer(JSON_GBNF) as Recognizer<unknown>],
];

/** min ms of `allowed()` at each point, feeding the text between points character by character (single-character tokens). */
function allowedCost(trie: VocabTrie, label: string, rec: Recognizer<unknown>): void {
  const whole: VocabTrie = { ...trie, plainIds: new Int32Array(0), plainLens: new Int32Array(0), special: trie.root };
  const utf8 = new TextDecoder();
  const idOf = new Map(trie.bytes.map((b, id) => [b === null ? null : utf8.decode(b), id]));
  const cs = [new TokenConstraint(trie, rec), new TokenConstraint(whole, rec)];
  const rows: string[] = [];
  for (const [name, text] of POINTS) {
    for (const ch of text) {
      const id = idOf.get(ch);
      if (id === undefined) throw new Error(`no single-character token ${JSON.stringify(ch)}`);
      for (const c of cs) c.advance(id);
    }
    const ms = cs.map((c) => {
      let best = Infinity;
      let first = 0;
      let n = 0;
      for (let r = 0; r < rounds; r++) {
        const t = performance.now();
        n = c.allowed().length;
        const d = performance.now() - t;
        if (r === 0) first = d; // a plainKey's walk or a plainWalk's pricing happens here; later calls read its cache
        best = Math.min(best, d);
      }
      return { best, first, n };
    });
    if (ms[0]!.n !== ms[1]!.n) throw new Error(`${name}: ${ms[0]!.n} allowed with the list, ${ms[1]!.n} walking`);
    rows.push(`  ${name.padEnd(13)} allowed ${String(ms[0]!.n).padStart(6)}   list ${ms[0]!.best.toFixed(2).padStart(7)} ms (first ${ms[0]!.first.toFixed(2).padStart(7)})   whole trie ${ms[1]!.best.toFixed(2).padStart(7)} ms   ×${(ms[1]!.best / ms[0]!.best).toFixed(1)}`);
  }
  console.log(`${label}: ${trie.bytes.length} tokens`);
  for (const r of rows) console.log(r);
}

/**
 * Successive tokens under a pattern, each allowed() timed once as a decoder meets it (a new state each token): with
 * the recogniser's plainWalk (plain tokens priced once per DFA state, then filtered by the room left) against the same
 * recogniser stepped through the trie at every node (its plainWalk removed). Medians over the tokens of `text`.
 */
function successiveCost(trie: VocabTrie, label: string, rec: Recognizer<unknown>, prefix: string, text: string, before?: Recognizer<unknown>): void {
  const { plainWalk: _, ...stepped } = rec;
  const utf8 = new TextDecoder();
  const idOf = new Map(trie.bytes.map((b, id) => [b === null ? null : utf8.decode(b), id]));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const times = [rec, stepped as Recognizer<unknown>, ...(before ? [before] : [])].map((r) => {
    const c = new TokenConstraint(trie, r);
    for (const ch of prefix) c.advance(idOf.get(ch)!);
    const ms: number[] = [];
    let n = 0;
    for (const ch of text) {
      const t = performance.now();
      n = c.allowed().length;
      ms.push(performance.now() - t);
      c.advance(idOf.get(ch)!);
    }
    return { ms, n };
  });
  const [fast, slow, old] = times as [{ ms: number[]; n: number }, { ms: number[]; n: number }, { ms: number[]; n: number } | undefined];
  if (fast.n !== slow.n || (old && old.n !== fast.n)) throw new Error(`${label}: ${fast.n} allowed priced, ${slow.n} stepped, ${old?.n} before`);
  const show = (ms: number[]): string => `first ${ms[0]!.toFixed(0)} ms, then median ${median(ms.slice(1)).toFixed(1)} ms`;
  const ratio = (t: { ms: number[] }): string => `×${(median(t.ms.slice(1)) / median(fast.ms.slice(1))).toFixed(1)}`;
  console.log(`${label}, ${text.length} successive tokens (${fast.n} allowed at the last): priced ${show(fast.ms)}; stepped ${show(slow.ms)} (${ratio(slow)})${old ? `; stepped on the NFA, as before the DFA: ${show(old.ms)} (${ratio(old)})` : ''}`);
}

function syntheticVocab(): (string | null)[] {
  const words = new Set<string>(['{', '}', '"', ':', ',', '[', ']', ' ', '\n', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-', '.', 'e']);
  for (const c of 'abcdefghijklmnopqrstuvwxyz') words.add(c);
  const corpus = readFileSync(path.join(REPO, 'datasets', 'bundled-train.json'), 'utf8') + readFileSync(path.join(REPO, 'datasets', 'bundled-zsre.json'), 'utf8');
  for (const w of corpus.split(/[^A-Za-z0-9]+/)) {
    if (!w) continue;
    words.add(w);
    words.add(` ${w}`);
    for (let i = 1; i < w.length; i++) {
      words.add(w.slice(0, i));
      words.add(w.slice(i));
    }
  }
  for (const p of ['":', '",', ' "', '{"', '"}', ', "', '],', '\n  ', '": "', '": ']) words.add(p);
  return [...words];
}

/**
 * A vocabulary the size of Qwen2's or Llama 3's (~150,000): the synthetic one, pairs of its words (seeded), CJK
 * characters whole, and the 256 single bytes (pieces of characters, as byte-level vocabularies have).
 */
function largeVocab(size = 150_000): (string | Uint8Array | null)[] {
  const base = syntheticVocab().filter((w): w is string => w !== null);
  const words = new Set<string>(base);
  for (let cp = 0x4e00; cp < 0x4e00 + 3000; cp++) words.add(String.fromCodePoint(cp));
  const rng = new Rng(150);
  while (words.size < size - 256) words.add(base[rng.int(base.length)]! + base[rng.int(base.length)]!);
  return [...words, ...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b))];
}

/** Heap in use after a full collection (MiB); null without --expose-gc (the npm script passes it). */
function heapMiB(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function main(): Promise<void> {
  const lm = await CausalLM.load(bundledModelDir());
  for (const [name, make] of recognizers) {
    allowedCost(vocabTrie(lm.tokenizer), `${name}, bundled vocabulary`, make());
    allowedCost(buildTrie(syntheticVocab()), `${name}, synthetic vocabulary`, make());
  }
  // a 150k vocabulary: where the plain-token list serves a string, and where a pattern makes every token walked
  const vocab = largeVocab();
  const heap0 = heapMiB();
  const t0 = performance.now();
  const large = buildTrie(vocab);
  const built = performance.now() - t0;
  const heap1 = heapMiB();
  console.log(`150k vocabulary tries: built in ${built.toFixed(0)} ms, ${heap1 === null ? 'heap not measured (run with --expose-gc)' : `${(heap1 - heap0!).toFixed(1)} MiB of heap (after a full GC)`}`);
  for (const [name, make] of [...recognizers, ['JSON schema, answer with a pattern', () => jsonRecognizer(PATTERN_SCHEMA) as Recognizer<unknown>] as const]) {
    allowedCost(large, `${name}, 150k vocabulary`, make());
  }
  successiveCost(large, 'schema string, pattern ^[A-Za-z ]*$ and maxLength 24, 150k vocabulary', jsonRecognizer(PATTERN_SCHEMA) as Recognizer<unknown>, '{"answer": "', 'hello world');
  const counted = '^[A-Za-z ]{1,40}$';
  const nfa = compileRegex(counted);
  const onNfa: Recognizer<unknown> = { ...regexRecognizer(counted), plainWalk: undefined, step: (s, ch) => regexStep(nfa, s as Int32Array, ch) } as Recognizer<unknown>;
  successiveCost(large, `guided_regex ${counted}, 150k vocabulary`, regexRecognizer(counted) as Recognizer<unknown>, '', 'hello world', onNfa);

  // decoding: the same token count both ways (the constrained text first, then that many unconstrained tokens, EOS ignored)
  const prompt = lm.tokenizer.encodePrompt('Q: What is the capital of France? A:');
  const decoders: [string, () => Recognizer<unknown>][] = [recognizers[0]!, ['the schema as GBNF', () => grammarRecognizer(SCHEMA_GBNF) as Recognizer<unknown>]];
  for (const [name, make] of decoders) {
    const constraint = constraintFor(lm.tokenizer, make());
    let minC = Infinity;
    let minP = Infinity;
    let tokens = 0;
    for (let r = 0; r <= rounds; r++) {
      let t = performance.now();
      const c = await lm.generate(prompt, { maxTokens: 64, temperature: 0, constraint });
      const ms = (performance.now() - t) / c.ids.length;
      tokens = c.ids.length;
      t = performance.now();
      const p = await lm.generate(prompt, { maxTokens: tokens, temperature: 0, stopIds: [] });
      const mp = (performance.now() - t) / p.ids.length;
      if (r === 0) continue; // warm-up
      minC = Math.min(minC, ms);
      minP = Math.min(minP, mp);
    }
    console.log(`${name}, bundled decoding (${tokens} tokens, ${rounds} rounds, minima): constrained ${minC.toFixed(2)} ms/token, unconstrained ${minP.toFixed(2)} ms/token, ×${(minC / minP).toFixed(2)}`);
  }
}

void main();
