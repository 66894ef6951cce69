/**
 * Expansion of the fact table into text: every fact × every training template is one corpus
 * line (`prompt + " " + object + "."`), in a seeded-shuffle order. The held-out templates
 * expand the same way into an evaluation set of unseen wordings.
 */
import { Rng } from '../util/rng.js';
import { WiseError } from '../util/errors.js';
import type { Relation, Template } from './relations.js';
import type { Fact } from './sources.js';
import { factSentence, fillTemplate } from './text.js';

export interface FactPrompt {
  relation: string;
  subject: string;
  object: string;
  template: string;
  /** the filled template (ends right before the object) */
  prompt: string;
}

export function relationIndex(relations: readonly Relation[]): Map<string, Relation> {
  return new Map(relations.map((r) => [r.id, r]));
}

/** Every (fact, template) pair, with `heldOut` choosing the training or the held-out templates. */
export function expandFacts(facts: readonly Fact[], relations: readonly Relation[], heldOut: boolean): FactPrompt[] {
  const rels = relationIndex(relations);
  const out: FactPrompt[] = [];
  for (const f of facts) {
    const r = rels.get(f.relation);
    if (!r) throw new WiseError('WISE_DATASET', `fact of unknown relation ${f.relation}`, { fact: f });
    for (const t of r.templates) {
      if (t.heldOut !== heldOut) continue;
      out.push({ relation: f.relation, subject: f.subject, object: f.object, template: t.text, prompt: fillTemplate(t.text, f.subject) });
    }
  }
  return out;
}

/**
 * The pretraining corpus: every fact × every training template, one sentence per line, in the
 * order of `new Rng(`${seed}:corpus`).shuffle`. Deterministic for the same facts and seed.
 */
export function buildCorpusLines(facts: readonly Fact[], relations: readonly Relation[], seed: string): string[] {
  const lines = expandFacts(facts, relations, false).map((p) => factSentence(p.prompt, p.object));
  return new Rng(`${seed}:corpus`).shuffle(lines);
}

/** Picks one template of `templates` with `rng`. */
export function pickTemplate(templates: readonly Template[], rng: Rng): Template {
  const t = templates[rng.int(templates.length)];
  if (!t) throw new WiseError('WISE_DATASET', 'no template to pick from', {});
  return t;
}
