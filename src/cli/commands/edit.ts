/**
 * `wise edit --prompt P --target T [...]` or `wise edit --file edits.jsonl`: applies edits with
 * WISE to the store (created when absent). `--file` also takes a JSON array in the formats
 * `wise eval` reads (EasyEdit's ZsRE, CounterFact (ROME's or EasyEdit's flat one), WISE's
 * hallucination and temporal sets; src/eval/datasets.ts): each record becomes the edit of its
 * prompt and new target, with its rephrase, locality pair and subject. `--limit N` takes the first N. Each edit is committed on its own, so when one
 * fails the ones before it stay applied (the error says how many). A malformed JSONL file is
 * rejected before anything is applied: WISE_BAD_REQUEST naming the line, exit 1.
 * Edit requests given by flags that fail validation are usage errors (exit 2). Ctrl-C stops a
 * file after the edit in training and reports what was applied (exit 130).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { WiseError } from '../../util/errors.js';
import { parseEditsJsonl, validateEditRequest, type EditRequest } from '../../edits/request.js';
import { openEditor, openModel } from '../open.js';
import { familyContext, intArg } from './common.js';
import { loadDataset, type EvalRecord } from '../../eval/datasets.js';

interface EditOpts {
  prompt?: string;
  target?: string;
  rephrase?: string;
  localityPrompt?: string;
  localityAnswer?: string;
  subject?: string;
  file?: string;
  limit?: number;
}

/** A dataset record as the edit it asks for (validated like a JSONL line, the record named). */
function recordEdit(r: EvalRecord, file: string): EditRequest {
  const raw: Record<string, string> = { prompt: r.prompt, target: r.target };
  if (r.rephrase !== undefined) raw.rephrase = r.rephrase;
  if (r.locality) [raw.locality_prompt, raw.locality_answer] = [r.locality.prompt, r.locality.answer];
  if (r.subject !== undefined) raw.subject = r.subject;
  return validateEditRequest(raw, `${file} record ${r.id}`);
}

async function requestsOf(o: EditOpts): Promise<EditRequest[]> {
  const flagged = [o.prompt, o.target, o.rephrase, o.localityPrompt, o.localityAnswer, o.subject].some((x) => x !== undefined);
  if (o.limit !== undefined && o.file === undefined) throw new WiseError('WISE_USAGE', '--limit needs --file');
  if (o.file !== undefined) {
    if (flagged) throw new WiseError('WISE_USAGE', 'give either --file or --prompt/--target (and their companions), not both');
    let text: string;
    try {
      text = await readFile(o.file, 'utf8');
    } catch (e) {
      throw new WiseError('WISE_FILE_NOT_FOUND', `cannot read ${o.file}: ${(e as Error).message}`, { file: o.file }, { cause: e });
    }
    // a JSON array is a dataset file (ZsRE, CounterFact, …); anything else is JSONL, one edit per line
    const all = text.trimStart().startsWith('[') ? loadDataset(o.file, o.limit !== undefined ? { limit: o.limit } : {}).records.map((r) => recordEdit(r, o.file!)) : parseEditsJsonl(text, o.file);
    const reqs = all.slice(0, o.limit ?? all.length);
    if (reqs.length === 0) throw new WiseError('WISE_BAD_REQUEST', `${o.file} holds no edits`, { file: o.file });
    return reqs;
  }
  if (o.prompt === undefined || o.target === undefined) throw new WiseError('WISE_USAGE', 'wise edit needs --prompt and --target, or --file edits.jsonl');
  const raw: Record<string, string> = { prompt: o.prompt, target: o.target };
  if (o.rephrase !== undefined) raw.rephrase = o.rephrase;
  if (o.localityPrompt !== undefined) raw.locality_prompt = o.localityPrompt;
  if (o.localityAnswer !== undefined) raw.locality_answer = o.localityAnswer;
  if (o.subject !== undefined) raw.subject = o.subject;
  try {
    return [validateEditRequest(raw, 'options')];
  } catch (e) {
    if (e instanceof WiseError && e.code === 'WISE_BAD_REQUEST') {
      const field = typeof e.details.field === 'string' ? `--${e.details.field.replace(/_/g, '-')}` : 'options';
      throw new WiseError('WISE_USAGE', e.message.replace(/field "([a-z_]+)"/g, (_m, f: string) => `--${f.replace(/_/g, '-')}`), { ...e.details, option: field }, { cause: e });
    }
    throw e;
  }
}

