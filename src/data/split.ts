/**
 * Splits of the fact set and the benchmark records built from them.
 *
 * Subjects (not facts) are split, per subject kind, by a seeded shuffle into three pools:
 * - `benchmark` (40 %): facts to edit; the benchmark draws only from here;
 * - `train` (35 %): the train split (the irrelevant samples of WISE's margin loss);
 * - `locality` (25 %): locality / neighborhood probes of the benchmark.
 * No subject is in two pools, so no benchmark subject appears in the train split or in a
 * locality probe, and the irrelevant samples never coincide with the benchmark's locality
 * prompts. Every fact of every pool is in the pretraining corpus (with training templates).
 */
import { Rng } from '../util/rng.js';
import { WiseError } from '../util/errors.js';
import { heldOutTemplates, trainTemplates, type Relation } from './relations.js';
import type { Fact } from './sources.js';
import { pickTemplate, relationIndex } from './corpus.js';
import { fillTemplate } from './text.js';

export type Pool = 'benchmark' | 'train' | 'locality';
export const POOLS: readonly Pool[] = ['benchmark', 'train', 'locality'];

export interface PooledFact extends Fact {
  pool: Pool;
}

export const POOL_FRACTIONS = { benchmark: 0.4, train: 0.35 } as const;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Assigns each fact the pool of its subject (subjects split per kind by a seeded shuffle). */
export function assignPools(facts: readonly Fact[], relations: readonly Relation[], seed: string): PooledFact[] {
  const rels = relationIndex(relations);
  const kindSubjects = new Map<string, Set<string>>();
  for (const f of facts) {
    const r = rels.get(f.relation);
    if (!r) throw new WiseError('WISE_DATASET', `fact of unknown relation ${f.relation}`, { fact: f });
    let s = kindSubjects.get(r.subjectKind);
    if (!s) kindSubjects.set(r.subjectKind, (s = new Set()));
    s.add(f.subject);
  }
  const poolOf = new Map<string, Pool>();
  for (const kind of [...kindSubjects.keys()].sort(cmp)) {
    const subjects = [...(kindSubjects.get(kind) as Set<string>)].sort(cmp);
    new Rng(`${seed}:pools:${kind}`).shuffle(subjects);
    const nb = Math.round(subjects.length * POOL_FRACTIONS.benchmark);
    const nt = Math.round(subjects.length * POOL_FRACTIONS.train);
    subjects.forEach((s, i) => {
      if (poolOf.has(s)) throw new WiseError('WISE_DATASET', `subject ${s} has two subject kinds`, { subject: s });
      poolOf.set(s, i < nb ? 'benchmark' : i < nb + nt ? 'train' : 'locality');
    });
  }
  return facts.map((f) => ({ ...f, pool: poolOf.get(f.subject) as Pool }));
}

/** ZsRE (MEND / EasyEdit) record; field names and types as in zsre_mend_eval.json. */
export interface ZsreRecord {
  subject: string;
  src: string;
  pred: string;
  rephrase: string;
  alt: string;
  answers: string[];
  loc: string;
  loc_ans: string;
  cond: string;
}

/**
 * CounterFact record: the ROME fields (`case_id`, `requested_rewrite`, `paraphrase_prompts`,
 * `neighborhood_prompts`) plus `neighborhood_answers` (the true object of each neighborhood
 * prompt), plus EasyEdit's flat fields (`prompt`, `subject`, `target_new`, `ground_truth`,
 * `rephrase_prompt`, `locality_prompt`, `locality_ground_truth`), so loaders of either format read it.
 */
export interface CounterfactRecord {
  case_id: number;
  requested_rewrite: {
    prompt: string;
    subject: string;
    relation_id: string;
    target_new: { str: string };
    target_true: { str: string };
  };
  paraphrase_prompts: string[];
  neighborhood_prompts: string[];
  neighborhood_answers: string[];
  prompt: string;
  subject: string;
  target_new: string;
  ground_truth: string;
  rephrase_prompt: string;
  locality_prompt: string;
  locality_ground_truth: string;
}

/** Picks up to `n` facts round-robin over relations (relation order as given), each relation's candidates seeded-shuffled. */
export function roundRobin(
  facts: readonly PooledFact[],
  relations: readonly Relation[],
  pool: Pool,
  n: number,
  seed: string,
): PooledFact[] {
  const queues = relations.map((r) =>
    new Rng(`${seed}:${r.id}`).shuffle(facts.filter((f) => f.relation === r.id && f.pool === pool)),
  );
  const out: PooledFact[] = [];
  let progressed = true;
  for (let round = 0; out.length < n && progressed; round++) {
    progressed = false;
    for (const q of queues) {
      if (out.length >= n) break;
      const f = q[round];
      if (f) {
        out.push(f);
        progressed = true;
      }
    }
  }
  return out;
}

function objectsByRelation(facts: readonly Fact[]): Map<string, string[]> {
  const m = new Map<string, Set<string>>();
  for (const f of facts) {
    let s = m.get(f.relation);
    if (!s) m.set(f.relation, (s = new Set()));
    s.add(f.object);
  }
  return new Map([...m].map(([k, v]) => [k, [...v].sort(cmp)]));
}

/** A counterfactual object: uniform over the relation's other objects. */
function pickAlt(objects: readonly string[], truth: string, rng: Rng): string {
  const others = objects.filter((o) => o !== truth);
  const alt = others[rng.int(others.length)];
  if (alt === undefined) throw new WiseError('WISE_DATASET', `relation has no other object than ${truth}`, { truth });
  return alt;
}

function pick<T>(xs: readonly T[], rng: Rng): T {
  const x = xs[rng.int(xs.length)];
  if (x === undefined) throw new WiseError('WISE_DATASET', 'nothing to pick from', {});
  return x;
}

