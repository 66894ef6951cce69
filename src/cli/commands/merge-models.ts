/**
 * `wise merge-models RECIPE --out DIR [--force]`: merges Hugging Face checkpoints as a mergekit YAML recipe asks
 * (`mergekit-yaml RECIPE OUT`; src/merge/recipe.ts, src/export/merge-models.ts, docs/merge.md), with this project's
 * merge methods: linear, task_arithmetic, ties, dare_ties, dare_linear, breadcrumbs(_ties), della(_linear), slerp, model_stock.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { WiseError } from '../../util/errors.js';
import { mergeModels } from '../../export/merge-models.js';
import { makeContext } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { nonEmptyArg } from './common.js';

/** The recipe file's YAML; WISE_FILE_NOT_FOUND / WISE_BAD_CONFIG naming the file. */
function readRecipe(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new WiseError('WISE_FILE_NOT_FOUND', `merge recipe ${file} not found`, { file });
  }
  try {
    return parse(text) as unknown;
  } catch (e) {
    throw new WiseError('WISE_BAD_CONFIG', `merge recipe ${file}: not YAML (${(e as Error).message.split('\n')[0]})`, { file });
  }
}

export function registerMergeModels(program: Command): void {
  program
    .command('merge-models')
    .description('merge checkpoints as a mergekit YAML recipe asks (linear, task_arithmetic, ties, dare_ties, dare_linear, breadcrumbs, della, slerp, model_stock)')
    .argument('<recipe>', "mergekit's YAML: merge_method, base_model, models [{model, parameters}], parameters, dtype")
    .requiredOption('--out <dir>', 'output folder (new or empty)', nonEmptyArg('--out'))
    .option('--force', 'write into a non-empty output folder')
    .action(async function (this: Command, recipeFile: string) {
      const ctx = makeContext(this.optsWithGlobals() as GlobalOptions);
      const o = this.opts() as { out: string; force?: boolean };
      const recipe = readRecipe(recipeFile);
      const r = await mergeModels(recipe, path.resolve(o.out), { overwrite: o.force === true });
      const what = `${r.plan.method} of ${r.plan.models.length} model(s)${r.plan.base ? ` onto ${r.plan.base}` : ''}`;
      ctx.out({ dir: r.dir, method: r.plan.method, registry: r.plan.registry, models: r.plan.models, base: r.plan.base, dtype: r.plan.dtype, tensors: r.tensors, files: r.files }, `merged ${r.tensors} tensors (${what}) into ${r.dir}`);
    });
}