export function registerEdit(program: Command): void {
  program
    .command('edit')
    .description('apply one edit (--prompt/--target) or a JSONL file of edits (--file) to the store')
    .option('-p, --prompt <text>', 'the prompt to edit')
    .option('-t, --target <text>', 'the new completion')
    .option('--rephrase <text>', 'a paraphrase of the prompt (kept with the edit, for evaluation)')
    .option('--locality-prompt <text>', 'an unrelated prompt whose answer must not change')
    .option('--locality-answer <text>', 'its answer')
    .option('--subject <text>', 'the subject inside the prompt')
    .option('-f, --file <edits.jsonl>', 'one edit request per line: {"prompt", "target", ...}; or a JSON array in a format wise eval reads (ZsRE, CounterFact, ...)')
    .option('--limit <n>', 'apply only the first n edits of --file', intArg('--limit', 1))
    .action(async function (this: Command) {
      const o = this.opts() as EditOpts;
      const reqs = await requestsOf(o);
      const { ctx } = familyContext(this);
      const lm = await openModel(ctx);
      const ed = await openEditor(ctx, lm, 'wise edit');
      const t0 = Date.now();
      const done: { id: number; prompt: string; target: string; steps: number; score: number; loss: number; seconds: number }[] = [];
      // Ctrl-C (or SIGTERM) during a file of edits: finish the edit in training, stop, and report
      // what was applied (exit 130). A second signal ends the process at once: each edit is its
      // own atomic commit, so the store stays consistent either way.
      let interrupted: NodeJS.Signals | null = null;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (interrupted) process.exit(130);
        interrupted = sig;
        ctx.log.warn(`${sig}: stopping after the edit in training (again to stop at once)`);
      };
      process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
      try {
        for (const [i, req] of reqs.entries()) {
          if (interrupted) break;
          const ts = Date.now();
          let r;
          try {
            r = await ed.applyEdit(req);
          } catch (e) {
            if (done.length > 0) ctx.log.error(`edit ${i + 1}/${reqs.length} failed; the ${done.length} before it are applied (ids ${done.map((d) => d.id).join(', ')})`);
            throw e;
          }
          const seconds = (Date.now() - ts) / 1000;
          done.push({ id: r.record.id, prompt: req.prompt, target: req.target, steps: r.steps, score: r.score, loss: r.loss, seconds });
          ctx.log.progress(`[${i + 1}/${reqs.length}] edit ${r.record.id}: ${req.prompt} → ${req.target}  (${r.steps} steps, score ${r.score.toFixed(3)}, loss ${r.loss.toFixed(4)}, ${seconds.toFixed(1)} s)`);
        }
        if (ctx.log.enabled && process.stderr.isTTY) process.stderr.write('\n');
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        await ed.close();
      }
      const result = { edits: done, applied: ed.state.applied, seconds: (Date.now() - t0) / 1000, ...(interrupted ? { interrupted, requested: reqs.length } : {}) };
      const text = done.map((d) => `edit ${d.id}: ${d.prompt} → ${d.target}  (${d.steps} steps, score ${d.score.toFixed(3)}, loss ${d.loss.toFixed(4)})`).join('\n');
      const stopped = interrupted ? `interrupted (${interrupted}) after ${done.length} of ${reqs.length} edits; the others were not applied.\n` : '';
      ctx.out(result, `${text}\n${stopped}${done.length} edit${done.length === 1 ? '' : 's'} applied; the store holds ${result.applied} active edit${result.applied === 1 ? '' : 's'}.`);
      if (interrupted) process.exitCode = 130;
    });
}