export interface EditSet {
  facts: PooledFact[];
  zsre: ZsreRecord[];
}

export interface Benchmark extends EditSet {
  counterfact: CounterfactRecord[];
}

interface RecordParts {
  fact: PooledFact;
  srcTemplate: string;
  src: string;
  rephrase: string;
  paraphrases: string[];
  alt: string;
  loc: PooledFact;
  locPrompt: string;
}

function buildParts(
  chosen: readonly PooledFact[],
  allFacts: readonly PooledFact[],
  relations: readonly Relation[],
  locPool: readonly PooledFact[],
  rng: Rng,
): RecordParts[] {
  const rels = relationIndex(relations);
  const objects = objectsByRelation(allFacts);
  return chosen.map((fact) => {
    const r = rels.get(fact.relation) as Relation;
    const srcT = pickTemplate(trainTemplates(r), rng);
    const held = heldOutTemplates(r);
    const rephraseT = pickTemplate(held, rng);
    const alt = pickAlt(objects.get(fact.relation) ?? [], fact.object, rng);
    let loc = pick(locPool, rng);
    for (let tries = 0; loc.subject === fact.subject && tries < 100; tries++) loc = pick(locPool, rng);
    if (loc.subject === fact.subject) throw new WiseError('WISE_DATASET', 'no locality fact about another subject', {});
    const locT = pickTemplate(trainTemplates(rels.get(loc.relation) as Relation), rng);
    return {
      fact,
      srcTemplate: srcT.text,
      src: fillTemplate(srcT.text, fact.subject),
      rephrase: fillTemplate(rephraseT.text, fact.subject),
      paraphrases: held.map((t) => fillTemplate(t.text, fact.subject)),
      alt,
      loc,
      locPrompt: fillTemplate(locT.text, loc.subject),
    };
  });
}

function toZsre(p: RecordParts): ZsreRecord {
  return {
    subject: p.fact.subject,
    src: p.src,
    pred: p.fact.object,
    rephrase: p.rephrase,
    alt: p.alt,
    answers: [p.fact.object],
    loc: p.locPrompt,
    loc_ans: p.loc.object,
    cond: `${p.fact.object} >> ${p.alt} || ${p.src}`,
  };
}

export const NEIGHBORS_PER_CASE = 5;

/**
 * The editing benchmark: `n` facts of the benchmark pool, round-robin over relations, then
 * shuffled. `src` uses a training template, `rephrase` a held-out one, `alt` another object of
 * the same relation, `loc` a locality-pool fact (training template). CounterFact neighborhood
 * prompts are locality-pool facts of the same relation, with the same true object where any
 * exists (ROME's definition), otherwise with their own objects (see `neighborhood_answers`).
 */
export function buildBenchmark(facts: readonly PooledFact[], relations: readonly Relation[], seed: string, n: number): Benchmark {
  const chosen = new Rng(`${seed}:bench:order`).shuffle(roundRobin(facts, relations, 'benchmark', n, `${seed}:bench`));
  const locPool = facts.filter((f) => f.pool === 'locality');
  const rng = new Rng(`${seed}:bench:records`);
  const parts = buildParts(chosen, facts, relations, locPool, rng);
  const rels = relationIndex(relations);
  const nrng = new Rng(`${seed}:bench:neighbors`);
  const counterfact = parts.map((p, i): CounterfactRecord => {
    const sameRel = locPool.filter((f) => f.relation === p.fact.relation && f.subject !== p.fact.subject);
    const sameObj = sameRel.filter((f) => f.object === p.fact.object);
    const neighbors = nrng.shuffle((sameObj.length > 0 ? sameObj : sameRel).slice()).slice(0, NEIGHBORS_PER_CASE);
    if (neighbors.length === 0) {
      throw new WiseError('WISE_DATASET', `no neighborhood facts for relation ${p.fact.relation}`, { relation: p.fact.relation });
    }
    const r = rels.get(p.fact.relation) as Relation;
    const nPrompts = neighbors.map((f) => fillTemplate(pickTemplate(trainTemplates(r), nrng).text, f.subject));
    const nAnswers = neighbors.map((f) => f.object);
    return {
      case_id: i,
      requested_rewrite: {
        prompt: p.srcTemplate,
        subject: p.fact.subject,
        relation_id: p.fact.relation,
        target_new: { str: p.alt },
        target_true: { str: p.fact.object },
      },
      paraphrase_prompts: p.paraphrases,
      neighborhood_prompts: nPrompts,
      neighborhood_answers: nAnswers,
      prompt: p.src,
      subject: p.fact.subject,
      target_new: p.alt,
      ground_truth: p.fact.object,
      rephrase_prompt: p.rephrase,
      locality_prompt: nPrompts[0] as string,
      locality_ground_truth: nAnswers[0] as string,
    };
  });
  return { facts: chosen, zsre: parts.map(toZsre), counterfact };
}

/**
 * The train split (ZsRE format): `n` facts of the train pool, round-robin over relations, then
 * shuffled; `loc` / `loc_ans` are other train-pool facts, so `loc + " " + loc_ans` (WISE's
 * irrelevant sample) never touches a benchmark subject or a benchmark locality prompt.
 */
export function buildTrainSplit(facts: readonly PooledFact[], relations: readonly Relation[], seed: string, n: number): EditSet {
  const chosen = new Rng(`${seed}:train:order`).shuffle(roundRobin(facts, relations, 'train', n, `${seed}:train`));
  const locPool = facts.filter((f) => f.pool === 'train');
  const parts = buildParts(chosen, facts, relations, locPool, new Rng(`${seed}:train:records`));
  return { facts: chosen, zsre: parts.map(toZsre) };
}
