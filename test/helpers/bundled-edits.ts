/**
 * The bundled benchmark for the baselines' tests on the bundled model: its first records as edit
 * requests, the train split's texts (the second moments' corpus), and teacher-forced reliability
 * of a method's current state.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Scorer } from '../../src/eval/scorer.js';
import { promptTargetRow } from '../../src/eval/scorer.js';

const DATASETS = path.join(import.meta.dirname, '..', '..', 'datasets');

export interface BundledEdit {
  id: string;
  prompt: string;
  target: string;
  subject: string;
}

/** The first `n` records of datasets/bundled-zsre.json. */
export function bundledEdits(n: number): BundledEdit[] {
  return (JSON.parse(readFileSync(path.join(DATASETS, 'bundled-zsre.json'), 'utf8')) as { src: string; alt: string; subject: string }[])
    .slice(0, n)
    .map((r, i) => ({ id: `zsre:${i}`, prompt: r.src, target: r.alt, subject: r.subject }));
}

/** `loc + " " + loc_ans` of the first `n` train records. */
export function bundledTrainTexts(n: number): string[] {
  return (JSON.parse(readFileSync(path.join(DATASETS, 'bundled-train.json'), 'utf8')) as { loc: string; loc_ans: string }[]).slice(0, n).map((r) => `${r.loc} ${r.loc_ans}`);
}

/** Mean teacher-forced token accuracy of each target after its prompt. */
export async function reliability(scorer: () => Scorer, rs: readonly BundledEdit[]): Promise<number> {
  let acc = 0;
  for (const r of rs) {
    const row = promptTargetRow(scorer(), r.prompt, r.target);
    const [res] = await scorer().argmaxAndLogprobs([row]);
    acc += res!.argmax.filter((x, i) => x === row.targetIds[i]).length / row.targetIds.length;
  }
  return acc / rs.length;
}
