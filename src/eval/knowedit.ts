/**
 * EasyEdit's KnowEdit benchmark files (examples/KnowEdit.md; KnowEditDataset) → EvalRecord. One shape covers
 * ZsRE-test-all, wiki_recent, wiki_counterfact and WikiBio:
 *
 *   prompt (WikiBio: text), target_new (WikiBio: labels), subject (WikiBio: concept), ground_truth?,
 *   rephrase_prompt?, portability?: {Reasoning, Subject_Aliasing, Logical_Generalization: [{prompt, ground_truth}]},
 *   locality?: {Relation_Specificity, Forgetfulness: [{prompt, ground_truth}]}
 *
 * A ground_truth is a string, or lists of aliases ([["Berlin", "Berlin, Germany"]]): the first alias is the answer,
 * as run_knowedit_llama2.py unwraps it (`while isinstance(an, list): an = an[0]`), and a question whose answer is
 * blank is left out, as it does. Every locality question is kept (EvalRecord.localities; `locality` is the first),
 * and every portability question, in the key order above, each with its type (PromptAnswer.key) so that the scores
 * come out per type as EasyEdit's summary prints them. Pure: no I/O.
 */
import type { EvalRecord, PromptAnswer } from './datasets.js';
import type { Fields } from './fields.js';

export const KNOWEDIT_PORTABILITY = ['Reasoning', 'Subject_Aliasing', 'Logical_Generalization'] as const;
export const KNOWEDIT_LOCALITY = ['Relation_Specificity', 'Forgetfulness'] as const;
/** A question's type as EasyEdit's KnowEditDataset names it (its metrics are `<type>_acc`): Reasoning → reasoning. */
const TYPE_NAME: Record<string, string> = { Reasoning: 'reasoning' };

/** A KnowEdit record: its locality or portability is an object of question lists, or it is a WikiBio passage. */
export function isKnowEdit(rec: Record<string, unknown>): boolean {
  const keyed = (v: unknown, keys: readonly string[]): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && keys.some((k) => k in v);
  return keyed(rec.locality, KNOWEDIT_LOCALITY) || keyed(rec.portability, KNOWEDIT_PORTABILITY) || ('concept' in rec && 'labels' in rec);
}

/** A ground_truth: the string, or the first alias of nested lists; undefined when absent, blank or not text. */
function firstAlias(v: unknown): string | undefined {
  let a = v;
  while (Array.isArray(a)) a = a[0];
  return typeof a === 'string' && a.trim() !== '' ? a : undefined;
}

/** The questions under `group` (portability or locality) for `keys`, in that order; blank answers left out. */
function questions(f: Fields, group: string, keys: readonly string[]): PromptAnswer[] {
  const g = f.get(group);
  if (g === undefined || g === null) return [];
  if (typeof g !== 'object' || Array.isArray(g)) f.fail(group, `must be an object of question lists (${keys.join(', ')})`);
  const out: PromptAnswer[] = [];
  for (const k of keys) {
    const list = f.get(`${group}.${k}`);
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) f.fail(`${group}.${k}`, 'must be an array of {prompt, ground_truth}');
    list.forEach((q, i) => {
      const at = `${group}.${k}[${i}]`;
      if (typeof q !== 'object' || q === null || Array.isArray(q)) f.fail(at, 'must be an object {prompt, ground_truth}');
      const prompt = (q as Record<string, unknown>).prompt;
      if (typeof prompt !== 'string' || prompt.trim() === '') f.fail(`${at}.prompt`, 'must be a non-empty string');
      const answer = firstAlias((q as Record<string, unknown>).ground_truth);
      if (answer !== undefined) out.push({ prompt, answer, key: TYPE_NAME[k] ?? k });
    });
  }
  return out;
}

/** One KnowEdit record → EvalRecord (id `knowedit:<index>`). */
export function knowEditRecord(f: Fields): EvalRecord {
  const wikibio = f.get('prompt') === undefined && f.get('text') !== undefined;
  const rec: EvalRecord = {
    id: `knowedit:${f.index}`,
    kind: 'knowedit',
    prompt: f.str(wikibio ? 'text' : 'prompt'),
    target: f.str(wikibio ? 'labels' : 'target_new'),
  };
  const subject = f.optStr(wikibio ? 'concept' : 'subject');
  if (subject !== undefined) rec.subject = subject;
  const truth = firstAlias(f.get('ground_truth'));
  if (truth !== undefined) rec.groundTruth = truth;
  const rephrase = f.optStr('rephrase_prompt');
  if (rephrase !== undefined) rec.rephrase = rephrase;
  const port = questions(f, 'portability', KNOWEDIT_PORTABILITY);
  if (port.length > 0) rec.portability = port;
  const loc = questions(f, 'locality', KNOWEDIT_LOCALITY);
  if (loc.length > 0) {
    rec.locality = loc[0]!;
    rec.localities = loc;
  }
  return rec;
}
