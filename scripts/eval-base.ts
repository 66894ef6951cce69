/**
 * npm run eval:base — measures the bundled model models/wise-base and writes its model card.
 *
 * Loads the committed files as any user would (CausalLM.load: config.json, model.safetensors,
 * tokenizer.json) and measures, under teacher forcing (src/train/accuracy.ts):
 *   - accuracy on every fact × every training phrasing, and per relation;
 *   - accuracy on every fact × every held-out phrasing (templates never in the corpus);
 *   - the CI sample (200 facts, one training phrasing each; test/train/base-model.test.ts);
 * and 100 greedy continuations of benchmark prompts (the first 100 `src` of
 * datasets/bundled-zsre.json), counting those that complete a sentence of the templates.
 * Writes models/wise-base/{README.md, eval.json, loss-curve.svg}.
 *
 * Flags: --limit N (only the first N facts' prompts, for a quick look), --out DIR (write the
 * card files elsewhere), --batch N (rows per forward pass, default 128), --card-only (measure
 * nothing: re-render README.md and loss-curve.svg from eval.json and train-log.json, e.g.
 * after adding a row to ATTEMPTS in scripts/lib/card.ts).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/index.js';
import { CausalLM } from '../src/model/causal-lm.js';
import { BpeTokenizer, bpeFromTokenizerJson } from '../src/data/bpe.js';
import { factAccuracy, type FactItem } from '../src/train/accuracy.js';
import { epochBatches } from '../src/train/pack.js';
import { Rng } from '../src/util/rng.js';
import { allFactItems, loadFactSample, loadFacts } from './lib/facts.js';
import { renderTrainingSvg } from './lib/svg-curve.js';
import { ATTEMPTS, renderCard, type AccuracyCount, type Continuation, type DataStats, type EvalResult, type RelationRow, type TrainLog } from './lib/card.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'wise-base';
const MODEL_DIR = path.join(ROOT, 'models', NAME);
const CURVE = 'loss-curve.svg';
const MAX_NEW_TOKENS = 12;

const log = (s: string): void => void process.stderr.write(s);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const countOf = (bits: readonly boolean[]): AccuracyCount => {
  const correct = bits.filter(Boolean).length;
  return { correct, total: bits.length, accuracy: correct / Math.max(1, bits.length) };
};

/**
 * factAccuracy over many items: sorted by length so each batch pads little, run in chunks
 * (with progress), results returned in the items' order.
 */
