/**
 * Structured output's cost (docs/serve.md "Structured output"), as ratios within one run:
 *  1. `TokenConstraint.allowed()` at five points of a JSON text, on the bundled model's vocabulary
 *     and on a synthetic larger one (the bundled corpus's words and word pieces, with and without a
 *     leading space), with the plain-token list against a walk of the whole trie;
 *  2. the bundled model's decoding: ms per token under a schema against unconstrained (EOS ignored,
 *     the same number of tokens), interleaved rounds, ratio of the minima.
 *
 *   npm run bench:constrain [-- --rounds N]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CausalLM } from '../src/model/causal-lm.js';
import { bundledModelDir } from '../src/config/paths.js';
import { compileSchema } from '../src/model/constrain/json-schema.js';
import { jsonRecognizer } from '../src/model/constrain/json-machine.js';
import { buildTrie, constraintFor, TokenConstraint, vocabTrie, type VocabTrie } from '../src/model/constrain/token-constraint.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 9) || 9;
const REPO = path.join(import.meta.dirname, '..');

const SCHEMA = compileSchema({
  type: 'object',
  properties: { answer: { type: 'string', maxLength: 24 }, n: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
  required: ['answer', 'n'],
  additionalProperties: false,
});
const POINTS: [string, string][] = [['start', ''], ['key', '{"'], ['in string', 'answer": "hello'], ['after string', '"'], ['in number', ', "n": 12']];

/** min ms of `allowed()` at each point, feeding the text between points character by character (single-character tokens). */
function allowedCost(trie: VocabTrie, label: string): void {
  const whole: VocabTrie = { ...trie, plainIds: new Int32Array(0), plainLens: new Int32Array(0), special: trie.root };
  const idOf = new Map(trie.texts.map((t, id) => [t, id]));
  const cs = [new TokenConstraint(trie, jsonRecognizer(SCHEMA)), new TokenConstraint(whole, jsonRecognizer(SCHEMA))];
  const rows: string[] = [];
  for (const [name, text] of POINTS) {
    for (const ch of text) {
      const id = idOf.get(ch);
      if (id === undefined) throw new Error(`no single-character token ${JSON.stringify(ch)}`);
      for (const c of cs) c.advance(id);
    }
    const ms = cs.map((c) => {
      let best = Infinity;
      let n = 0;
      for (let r = 0; r < rounds; r++) {
        const t = performance.now();
        n = c.allowed().length;
        best = Math.min(best, performance.now() - t);
      }
      return { best, n };
    });
    if (ms[0]!.n !== ms[1]!.n) throw new Error(`${name}: ${ms[0]!.n} allowed with the list, ${ms[1]!.n} walking`);
    rows.push(`  ${name.padEnd(13)} allowed ${String(ms[0]!.n).padStart(6)}   list ${ms[0]!.best.toFixed(2).padStart(7)} ms   whole trie ${ms[1]!.best.toFixed(2).padStart(7)} ms   ×${(ms[1]!.best / ms[0]!.best).toFixed(1)}`);
  }
  console.log(`${label}: ${trie.texts.length} tokens`);
  for (const r of rows) console.log(r);
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

async function main(): Promise<void> {
  const lm = await CausalLM.load(bundledModelDir());
  allowedCost(vocabTrie(lm.tokenizer), 'bundled vocabulary');
  allowedCost(buildTrie(syntheticVocab()), 'synthetic vocabulary');

  // decoding: the same token count both ways (the constrained text first, then that many unconstrained tokens, EOS ignored)
  const prompt = lm.tokenizer.encodePrompt('Q: What is the capital of France? A:');
  const constraint = constraintFor(lm.tokenizer, jsonRecognizer(SCHEMA));
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
  console.log(`bundled decoding (${tokens} tokens, ${rounds} rounds, minima): constrained ${minC.toFixed(2)} ms/token, unconstrained ${minP.toFixed(2)} ms/token, ×${(minC / minP).toFixed(2)}`);
}

void main();
