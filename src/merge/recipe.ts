/**
 * mergekit's YAML recipe (`mergekit-yaml config.yml OUT`) → a merge plan over the registry's methods, for merging
 * whole checkpoints (src/export/merge-models.ts; `wise merge-models`). Pure: no I/O.
 *
 *   merge_method: linear | task_arithmetic | ties | dare_ties | dare_linear | breadcrumbs | breadcrumbs_ties | della | della_linear
 *   base_model: DIR                      (required but for linear; listed in `models` too, it is skipped there, as mergekit does)
 *   models: [{model: DIR, parameters: {weight, density, gamma, epsilon, lambda}}]
 *   parameters: {normalize, rescale, lambda, seed, int8_mask, and any per-model parameter as the default for all}
 *   dtype: float32 | float16 | bfloat16  (the output's; default float32)
 *   tokenizer_source: base | DIR         (whose tokenizer files the output gets; default the base's, or the first model's)
 *
 * Each method and its mergekit defaults (merge_methods/registry.py), on this registry (docs/merge.md):
 *
 *   linear            Σ w_i W_i / Σ w_i (normalize true)             task_arithmetic over a zero base
 *   task_arithmetic   W0 + λ Σ w_i Δ_i (normalize false)              task_arithmetic
 *   ties              density trim, sign election, disjoint mean      ties ('wise' variant = mergekit's ties; normalize must stay true)
 *   dare_ties         random drop, rescale, election, sum             dare_ties (p = 1 − density; rescale l1 as mergekit's, or none)
 *   dare_linear       random drop, rescale, Σ w Δ                     dare
 *   breadcrumbs(_ties) outliers and small entries dropped             breadcrumbs (consensus none / sum)
 *   della(_linear)    MagPrune (epsilon 0.15), rescale l1, …          della / della_linear
 *   slerp             spherical interpolation at t, base and one model slerp (t one number; mergekit's gradients refused)
 *   model_stock       t·mean(W_i) + (1 − t) W0, t from the deltas' angle model_stock (filter_wise)
 *
 * One value per parameter for all models where the registry takes one per call (density, gamma, epsilon, lambda):
 * models that differ are refused, naming the field. The random methods draw from `parameters.seed` (default 0; an
 * extension: mergekit draws from torch's unseeded generator). Gradients (lists of values over layers) and per-tensor
 * filters are refused. Other methods (nuslerp, karcher, passthrough, sce, multislerp, …) are refused naming merge_method.
 */
import { z } from 'zod';
import { WiseError } from '../util/errors.js';

export const RECIPE_METHODS = ['linear', 'task_arithmetic', 'ties', 'dare_ties', 'dare_linear', 'breadcrumbs', 'breadcrumbs_ties', 'della', 'della_linear', 'slerp', 'model_stock'] as const;
export type RecipeMethod = (typeof RECIPE_METHODS)[number];

const scalar = z.union([z.number(), z.boolean(), z.string()]);
const params = z.record(z.string(), z.unknown()).default({});
const recipeSchema = z.strictObject({
  merge_method: z.string(),
  base_model: z.string().optional(),
  models: z.array(z.strictObject({ model: z.string().min(1), parameters: params })).min(1),
  parameters: params,
  dtype: z.enum(['float32', 'float16', 'bfloat16']).default('float32'),
  tokenizer_source: z.string().optional(),
  // mergekit fields that change nothing here
  out_dtype: z.enum(['float32', 'float16', 'bfloat16']).optional(),
  chat_template: z.string().optional(),
  name: z.string().optional(),
});

export interface MergePlan {
  method: RecipeMethod;
  /** the registry method and its params (validated by the registry when it runs) */
  registry: string;
  params: Record<string, unknown>;
  /** the base checkpoint (null: linear, merged over a zero base) */
  base: string | null;
  /** the checkpoints merged in, with their weights (already divided by Σ w where the method normalizes that way) */
  models: { dir: string; weight: number }[];
  dtype: 'F32' | 'F16' | 'BF16';
  /** where config.json and the tokenizer files come from */
  configFrom: string;
  tokenizerFrom: string;
}

function bad(field: string, message: string): WiseError {
  return new WiseError('WISE_BAD_CONFIG', `merge recipe: ${field}: ${message}`, { field });
}

/** One per-model parameter for every model (its default from the recipe's `parameters`), or the fallback. */
function shared(models: { parameters: Record<string, unknown> }[], global: Record<string, unknown>, key: string, fallback: number): number {
  const values = models.map((m, i) => {
    const v = m.parameters[key] ?? global[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`models[${i}].parameters.${key}`, `expected a number (gradients and per-tensor filters are not supported), got ${JSON.stringify(v)}`);
    return v;
  });
  const first = values[0]!;
  const other = values.findIndex((v) => v !== first);
  if (other >= 0) throw bad(`models[${other}].parameters.${key}`, `${values[other]} differs from models[0]'s ${first}: this merge takes one ${key} for all models`);
  return first;
}

const flag = (global: Record<string, unknown>, key: string, fallback: boolean): boolean => {
  const v = global[key] ?? fallback;
  if (typeof v !== 'boolean') throw bad(`parameters.${key}`, 'expected true or false');
  return v;
};

const KNOWN_PARAMS = new Set(['weight', 'density', 'gamma', 'epsilon', 'lambda', 'normalize', 'rescale', 'seed', 'int8_mask', 't', 'filter_wise']);

