/**
 * `npm run bench:sample [-- --quick] [-- --rounds N]`
 *
 * The next-token draw (src/model/sampling.ts sampleToken) against the same draw sorting the whole
 * vocabulary first (bench/lib/sort-all-sample.ts, what sampleToken did before), in one run, for
 * the vocabularies of the bundled model (4096), GPT-2 (50257) and Qwen2 (151936), on logits shaped
 * like a language model's (Zipf over a seeded permutation of the ids: logit = −1.1·ln(rank) plus
 * noise) and on flat ones (a random model: uniform in ±2), under the settings clients send:
 * plain temperature, top-p 0.95, top-k 40, min-p 0.05. Cases run interleaved in seeded random
 * order; the speed-up is the ratio of medians (and of minima) in the same run. With a truncation
 * the two draw the same token for the same seed (test/model/sampling.test.ts); with none the
 * current draw walks the ids in order (same distribution, different token for a seed).
 */
import { sampleToken, type SamplingOptions } from '../src/model/sampling.js';
import { Rng } from '../src/util/rng.js';
import { sortAllSample } from './lib/sort-all-sample.js';
import { fmtMs, measureInterleaved, table, type BenchCase } from './lib/timing.js';
import { describeMachine } from './lib/machine.js';
import { flag, opt } from './lib/args.js';

const QUICK = flag('quick');
const ROUNDS = Number(opt('rounds') ?? (QUICK ? 2 : 9));
const VOCABS = QUICK ? [4096] : [4096, 50257, 151936];
const SETTINGS: [string, SamplingOptions][] = [
  ['T 1', { temperature: 1, topP: 1 }],
  ['T 0.8, top-p 0.95', { temperature: 0.8, topP: 0.95 }],
  ['T 0.8, top-k 40', { temperature: 0.8, topP: 1, topK: 40 }],
  ['T 1, min-p 0.05', { temperature: 1, topP: 1, minP: 0.05 }],
];

function lmLogits(V: number, rng: Rng): Float32Array {
  const ids = Array.from({ length: V }, (_, i) => i);
  for (let i = V - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const row = new Float32Array(V);
  ids.forEach((id, rank) => (row[id] = -1.1 * Math.log(rank + 1) + (rng.next() - 0.5)));
  return row;
}
const flatLogits = (V: number, rng: Rng): Float32Array => Float32Array.from({ length: V }, () => (rng.next() - 0.5) * 4);

async function main(): Promise<void> {
  console.log(`bench:sample  ${describeMachine()}  rounds ${ROUNDS}`);
  const rng = new Rng(3);
  const rows: [string, Float32Array][] = VOCABS.flatMap((V) => [[`V ${V} LM-shaped`, lmLogits(V, rng)] as [string, Float32Array], [`V ${V} flat`, flatLogits(V, rng)] as [string, Float32Array]]);
  const cases: BenchCase[] = [];
  for (const [rn, row] of rows) {
    for (const [sn, o] of SETTINGS) {
      const r1 = new Rng(1);
      const r2 = new Rng(1);
      cases.push({ name: `${rn} | ${sn} | now`, run: () => sampleToken(row, o, r1) });
      cases.push({ name: `${rn} | ${sn} | sort all`, run: () => sortAllSample(row, o, r2) });
    }
  }
  const t = await measureInterleaved(cases, { rounds: ROUNDS, minSampleMs: 20 });
  const out: string[][] = [];
  for (const [rn] of rows) {
    for (const [sn] of SETTINGS) {
      const a = t.get(`${rn} | ${sn} | now`)!;
      const b = t.get(`${rn} | ${sn} | sort all`)!;
      out.push([rn, sn, fmtMs(b.median), fmtMs(a.median), (b.median / a.median).toFixed(1), (b.min / a.min).toFixed(1)]);
    }
  }
  console.log(table(['logits', 'setting', 'sort all ms', 'now ms', 'speed-up (medians)', '(minima)'], out));
}

await main();
