/**
 * Builds every generated dataset file (and the base model's tokenizer) in memory, so that the
 * generator script writes them and the reproducibility test compares their hashes with the
 * committed files. Output is a pure function of the source packages' data and the seed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BpeTokenizer, bpeToTokenizerJson, trainBpe } from './bpe.js';
import { buildCorpusLines } from './corpus.js';
import { loadRawSources, SOURCE_PACKAGES } from './raw.js';
import { buildRelations, type Relation } from './relations.js';
import { extractFacts, type Fact } from './sources.js';
import { assignPools, buildBenchmark, buildTrainSplit, POOLS, type Benchmark, type EditSet, type PooledFact } from './split.js';
import { renderReadme } from './readme.js';

export const DEFAULT_SEED = 'wise-edit-datasets-v1';
export const SPECIAL_TOKENS = ['<|endoftext|>', '<|pad|>'] as const;

export interface GenerateOptions {
  /** repository root (where node_modules is resolved from) */
  rootDir: string;
  seed?: string;
  benchmarkSize?: number;
  trainSize?: number;
  vocabSize?: number;
  /**
   * Facts whose object (with its leading space) needs more tokens than this, under a tokenizer
   * trained on the unfiltered corpus, are dropped before the final tokenizer is trained (default 6).
   */
  maxObjectTokens?: number;
  /** model_max_length written to tokenizer_config.json */
  modelMaxLength?: number;
}

export interface GeneratedFile {
  /** path relative to the repository root, with forward slashes */
  path: string;
  content: string;
}

export interface RelationStats {
  id: string;
  source: string;
  facts: number;
  distinctObjects: number;
  pools: Record<string, number>;
  benchmark: number;
  trainSplit: number;
  objectTokensMean: number;
  objectTokensMax: number;
}

export interface GenerateStats {
  seed: string;
  facts: number;
  relations: RelationStats[];
  dropped: Record<string, Record<string, number>>;
  corpusLines: number;
  corpusBytes: number;
  corpusTokens: number;
  /** the first corpus lines, for the README */
  corpusHead: string[];
  vocabSize: number;
  merges: number;
  benchmark: number;
  trainSplit: number;
  versions: Record<string, string>;
}

export interface GenerateResult {
  files: GeneratedFile[];
  stats: GenerateStats;
  relations: Relation[];
  facts: PooledFact[];
  benchmark: Benchmark;
  train: EditSet;
  corpus: string[];
}

export const DATASET_FILES = {
  relations: 'datasets/relations.json',
  facts: 'datasets/facts.jsonl',
  corpus: 'datasets/corpus.txt',
  zsre: 'datasets/bundled-zsre.json',
  counterfact: 'datasets/bundled-counterfact.json',
  train: 'datasets/bundled-train.json',
  readme: 'datasets/README.md',
  manifest: 'datasets/manifest.json',
  tokenizer: 'models/wise-base/tokenizer.json',
  tokenizerConfig: 'models/wise-base/tokenizer_config.json',
} as const;

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

function json(x: unknown): string {
  return JSON.stringify(x, null, 2) + '\n';
}