async function measure(lm: CausalLM, items: readonly FactItem[], batch: number, label: string): Promise<boolean[]> {
  const graph = lm.graph('eval:forward', { batch: 'B', seq: 'T', logits: 'all', name: 'forward' });
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.prompt.length + items[a]!.object.length - (items[b]!.prompt.length + items[b]!.object.length));
  const out = new Array<boolean>(items.length);
  const chunk = batch * 16;
  const t0 = performance.now();
  for (let s = 0; s < order.length; s += chunk) {
    const idx = order.slice(s, s + chunk);
    const r = await factAccuracy(lm.engine, graph, lm.spec, lm.config, idx.map((i) => items[i]!), batch, lm.padId);
    idx.forEach((i, k) => (out[i] = r.correct[k]!));
    const done = Math.min(order.length, s + chunk);
    log(`\r  ${label}: ${done}/${order.length} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  log('\n');
  return out;
}

interface Matcher {
  relation: string;
  re: RegExp;
}

function templateMatchers(relations: readonly { id: string; templates: { text: string }[] }[]): Matcher[] {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return relations.flatMap((r) => r.templates.map((t) => ({ relation: r.id, re: new RegExp('^' + t.text.split('{}').map(escape).join('(.+)') + '$') })));
}

/** The relation of a prompt: a template that matches it, preferring one whose captured subject is a subject of that relation. */
function relationOf(prompt: string, matchers: readonly Matcher[], subjects: Map<string, Set<string>>): string | null {
  const hits = matchers.map((m) => ({ m, g: m.re.exec(prompt) })).filter((h) => h.g !== null);
  const known = hits.find((h) => subjects.get(h.m.relation)?.has(h.g![1]!));
  return (known ?? hits[0])?.m.relation ?? null;
}

/** The object a continuation names when it is ` <object>.` (then the end, or whitespace), for some object of the relation; else null. */
function wellFormedObject(continuation: string, objects: Iterable<string>): string | null {
  let best: string | null = null;
  for (const o of objects) {
    const sentence = ` ${o}${o.endsWith('.') ? '' : '.'}`;
    if (!continuation.startsWith(sentence)) continue;
    const rest = continuation.slice(sentence.length);
    if (rest !== '' && !/^\s/.test(rest)) continue;
    if (best === null || o.length > best.length) best = o;
  }
  return best;
}

/** Replays the run's packing to count the tokens it trained on. */
function replayData(lines: number[][], tl: TrainLog): { trainedTokens: number; epochs: number; batchesPerEpoch: number } {
  const r = tl.recipe;
  let trained = 0, step = 0, epoch = 0, epochs = 0, first = 0;
  while (step < tl.steps) {
    const batches = epochBatches(lines, r.batch, r.seq, 0, 1, new Rng(`${r.seed}:epoch:${epoch}`));
    if (epoch === 0) first = batches.length;
    const take = Math.min(batches.length, tl.steps - step);
    for (let i = 0; i < take; i++) for (const row of batches[i]!) trained += row.labels.filter((l) => l !== -100).length;
    epochs += take / batches.length;
    step += take;
    epoch++;
  }
  return { trainedTokens: trained, epochs, batchesPerEpoch: first };
}

async function writeCard(outDir: string, tl: TrainLog, ev: EvalResult, data: DataStats): Promise<void> {
  await fsp.mkdir(outDir, { recursive: true });
  const svg = renderTrainingSvg(tl.losses, tl.evals, { title: `${NAME}: training loss and fact accuracy`, final: { step: tl.steps, train: ev.train.accuracy, heldOut: ev.heldOut.accuracy } });
  await fsp.writeFile(path.join(outDir, CURVE), svg);
  await fsp.writeFile(path.join(outDir, 'README.md'), renderCard({ name: NAME, log: tl, ev, data, attempts: ATTEMPTS, curveFile: CURVE }));
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const outDir = path.resolve(arg('--out') ?? MODEL_DIR);
  const tl = JSON.parse(readFileSync(path.join(MODEL_DIR, 'train-log.json'), 'utf8')) as TrainLog;
  if (process.argv.includes('--card-only')) {
    const saved = JSON.parse(readFileSync(path.join(outDir, 'eval.json'), 'utf8')) as EvalResult & { data: DataStats };
    await writeCard(outDir, tl, saved, saved.data);
    log(`re-rendered ${path.relative(ROOT, outDir)}/{README.md, ${CURVE}} from eval.json\n`);
    return;
  }
  const limit = arg('--limit') ? Number(arg('--limit')) : Infinity;
  const batch = Number(arg('--batch') ?? 128);
  const engine = new Engine({ intraOpNumThreads: 2 });
  const lm = await CausalLM.load(MODEL_DIR, engine);
  const tok = new BpeTokenizer(bpeFromTokenizerJson(JSON.parse(readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8'))));
  const { facts, relations } = loadFacts(ROOT);
  let parameters = 0;
  for (const w of lm.ckpt.weights.values()) parameters += w.data.length;
  log(`${NAME}: ${parameters} parameters, ${facts.length} facts, ${relations.length} relations\n`);

  // (a), (b): all facts × training / held-out phrasings. allFactItems lists each fact's
  // phrasings together, in facts.jsonl order: --limit keeps the first N facts.
  const perFact = (held: boolean): number => relations[0]!.templates.filter((t) => t.heldOut === held).length;
  const trainItems = allFactItems(ROOT, tok, false).slice(0, limit * perFact(false));
  const heldItems = allFactItems(ROOT, tok, true).slice(0, limit * perFact(true));
  log(`  ${trainItems.length} training-phrasing prompts, ${heldItems.length} held-out prompts\n`);
  const trainOk = await measure(lm, trainItems, batch, 'training phrasings');
  const heldOk = await measure(lm, heldItems, batch, 'held-out phrasings');
  const ciSample = loadFactSample(ROOT, tok, 200, 'ci-sample');
  const ciOk = await measure(lm, ciSample, batch, 'CI sample');
  const perRelation: RelationRow[] = relations.map((r) => ({
    relation: r.id,
    train: countOf(trainItems.flatMap((it, i) => (it.relation === r.id ? [trainOk[i]!] : []))),
    heldOut: countOf(heldItems.flatMap((it, i) => (it.relation === r.id ? [heldOk[i]!] : []))),
  }));

  // (c): greedy continuations of benchmark prompts.
  const zsre = JSON.parse(readFileSync(path.join(ROOT, 'datasets', 'bundled-zsre.json'), 'utf8')) as { src: string; answers: string[]; pred: string }[];
  const matchers = templateMatchers(relations);
  const objects = new Map<string, Set<string>>();
  const subjects = new Map<string, Set<string>>();
  for (const f of facts) {
    if (!objects.has(f.relation)) objects.set(f.relation, new Set()), subjects.set(f.relation, new Set());
    objects.get(f.relation)!.add(f.object);
    subjects.get(f.relation)!.add(f.subject);
  }
  const items: Continuation[] = [];
  const tc = performance.now();
  for (const z of zsre.slice(0, 100)) {
    const relation = relationOf(z.src, matchers, subjects);
    const g = await lm.generate(tok.encode(z.src), { maxTokens: MAX_NEW_TOKENS });
    const continuation = lm.tokenizer.decode(g.ids);
    const object = relation ? wellFormedObject(continuation, objects.get(relation) ?? []) : null;
    items.push({ prompt: z.src, relation, continuation, wellFormed: object !== null, object, expected: z.answers[0] ?? z.pred });
    log(`\r  continuations: ${items.length}/100 (${((performance.now() - tc) / 1000).toFixed(0)} s)`);
  }
  log('\n');

  const ev: EvalResult = {
    model: `models/${NAME}`,
    measuredAt: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    parameters,
    train: countOf(trainOk),
    heldOut: countOf(heldOk),
    ciSample: countOf(ciOk),
    perRelation,
    continuations: {
      wellFormed: items.filter((i) => i.wellFormed).length,
      total: items.length,
      correct: items.filter((i) => i.object !== null && i.object === i.expected).length,
      maxTokens: MAX_NEW_TOKENS,
      items,
    },
  };

  // (d), (e): the data statistics (replaying the run's packing), eval.json, the picture and the card.
  const lines = readFileSync(path.join(ROOT, 'datasets', 'corpus.txt'), 'utf8').split('\n').filter((l) => l.length > 0).map((l) => tok.encode(l));
  const data: DataStats = {
    facts: facts.length,
    relations: relations.length,
    corpusLines: lines.length,
    trainTemplates: perFact(false),
    heldOutTemplates: perFact(true),
    ...replayData(lines, tl),
  };
  await fsp.mkdir(outDir, { recursive: true });
  await fsp.writeFile(path.join(outDir, 'eval.json'), JSON.stringify({ ...ev, data, limit: Number.isFinite(limit) ? limit : null }, null, 2) + '\n');
  await writeCard(outDir, tl, ev, data);
  log(
    `training phrasings ${ev.train.accuracy.toFixed(4)} (${ev.train.correct}/${ev.train.total}); held-out ${ev.heldOut.accuracy.toFixed(4)} (${ev.heldOut.correct}/${ev.heldOut.total}); ` +
      `CI sample ${ev.ciSample.accuracy.toFixed(3)}; well-formed continuations ${ev.continuations.wellFormed}/100 (answer ${ev.continuations.correct}/100); ${ev.seconds.toFixed(0)} s\n` +
      `wrote ${path.relative(ROOT, outDir)}/{README.md, eval.json, ${CURVE}}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
