/**
 * `wise demo`: the main job on the bundled model, end to end and offline. It shows a few
 * facts, applies counterfactual edits with WISE in a fresh store under the per-user data
 * directory (reset on each run, never the user's store), shows the edited prompts, their
 * paraphrases and unrelated facts afterwards with the memory that answered, and prints
 * reliability, generalization and locality on that sample.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot, dataDir } from '../config/paths.js';
import type { CounterfactRecord } from '../data/split.js';
import type { CausalLM, Variant } from '../model/causal-lm.js';
import { routeNames, type RoutedMemory } from '../router/router.js';
import { agreement, probe } from '../edits/probe.js';
import type { WiseEditor } from '../edits/editor.js';
import type { CommandContext } from './context.js';
import { openEditor } from './open.js';

/** The bundled CounterFact file's records (both ROME's and EasyEdit's flat fields), as the generator writes them. */
type CfRecord = CounterfactRecord;

export interface DemoEdit {
  prompt: string;
  target: string;
  truth: string;
  rephrase: string;
}

/** `count` edits from the bundled CounterFact-style benchmark, one per relation, deterministic. */
export function demoEdits(count: number): { edits: DemoEdit[]; unrelated: { prompt: string; answer: string }[] } {
  const recs = JSON.parse(readFileSync(path.join(packageRoot(), 'datasets', 'bundled-counterfact.json'), 'utf8')) as CfRecord[];
  const seen = new Set<string>();
  const edits: DemoEdit[] = [];
  const unrelated: { prompt: string; answer: string }[] = [];
  for (const r of recs) {
    const rel = r.requested_rewrite.relation_id;
    if (edits.length < count && !seen.has(rel)) {
      seen.add(rel);
      edits.push({ prompt: r.prompt, target: r.target_new, truth: r.ground_truth, rephrase: r.rephrase_prompt });
    } else if (unrelated.length < 10 && edits.length >= count) {
      unrelated.push({ prompt: r.locality_prompt, answer: r.locality_ground_truth });
    }
    if (edits.length >= count && unrelated.length >= 10) break;
  }
  return { edits, unrelated };
}

async function complete(lm: CausalLM, prompt: string, routing?: { variant: Variant; memories: RoutedMemory[] }): Promise<{ text: string; memory: string }> {
  const ids: number[] = [];
  const r = await lm.generate(lm.tokenizer.encodePrompt(prompt), {
    maxTokens: 8,
    ...(routing ? { variant: routing.variant } : {}),
    onToken: (id) => {
      ids.push(id);
      return /\S[.?!](\s|$)|\n/.test(lm.tokenizer.decode(ids)); // a sentence end, not the dot of ".ug"
    },
  });
  const text = lm.tokenizer.decode(r.ids, { skipSpecialTokens: true }).split('\n')[0]!.trim();
  return { text, memory: routing ? (routeNames(r.prefill.route, routing.memories)[0] ?? 'main') : 'main' };
}

export interface DemoResult {
  edits: { prompt: string; target: string; before: string; after: string; memory: string; rephrase: string; rephraseBefore: string; rephraseAfter: string; rephraseMemory: string; steps: number; seconds: number }[];
  unrelated: { prompt: string; before: string; after: string; memory: string }[];
  metrics: { reliability: number; generalization: number; locality: number; n_edits: number; n_unrelated: number };
  seconds: number;
}