export function generateAll(opts: GenerateOptions): GenerateResult {
  const seed = opts.seed ?? DEFAULT_SEED;
  const benchmarkSize = opts.benchmarkSize ?? 1000;
  const trainSize = opts.trainSize ?? 1000;
  const vocabSize = opts.vocabSize ?? 4096;
  const { raw, versions } = loadRawSources(opts.rootDir);
  const relations = buildRelations(seed);
  const extracted = extractFacts(raw);
  // facts in relation order (then source order) so the table reads by relation
  const relOrder = new Map(relations.map((r, i) => [r.id, i]));
  const sorted: Fact[] = extracted.facts
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (relOrder.get(a.f.relation) ?? 0) - (relOrder.get(b.f.relation) ?? 0) || a.i - b.i)
    .map((x) => x.f);
  // Pass 1: a tokenizer on the unfiltered corpus decides which objects are too long.
  const maxObjectTokens = opts.maxObjectTokens ?? 6;
  const firstTok = new BpeTokenizer(
    trainBpe(buildCorpusLines(sorted, relations, seed), { vocabSize, specialTokens: [...SPECIAL_TOKENS] }),
  );
  const kept = sorted.filter((f) => {
    if (firstTok.encode(' ' + f.object).length <= maxObjectTokens) return true;
    const d = (extracted.dropped[f.relation] ??= {});
    const reason = `object over ${maxObjectTokens} tokens`;
    d[reason] = (d[reason] ?? 0) + 1;
    return false;
  });
  const facts = assignPools(kept, relations, seed);
  const benchmark = buildBenchmark(facts, relations, seed, benchmarkSize);
  const train = buildTrainSplit(facts, relations, seed, trainSize);
  const corpus = buildCorpusLines(facts, relations, seed);
  const corpusText = corpus.join('\n') + '\n';

  const bpe = trainBpe(corpus, { vocabSize, specialTokens: [...SPECIAL_TOKENS] });
  const tok = new BpeTokenizer(bpe);
  const tokenizerJson = json(bpeToTokenizerJson(bpe));
  const tokenizerConfig = json({
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: opts.modelMaxLength ?? 256,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
    bos_token: SPECIAL_TOKENS[0],
    eos_token: SPECIAL_TOKENS[0],
    unk_token: SPECIAL_TOKENS[0],
    pad_token: SPECIAL_TOKENS[1],
  });

  let corpusTokens = 0;
  for (const line of corpus) corpusTokens += tok.encode(line).length;

  const relStats: RelationStats[] = relations.map((r) => {
    const fs = facts.filter((f) => f.relation === r.id);
    const pools: Record<string, number> = {};
    for (const p of POOLS) pools[p] = fs.filter((f) => f.pool === p).length;
    const lens = fs.map((f) => tok.encode(' ' + f.object).length);
    return {
      id: r.id,
      source: r.source,
      facts: fs.length,
      distinctObjects: new Set(fs.map((f) => f.object)).size,
      pools,
      benchmark: benchmark.facts.filter((f) => f.relation === r.id).length,
      trainSplit: train.facts.filter((f) => f.relation === r.id).length,
      objectTokensMean: lens.length ? lens.reduce((a, b) => a + b, 0) / lens.length : 0,
      objectTokensMax: lens.length ? Math.max(...lens) : 0,
    };
  });
  const stats: GenerateStats = {
    seed,
    facts: facts.length,
    relations: relStats,
    dropped: extracted.dropped,
    corpusLines: corpus.length,
    corpusBytes: Buffer.byteLength(corpusText, 'utf8'),
    corpusTokens,
    corpusHead: corpus.slice(0, 5),
    vocabSize: tok.vocabSize,
    merges: bpe.merges.length,
    benchmark: benchmark.zsre.length,
    trainSplit: train.zsre.length,
    versions,
  };

  const files: GeneratedFile[] = [
    { path: DATASET_FILES.relations, content: json(relations) },
    { path: DATASET_FILES.facts, content: facts.map((f) => JSON.stringify(f)).join('\n') + '\n' },
    { path: DATASET_FILES.corpus, content: corpusText },
    { path: DATASET_FILES.zsre, content: json(benchmark.zsre) },
    { path: DATASET_FILES.counterfact, content: json(benchmark.counterfact) },
    { path: DATASET_FILES.train, content: json(train.zsre) },
    { path: DATASET_FILES.tokenizer, content: tokenizerJson },
    { path: DATASET_FILES.tokenizerConfig, content: tokenizerConfig },
  ];
  files.push({ path: DATASET_FILES.readme, content: renderReadme(stats, relations, SPECIAL_TOKENS) });
  const manifest = {
    generator: 'scripts/generate-datasets.ts (src/data/generate.ts)',
    seed,
    sources: Object.fromEntries(Object.keys(SOURCE_PACKAGES).map((p) => [p, versions[p]])),
    counts: {
      facts: stats.facts,
      relations: relations.length,
      corpusLines: stats.corpusLines,
      corpusTokens: stats.corpusTokens,
      benchmark: stats.benchmark,
      trainSplit: stats.trainSplit,
      vocabSize: stats.vocabSize,
    },
    sha256: Object.fromEntries(files.map((f) => [f.path, sha256(f.content)])),
  };
  files.push({ path: DATASET_FILES.manifest, content: json(manifest) });
  return { files, stats, relations, facts, benchmark, train, corpus };
}

/** Writes generated files under `outDir` (creating folders). */
export function writeGenerated(files: readonly GeneratedFile[], outDir: string): void {
  for (const f of files) {
    const p = join(outDir, ...f.path.split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, 'utf8');
  }
}
