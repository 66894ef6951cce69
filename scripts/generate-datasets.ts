/**
 * Regenerates datasets/* and models/wise-base/tokenizer*.json from the source packages.
 *
 *   npx tsx scripts/generate-datasets.ts            # write into the repository
 *   npx tsx scripts/generate-datasets.ts --out DIR  # write under DIR instead
 *   npx tsx scripts/generate-datasets.ts --check    # compare with the committed files; exit 1 on a difference
 *
 * Logs go to stderr; with --check the list of differing files goes to stdout.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAll, sha256, writeGenerated } from '../src/data/generate.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const outIdx = args.indexOf('--out');
const outDir = outIdx >= 0 ? resolve(args[outIdx + 1] ?? '.') : root;

const t0 = Date.now();
const { files, stats } = generateAll({ rootDir: root });
process.stderr.write(
  `generated ${files.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${stats.facts} facts, ` +
    `${stats.corpusLines} corpus lines, ${stats.corpusTokens} tokens, benchmark ${stats.benchmark}, train ${stats.trainSplit}, vocab ${stats.vocabSize}\n`,
);

if (check) {
  const bad: string[] = [];
  for (const f of files) {
    const p = join(root, ...f.path.split('/'));
    if (!existsSync(p) || sha256(readFileSync(p)) !== sha256(f.content)) bad.push(f.path);
  }
  if (bad.length) {
    process.stdout.write(bad.join('\n') + '\n');
    process.stderr.write(`${bad.length} file(s) differ from the generator's output; run npm run datasets:generate\n`);
    process.exit(1);
  }
  process.stderr.write('all generated files match\n');
} else {
  writeGenerated(files, outDir);
  for (const f of files) process.stderr.write(`  ${f.path} (${Buffer.byteLength(f.content)} bytes)\n`);
}