export async function runDemo(ctx: CommandContext, lm: CausalLM, count: number): Promise<DemoResult> {
  const t0 = Date.now();
  const { edits, unrelated } = demoEdits(count);
  const say = (s: string): void => ctx.log.info(s);
  say(`\nBefore editing (the bundled model's own answers):`);
  const before = [];
  for (const e of edits) {
    const a = await complete(lm, e.prompt);
    const b = await complete(lm, e.rephrase);
    before.push({ a, b });
    say(`  ${e.prompt} → ${a.text}`);
  }
  const unrelatedBefore = [];
  for (const u of unrelated) unrelatedBefore.push(await complete(lm, u.prompt));
  const pairs = [...edits.map((e) => ({ prompt: e.prompt, target: e.target })), ...edits.map((e) => ({ prompt: e.rephrase, target: e.target }))];
  const locPairs = unrelated.map((u) => ({ prompt: u.prompt, target: u.answer }));
  const preLoc = await probe(lm, locPairs);

  const dir = path.join(dataDir(), 'demo', 'store');
  rmSync(dir, { recursive: true, force: true });
  const ed: WiseEditor = await openEditor(ctx, lm, 'wise demo', dir);
  const applied = [];
  try {
    say(`\nApplying ${edits.length} counterfactual edits with WISE (layer ${ed.layer}, n_iter ${ctx.config.wise.n_iter}):`);
    for (const [i, e] of edits.entries()) {
      const ts = Date.now();
      const r = await ed.applyEdit({ prompt: e.prompt, target: e.target });
      applied.push({ steps: r.steps, seconds: (Date.now() - ts) / 1000 });
      say(`  [${i + 1}/${edits.length}] ${e.prompt} ${e.truth} → ${e.target}   (${r.steps} steps, ${((Date.now() - ts) / 1000).toFixed(1)} s)`);
    }
    const routing = ed.variant();
    const post = await probe(lm, pairs, routing);
    const postLoc = await probe(lm, locPairs, routing);
    say(`\nAfter editing:`);
    const rows: DemoResult['edits'] = [];
    for (const [i, e] of edits.entries()) {
      const a = await complete(lm, e.prompt, routing);
      const b = await complete(lm, e.rephrase, routing);
      rows.push({
        prompt: e.prompt, target: e.target, before: before[i]!.a.text, after: a.text, memory: a.memory, rephrase: e.rephrase,
        rephraseBefore: before[i]!.b.text, rephraseAfter: b.text, rephraseMemory: b.memory, steps: applied[i]!.steps, seconds: applied[i]!.seconds,
      });
      say(`  edited      ${e.prompt} → ${a.text}   [${a.memory}]`);
      say(`  paraphrase  ${e.rephrase} → ${b.text}   [${b.memory}]`);
    }
    const unrel: DemoResult['unrelated'] = [];
    for (const [i, u] of unrelated.entries()) {
      const a = await complete(lm, u.prompt, routing);
      unrel.push({ prompt: u.prompt, before: unrelatedBefore[i]!.text, after: a.text, memory: a.memory });
      if (i < 4) say(`  unrelated   ${u.prompt} → ${a.text}   [${a.memory}]${a.text === unrelatedBefore[i]!.text ? '  (unchanged)' : '  (CHANGED)'}`);
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const metrics = {
      reliability: mean(post.slice(0, edits.length).map((p) => p.accuracy)),
      generalization: mean(post.slice(edits.length).map((p) => p.accuracy)),
      locality: mean(agreement(preLoc, postLoc)),
      n_edits: edits.length,
      n_unrelated: unrelated.length,
    };
    return { edits: rows, unrelated: unrel, metrics, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await ed.close();
  }
}

export function demoText(r: DemoResult): string {
  const lines = ['wise demo: WISE edits on the bundled model', ''];
  for (const e of r.edits) {
    lines.push(`${e.prompt}`);
    lines.push(`  before: ${e.before}`);
    lines.push(`  after:  ${e.after}   [answered by ${e.memory}]`);
    lines.push(`  paraphrase "${e.rephrase}": ${e.rephraseBefore} → ${e.rephraseAfter}   [${e.rephraseMemory}]`);
  }
  lines.push('', 'Unrelated facts:');
  for (const u of r.unrelated) lines.push(`  ${u.prompt} ${u.after}   [${u.memory}]${u.after === u.before ? '' : `   (was: ${u.before})`}`);
  const m = r.metrics;
  lines.push('', `Reliability ${m.reliability.toFixed(2)}   Generalization ${m.generalization.toFixed(2)}   Locality ${m.locality.toFixed(2)}   (${m.n_edits} edits, ${m.n_unrelated} unrelated facts; teacher-forced token accuracy as in EasyEdit)`);
  lines.push(`Done in ${r.seconds.toFixed(0)} s.`);
  return lines.join('\n');
}
