/**
 * Fact samples for measuring the bundled model: (prompt, object) token pairs from
 * datasets/facts.jsonl, phrased with a training template or a held-out one. Deterministic.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../src/util/rng.js';
import { expandFacts } from '../../src/data/corpus.js';
import type { Fact } from '../../src/data/sources.js';
import type { Relation } from '../../src/data/relations.js';
import type { FactItem } from '../../src/train/accuracy.js';

export interface Encoder {
  encode(text: string): number[];
}

export function loadFacts(root: string): { facts: Fact[]; relations: Relation[] } {
  const facts = readFileSync(path.join(root, 'datasets', 'facts.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Fact);
  const relations = JSON.parse(readFileSync(path.join(root, 'datasets', 'relations.json'), 'utf8')) as Relation[];
  return { facts, relations };
}

/** All (fact × template) prompts, training phrasings or held-out ones, as token items. */
export function allFactItems(root: string, tok: Encoder, heldOut: boolean): (FactItem & { text: string; objectText: string; relation: string })[] {
  const { facts, relations } = loadFacts(root);
  return expandFacts(facts, relations, heldOut).map((p) => ({
    prompt: tok.encode(p.prompt),
    object: tok.encode(' ' + p.object),
    text: p.prompt,
    objectText: p.object,
    relation: p.relation,
  }));
}

/** n facts chosen by `seed`, each with one phrasing chosen by the same seed. */
export function loadFactSample(root: string, tok: Encoder, n: number, seed: string, heldOut = false): FactItem[] {
  const { facts, relations } = loadFacts(root);
  const rng = new Rng(seed);
  const picked = rng.shuffle([...facts]).slice(0, n);
  const prompts = expandFacts(picked, relations, heldOut);
  const bySubject = new Map<string, typeof prompts>();
  for (const p of prompts) {
    const k = `${p.relation}\u0000${p.subject}`;
    bySubject.set(k, [...(bySubject.get(k) ?? []), p]);
  }
  return [...bySubject.values()].map((ps) => {
    const p = ps[rng.int(ps.length)]!;
    return { prompt: tok.encode(p.prompt), object: tok.encode(' ' + p.object) };
  });
}