/** The plan of a parsed YAML recipe; WISE_BAD_CONFIG naming the field for what it cannot do. */
export function mergePlan(raw: unknown): MergePlan {
  const r = recipeSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.map(String).join('.') || 'recipe';
    throw bad(field, issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message);
  }
  const rec = r.data;
  if (!(RECIPE_METHODS as readonly string[]).includes(rec.merge_method)) {
    throw bad('merge_method', `"${rec.merge_method}" is not supported (supported: ${RECIPE_METHODS.join(', ')})`);
  }
  const method = rec.merge_method as RecipeMethod;
  const global = rec.parameters;
  for (const [k, v] of Object.entries(global)) {
    if (!KNOWN_PARAMS.has(k)) throw bad(`parameters.${k}`, 'unknown parameter');
    if (!scalar.safeParse(v).success) throw bad(`parameters.${k}`, 'expected one value (gradients are not supported)');
  }
  rec.models.forEach((m, i) => {
    for (const k of Object.keys(m.parameters)) if (!KNOWN_PARAMS.has(k)) throw bad(`models[${i}].parameters.${k}`, 'unknown parameter');
  });
  const base = rec.base_model ?? null;
  if (base === null && method !== 'linear') throw bad('base_model', `required by ${method} (the deltas are taken from it)`);
  // the base listed among the models is the base, not a delta
  const merged = rec.models.filter((m) => m.model !== base);
  if (merged.length === 0) throw bad('models', 'no model to merge besides the base');
  const weights = merged.map((m, i) => {
    const w = m.parameters.weight ?? global.weight ?? 1;
    if (typeof w !== 'number' || !Number.isFinite(w)) throw bad(`models[${i}].parameters.weight`, 'expected a number');
    return w;
  });
  const seedRaw = global.seed ?? 0;
  if (typeof seedRaw !== 'number' || !Number.isInteger(seedRaw) || seedRaw < 0 || seedRaw > 0xffffffff) throw bad('parameters.seed', 'expected an integer 0..2^32-1');
  const rescale = flag(global, 'rescale', true) ? 'l1' : 'none';
  const density = (): number => shared(merged, global, 'density', 1);
  const lambda = (): number => shared(merged, global, 'lambda', 1);
  const divide = (normalize: boolean): number[] => {
    const s = weights.reduce((a, b) => a + b, 0);
    return normalize && Math.abs(s) > 1e-8 ? weights.map((w) => w / s) : weights;
  };
  let registry: string;
  let p: Record<string, unknown>;
  let w = weights;
  switch (method) {
    case 'linear':
    case 'task_arithmetic':
      [registry, p, w] = ['task_arithmetic', { lambda: method === 'linear' ? 1 : lambda() }, divide(flag(global, 'normalize', method === 'linear'))];
      break;
    case 'ties':
      if (!flag(global, 'normalize', true)) throw bad('parameters.normalize', 'false is not available for ties here (its election keeps the disjoint mean); use breadcrumbs_ties with gamma 0 for the sum');
      [registry, p] = ['ties', { density: density(), lambda: lambda() }];
      break;
    case 'dare_ties':
    case 'dare_linear': {
      const d = density();
      if (!(d > 0 && d <= 1)) throw bad('models[0].parameters.density', 'expected a number in (0, 1]');
      const normalize = flag(global, 'normalize', false);
      registry = method === 'dare_ties' ? 'dare_ties' : 'dare';
      p = { p: 1 - d, seed: seedRaw, rescale, lambda: lambda(), ...(method === 'dare_ties' ? { normalize } : {}) };
      if (method === 'dare_linear') w = divide(normalize);
      break;
    }
    case 'breadcrumbs':
    case 'breadcrumbs_ties':
      [registry, p] = ['breadcrumbs', { density: density(), gamma: shared(merged, global, 'gamma', 0.01), lambda: lambda(), consensus: method === 'breadcrumbs' ? 'none' : 'sum', normalize: flag(global, 'normalize', false) }];
      break;
    case 'della':
    case 'della_linear':
      [registry, p] = [method, { density: density(), epsilon: shared(merged, global, 'epsilon', 0.15), lambda: lambda(), seed: seedRaw, rescale, normalize: flag(global, 'normalize', method === 'della') }];
      break;
    case 'slerp': {
      if (merged.length !== 1) throw bad('models', `slerp interpolates the base and one other model; ${merged.length} given besides the base`);
      const t = global.t;
      if (typeof t !== 'number') throw bad('parameters.t', `required: one number in [0, 1] (${Array.isArray(t) ? 'gradients and filters are not supported' : 'missing'})`);
      [registry, p] = ['slerp', { t }];
      break;
    }
    case 'model_stock':
      if (merged.length < 2) throw bad('models', `model_stock needs at least two models besides the base; ${merged.length} given`);
      [registry, p] = ['model_stock', { filter_wise: flag(global, 'filter_wise', false) }];
      break;
  }
  const dtypeName = rec.out_dtype ?? rec.dtype;
  const dtype = dtypeName === 'float16' ? 'F16' : dtypeName === 'bfloat16' ? 'BF16' : 'F32';
  const first = base ?? merged[0]!.model;
  const tok = rec.tokenizer_source === undefined || rec.tokenizer_source === 'base' ? first : rec.tokenizer_source;
  if (tok === 'union') throw bad('tokenizer_source', '"union" is not supported (the models must share one vocabulary)');
  return { method, registry, params: p, base, models: merged.map((m, i) => ({ dir: m.model, weight: w[i]! })), dtype, configFrom: first, tokenizerFrom: tok };
}
